"""Handlers of permissions (§5.9), nonces (§5.10) and aliases (§5.11). The route checks of
spec §3.4 ran before (:mod:`abaco_core.api.authz`); these handlers do the controller-level
checks and the work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from .. import aliases, nonces
from ..access import Level, effective_level
from ..actor_fields import FieldSource
from ..cascade import delete_alias as cascade_delete_alias
from ..casing import to_camel
from ..errors import InvalidRequest, NotFound, ObjectNotFound
from ..platform import Platform
from .access_views import alias_view, nonce_view
from .envelope import ok
from .nonce_auth import NONCE_LEVEL
from .requests import form_lists, identity, json_body, query_lists

__all__ = ["ACCESS_ROUTES"]

Handler = Callable[..., Awaitable[HTTPResponse]]


def _platform(request: Request) -> Platform:
    return request.app.ctx.platform


def _ok(request: Request, result: object, message: str) -> HTTPResponse:
    return ok(_platform(request).settings.version, result, message)


def _source(request: Request, what: str) -> FieldSource:
    body = json_body(request)
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest(f"Invalid {what} description: the JSON body must be an object.")
    return FieldSource(json=body, query=query_lists(request), form=form_lists(request))


def _field(source: FieldSource, name: str, case: str) -> Any:
    """A field by its instance spelling (camel or snake); a snake-case instance also reads the
    camelCase spelling, as for actor fields."""
    camel = to_camel(name)
    value = source.get(camel if case == "camel" else name, default=None)
    if value is None and case == "snake" and camel != name:
        value = source.get(camel, default=None)
    return value


# -- permissions (§5.9) -------------------------------------------------------------------------

_USER_HELP = "User owning the permission."
_LEVEL_HELP = "Level of the permission: NONE, READ, EXECUTE or UPDATE."


def _permission_target(request: Request, kind: str, key: str) -> tuple[str, str, dict[str, str]]:
    """``(store key, tenant, current map)`` of a permissions route (an actor identifier may be
    an alias: its actor's permissions are meant); 404 when there is no permission document."""
    p = _platform(request)
    tenant = identity(request).tenant
    if kind == "actor":
        key = p.resolve_id(tenant, key)
    permissions = p.store.get_permissions(tenant, kind, key)
    if not permissions:
        noun = "Config" if kind == "config" else "Actor"
        raise NotFound(f"{noun} {tenant}_{key} does not exist")
    return key, tenant, permissions


def _permissions_handlers(kind: str, param: str) -> dict[str, Handler]:
    async def get_permissions(request: Request, **path: str) -> HTTPResponse:
        _key, _tenant, permissions = _permission_target(request, kind, path[param])
        return _ok(request, permissions, "Permissions retrieved successfully.")

    async def add_permission(request: Request, **path: str) -> HTTPResponse:
        key, tenant, _current = _permission_target(request, kind, path[param])
        source = _source(request, "permissions")
        user, raw_level = source.get("user", default=None), source.get("level", default=None)
        missing = {
            name: text
            for name, value, text in (("user", user, _USER_HELP), ("level", raw_level, _LEVEL_HELP))
            if value in (None, "")
        }
        if missing:
            raise InvalidRequest(f"Invalid permissions description: {missing}")
        if not isinstance(user, str) or not user.strip():
            raise InvalidRequest(f"Invalid permissions description: {{'user': {_USER_HELP!r}}}")
        level = Level.parse(raw_level)
        store = _platform(request).store
        store.set_permission(tenant, kind, key, user.strip(), level.name)
        return _ok(request, store.get_permissions(tenant, kind, key), "Permission added successfully.")

    return {"GET": get_permissions, "POST": add_permission}


# -- nonces (§5.10) ---------------------------------------------------------------------------


def _nonce_owner(request: Request, path: dict[str, str]) -> tuple[str | None, str | None, str]:
    """``(actor_id, alias, "Actor"|"Alias")`` of a nonce route; 404 for an unknown actor or alias."""
    p = _platform(request)
    tenant = identity(request).tenant
    if "alias" in path:
        aliases.get_alias(p.store, tenant, path["alias"])
        return None, path["alias"], "Alias"
    return p.resolve(tenant, path["actor_id"]).id, None, "Actor"


def _nonce_ceiling(request: Request, actor_id: str | None, alias: str | None) -> Level:
    """The highest nonce level the caller may see (ours): their own level on the nonces'
    object (for an alias, the lower of their levels on the alias and on its actor), every
    level for an admin; and no more than the nonce that authenticated the request. So a READ
    holder never learns the id of an UPDATE nonce and cannot redeem it to gain UPDATE."""
    who = identity(request)
    store = _platform(request).store
    if who.is_admin:
        level = Level.UPDATE
    elif alias is None:
        assert actor_id is not None
        level = effective_level(store.get_permissions(who.tenant, "actor", actor_id), who.username)
    else:
        target = aliases.get_alias(store, who.tenant, alias)["actor_id"]
        level = min(
            effective_level(store.get_permissions(who.tenant, aliases.KIND, alias), who.username),
            effective_level(store.get_permissions(who.tenant, "actor", target), who.username),
        )
    if who.nonce is not None:
        level = min(level, Level[who.extra.get(NONCE_LEVEL, Level.NONE.name)])
    return level


def _visible(doc: dict[str, Any], ceiling: Level) -> bool:
    return Level[doc["level"]] <= ceiling


def _visible_nonce(request: Request, nonce_id: str, path: dict[str, str]) -> tuple[dict[str, Any], str]:
    """``(nonce, "Actor"|"Alias")``; 404 ``Nonce not found.`` for a nonce of another object or
    above the caller's ceiling."""
    actor_id, alias, noun = _nonce_owner(request, path)
    p = _platform(request)
    doc = nonces.get_nonce(p.store, identity(request).tenant, nonce_id, actor_id=actor_id, alias=alias)
    if not _visible(doc, _nonce_ceiling(request, actor_id, alias)):
        raise ObjectNotFound("Nonce not found.")
    return doc, noun


async def list_nonces(request: Request, **path: str) -> HTTPResponse:
    actor_id, alias, noun = _nonce_owner(request, path)
    p = _platform(request)
    ceiling = _nonce_ceiling(request, actor_id, alias)
    docs = nonces.list_nonces(p.store, identity(request).tenant, actor_id=actor_id, alias=alias)
    views = request.app.ctx.views
    shown = [nonce_view(views, d) for d in docs if _visible(d, ceiling)]
    return _ok(request, shown, f"{noun} nonces retrieved successfully.")


async def create_nonce(request: Request, **path: str) -> HTTPResponse:
    actor_id, alias, noun = _nonce_owner(request, path)
    p = _platform(request)
    fields = nonces.parse_nonce_fields(
        _source(request, "nonce"), case=p.settings.case, alias=alias is not None
    )
    doc = nonces.create_nonce(
        p.store,
        identity(request),
        fields,
        actor_id=actor_id,
        alias=alias,
        api_server=p.settings.resolved_api_server,
        now=p.clock(),
    )
    return _ok(request, nonce_view(request.app.ctx.views, doc), f"{noun} nonce created successfully.")


async def get_nonce(request: Request, nonce_id: str, **path: str) -> HTTPResponse:
    doc, noun = _visible_nonce(request, nonce_id, path)
    return _ok(request, nonce_view(request.app.ctx.views, doc), f"{noun} nonce retrieved successfully.")


async def delete_nonce(request: Request, nonce_id: str, **path: str) -> HTTPResponse:
    _doc, noun = _visible_nonce(request, nonce_id, path)
    _platform(request).store.delete_object(identity(request).tenant, nonces.KIND, nonce_id)
    return _ok(request, None, f"{noun} nonce deleted successfully.")


# -- aliases (§5.11) --------------------------------------------------------------------------


async def list_aliases(request: Request) -> HTTPResponse:
    p = _platform(request)
    views = request.app.ctx.views
    docs = [doc for _key, doc in p.store.list_objects(identity(request).tenant, aliases.KIND)]
    return _ok(request, [alias_view(views, d) for d in docs], "Aliases retrieved successfully.")


def _text(value: Any, shown: str, what: str, *, strip: bool = True) -> str | None:
    """A string field, stripped unless ``strip`` is false; ``None`` when absent or empty; 400
    for another type."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Invalid {what} description. The {shown} attribute must be a string.")
    return (value.strip() if strip else value) or None


async def create_alias(request: Request) -> HTTPResponse:
    p = _platform(request)
    source = _source(request, "alias")
    actor_field = "actorId" if p.settings.case == "camel" else "actor_id"
    # never trimmed: a space is a forbidden character (§5.11), not padding to drop
    alias = _text(source.get("alias", default=None), "alias", "alias", strip=False)
    actor_id = _text(_field(source, "actor_id", p.settings.case), actor_field, "alias")
    missing = [name for name, value in (("alias", alias), (actor_field, actor_id)) if value is None]
    if missing:
        raise InvalidRequest(f"Invalid alias description. Missing required field: {', '.join(missing)}.")
    assert alias is not None and actor_id is not None
    doc = aliases.create_alias(p.store, identity(request), alias, actor_id)
    return _ok(request, alias_view(request.app.ctx.views, doc), "Actor alias created successfully.")


async def get_alias(request: Request, alias: str) -> HTTPResponse:
    doc = aliases.get_alias(_platform(request).store, identity(request).tenant, alias)
    return _ok(request, alias_view(request.app.ctx.views, doc), "Alias retrieved successfully.")


async def update_alias(request: Request, alias: str) -> HTTPResponse:
    p = _platform(request)
    source = _source(request, "alias update")
    if source.get("alias", default=None) is not None:
        raise InvalidRequest(
            "Invalid alias update description. The alias itself cannot be updated in a PUT request."
        )
    actor_field = "actorId" if p.settings.case == "camel" else "actor_id"
    actor_id = _text(_field(source, "actor_id", p.settings.case), actor_field, "alias update")
    if actor_id is None:
        raise InvalidRequest(f"Invalid alias update description. Missing required field: {actor_field}.")
    doc = aliases.update_alias(p.store, identity(request), alias, actor_id)
    return _ok(request, alias_view(request.app.ctx.views, doc), "Actor alias updated successfully.")


async def delete_alias(request: Request, alias: str) -> HTTPResponse:
    p = _platform(request)
    tenant = identity(request).tenant
    aliases.get_alias(p.store, tenant, alias)
    cascade_delete_alias(p.store, tenant, alias)
    return _ok(request, None, f"Alias {alias} deleted successfully.")


#: appended to ``abaco_core.api.routes.ROUTES``
ACCESS_ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/<actor_id:str>/permissions", _permissions_handlers("actor", "actor_id")),
    ("/<actor_id:str>/nonces", {"GET": list_nonces, "POST": create_nonce}),
    ("/<actor_id:str>/nonces/<nonce_id:str>", {"GET": get_nonce, "DELETE": delete_nonce}),
    ("/aliases", {"GET": list_aliases, "POST": create_alias}),
    ("/aliases/<alias:str>", {"GET": get_alias, "PUT": update_alias, "DELETE": delete_alias}),
    ("/aliases/<alias:str>/permissions", _permissions_handlers("alias", "alias")),
    ("/aliases/<alias:str>/nonces", {"GET": list_nonces, "POST": create_nonce}),
    ("/aliases/<alias:str>/nonces/<nonce_id:str>", {"GET": get_nonce, "DELETE": delete_nonce}),
    ("/configs/<name:str>/permissions", _permissions_handlers("config", "name")),
]
