"""The Sanic application factory."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from ..auth import Authenticator
from ..errors import InvalidRequest, PayloadTooLarge
from ..loopback import LocalOnly
from ..platform import Platform
from .authn import authenticate, install_authenticator, request_headers
from .authz import authorize
from .errors import handle_exception
from .nonce_auth import redeem_nonce
from .routes import ROUTES, not_allowed
from .views import Views

__all__ = ["PREFIXES", "create_app"]

#: the API answers under both forms, so Abaco's documented curl calls work unchanged (§2.8)
PREFIXES = ("/actors", "/actors/v2")
_ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
_app_numbers = itertools.count()
#: threads that run the handlers' blocking calls; the store pools fewer connections than that
#: only when configured so (SQLite pools 32, PostgreSQL 20)
API_THREADS = 8


def create_app(platform: Platform, *, name: str | None = None, touchup: bool = False) -> Sanic:
    """Build the API on a started or not-yet-started platform (nothing happens at import).
    ``touchup``: let Sanic compile out unused request lifecycle steps (once per process)."""
    settings = platform.settings
    app = Sanic(name or f"abaco{next(_app_numbers)}", configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = max(settings.max_content_length, 1 << 20) + (1 << 20)
    app.config.MOTD = False
    app.config.ACCESS_LOG = False
    # the handlers of the lifecycle signals nobody listens to are compiled out (~15 awaits a
    # request; abaco registers no signal handlers). Sanic does it by rewriting methods of its
    # classes, which works once per process: only the served app (``abaco up``/``abaco api``)
    # asks for it, tests that start several apps in one process do not
    app.config.TOUCHUP = touchup
    app.config.AUTO_EXTEND = False
    app.config.RESPONSE_TIMEOUT = settings.sync_timeout + 30
    app.ctx.platform = platform
    app.ctx.views = Views(settings.resolved_api_server, settings.case)
    install_authenticator(app, platform)
    #: where handlers run their blocking store and queue calls (``requests.blocking``)
    app.ctx.blocking = ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="api")

    for prefix, (suffix, handlers) in itertools.product(PREFIXES, ROUTES):
        path = prefix + suffix
        route_name = "r" + path.replace("/", "_").replace("<", "").replace(">", "").replace(":", "_")
        for method in _ALL_METHODS:
            handler = handlers.get(method, not_allowed)
            app.add_route(
                handler,
                path,
                methods=[method],
                name=f"{route_name}_{method.lower()}",
                strict_slashes=False,
                # path values are percent-decoded (aliases and config names like ``café``, ``a%b``)
                unquote=True,
            )
        app.add_route(
            _options,
            path,
            methods=["OPTIONS"],
            name=f"{route_name}_options",
            strict_slashes=False,
            unquote=True,
        )

    app.error_handler.add(Exception, handle_exception)
    app.on_request(_local_only)
    app.on_request(_limit_body)
    app.on_request(_access)
    app.on_response(_cors)
    return app


#: bodies of requests other than messages are small JSON or forms
_MAX_FIELDS_BODY = 1 << 20


async def _local_only(request: Request) -> None:
    """With a method that lets every caller in (``none``), refuse what comes from a web page or
    a host other than this machine, preflights included (:mod:`abaco_core.loopback`)."""
    guard = _guard(request)
    if guard is not None:
        guard.check(request_headers(request))


def _guard(request: Request) -> LocalOnly | None:
    authenticator: Authenticator = request.app.ctx.authenticator
    return authenticator.local_only


async def _limit_body(request: Request) -> None:
    if (
        request.body
        and len(request.body) > _MAX_FIELDS_BODY
        and not request.path.rstrip("/").endswith("/messages")
    ):
        raise PayloadTooLarge(f"The request body exceeds {_MAX_FIELDS_BODY} bytes.")


async def _access(request: Request) -> None:
    """Authenticate, then authorize, every request but preflights (spec §2.9, §3)."""
    if request.method == "OPTIONS":
        return
    who = await authenticate(request)
    if who is None:
        who = await redeem_nonce(request)
    if who is None:
        raise InvalidRequest("No JWT or nonce provided.")
    request.ctx.identity = who
    await authorize(request, who)


async def _options(request: Request, **_: str) -> HTTPResponse:
    """Preflight requests bypass authentication and succeed (spec §2.9), unless the
    single-user mode refused their source first (``_local_only``)."""
    return HTTPResponse(b"", status=200, content_type="text/plain; charset=utf-8")


async def _cors(request: Request, response: HTTPResponse) -> None:
    """The spec's permissive CORS (§2.9) where a caller needs a credential a page cannot borrow
    (token, jwt); with ``none`` only a local page's own origin, never ``*``."""
    origin = request.headers.get("origin")
    guard = _guard(request)
    if guard is not None:
        response.headers["Vary"] = "Origin"
        if origin and guard.allows_origin(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
    elif origin or request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ", ".join((*_ALL_METHODS, "OPTIONS"))
        requested = request.headers.get("access-control-request-headers")
        response.headers["Access-Control-Allow-Headers"] = requested or "*"
