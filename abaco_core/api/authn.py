"""Authentication: who sends a request (spec §3.1).

Runs before every handler (``create_app`` installs it): the methods ``ABACO_AUTH`` names
(:mod:`abaco_core.auth`, built once per app by :func:`install_authenticator`) are tried in
order; the caller they recognise must hold a known role (§3.2).
"""

from __future__ import annotations

from sanic import Request, Sanic

from ..access import Identity
from ..auth import Authenticator, build_authenticator
from ..platform import Platform
from ..records import AuthRequest

__all__ = ["auth_request", "authenticate", "install_authenticator", "request_headers"]


def install_authenticator(app: Sanic, platform: Platform) -> Authenticator:
    """Build the configured methods for ``app``; raises ``ConfigError`` for an unknown,
    misconfigured or unsafe setup, before the server serves anything."""
    authenticator = build_authenticator(platform.pm, platform.settings, platform.store)
    app.ctx.authenticator = authenticator
    return authenticator


def request_headers(request: Request) -> dict[str, str]:
    """Lower-case header names, first value of each."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), value)
    return headers


def auth_request(request: Request) -> AuthRequest:
    """The framework-free view of ``request`` the methods read."""
    query = {k: list(v) for k, v in request.get_args(keep_blank_values=True).items()}
    return AuthRequest(
        method=request.method, path=request.path, headers=request_headers(request), query=query
    )


async def authenticate(request: Request) -> Identity | None:
    """The caller recognised by a configured method, ``None`` when no method recognises the
    request (then a nonce may still authenticate it, :mod:`abaco_core.api.nonce_auth`)."""
    authenticator: Authenticator = request.app.ctx.authenticator
    return authenticator.authenticate(auth_request(request))
