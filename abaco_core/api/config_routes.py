"""The actor configs endpoints (spec §5.13). The route-level checks of §3.4 are the
authorization step's; the handlers check what needs the body: the listed actors and
aliases exist, the caller holds UPDATE on each (Q13), the name rules and uniqueness."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

from ..access import Level
from ..actor_fields import FieldSource
from ..aliases import DOT_NAMES
from ..configs import parse_config_fields
from ..errors import InvalidRequest
from ..platform import Platform
from .envelope import ok
from .requests import form_lists, identity, json_body, query_lists

__all__ = ["CONFIG_ROUTES"]


def _platform(request: Request) -> Platform:
    return request.app.ctx.platform


#: a config's value never travels in a URL: URLs end up in access logs, proxies and histories
VALUE_IN_QUERY = (
    "Invalid actor config description: send value in the request body, not in the query string "
    "(URLs end up in logs)."
)


def _source(request: Request) -> FieldSource:
    query = query_lists(request)
    if "value" in query:
        raise InvalidRequest(VALUE_IN_QUERY)
    body = json_body(request)
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest("Invalid actor config description: the JSON body must be an object.")
    return FieldSource(json=body, query=query, form=form_lists(request))


def _ok(request: Request, result: object, message: str) -> HTTPResponse:
    return ok(_platform(request).settings.version, result, message)


async def list_configs(request: Request) -> HTTPResponse:
    docs = _platform(request).configs.list(identity(request))
    views = request.app.ctx.views
    return _ok(request, [views.config(d) for d in docs], "Actor Configs retrieved successfully.")


async def create_config(request: Request) -> HTTPResponse:
    fields = parse_config_fields(_source(request))
    if fields.name in DOT_NAMES:
        # ours: a name is a path segment, and clients resolve these away
        raise InvalidRequest("Invalid actor config description: a config name cannot be '.' or '..'.")
    doc = _platform(request).configs.create(identity(request), fields)
    return _ok(request, request.app.ctx.views.config(doc), "Actor config created successfully.")


async def get_config(request: Request, name: str) -> HTTPResponse:
    doc = _platform(request).configs.get(identity(request), name)
    return _ok(request, request.app.ctx.views.config(doc), "Config retrieved successfully.")


async def update_config(request: Request, name: str) -> HTTPResponse:
    configs = _platform(request).configs
    who = identity(request)
    # an unknown config is a 404, and a caller without UPDATE is refused, before any body error
    configs.get(who, name, Level.UPDATE)
    fields = parse_config_fields(_source(request), name=name)
    doc = configs.update(who, name, fields)
    return _ok(request, request.app.ctx.views.config(doc), "Actor config updated successfully.")


async def delete_config(request: Request, name: str) -> HTTPResponse:
    _platform(request).configs.delete(identity(request), name)
    return _ok(request, None, f"Actor config {name} deleted successfully.")


#: appended to ``routes.ROUTES``; the static ``/configs`` segment wins over ``/<actor_id>``
CONFIG_ROUTES = [
    ("/configs", {"GET": list_configs, "POST": create_config}),
    ("/configs/<name:str>", {"GET": get_config, "PUT": update_config, "DELETE": delete_config}),
]
