"""Authorization: may this caller make this request (spec §3.4, Q14–Q16)? Runs after
:mod:`abaco_core.api.authn`, before the handler, and enforces the entry of
:data:`abaco_core.api.policy.POLICY` for the matched route and method.

Order: a URL that matches no route passes (the error handler answers 404, Q32); a nonce
may not do what its rule forbids to nonces; the admin role passes everything; a route
outside ``/actors`` (which the table cannot describe) passes nobody else; a path under
``/actors/admin`` needs it (Q16); a method the route does not implement needs nothing more
than authentication (the handler answers 405); then the rule's guard: the restricted
registration fields (§3.5) before the level on the actor, alias or config the path names.
"""

from __future__ import annotations

import logging

from sanic import Request

from ..access import Identity, Level, effective_level
from ..actor_fields import FieldSource
from ..aliases import KIND as ALIAS_KIND
from ..errors import InvalidRequest, NotFound, ObjectNotFound, PermissionDenied
from ..platform import Platform
from ..restricted import check_restricted_fields
from .policy import Guard, Rule, rule_for, under_admin
from .requests import form_lists, json_body, query_lists

__all__ = [
    "ACTOR_DENIED",
    "ADMIN_REQUIRED",
    "ALIAS_ACTOR_DENIED",
    "ALIAS_DENIED",
    "CONFIG_DENIED",
    "NONCE_FORBIDDEN",
    "WORKERS_DENIED",
    "authorize",
    "check_rule",
]

log = logging.getLogger(__name__)

ADMIN_REQUIRED = "Abaco Admin role required."
ACTOR_DENIED = "Not authorized -- you do not have access to this actor."
ALIAS_DENIED = "Not authorized -- you do not have access to this alias."
ALIAS_ACTOR_DENIED = "Not authorized -- you do not have access to this alias and actor."
CONFIG_DENIED = "You do not have sufficient access to this actor config."
WORKERS_DENIED = "Not authorized -- only admins are authorized to update workers."
#: ours: what a nonce may never do (create nonces, change permissions)
NONCE_FORBIDDEN = "Not authorized -- a nonce cannot be used to create nonces or change permissions."
#: a handled route the policy forgot (a bug; the matrix test catches it)
NO_POLICY = "Not authorized -- no access policy covers this request."

CONFIG_KIND = "config"


async def authorize(request: Request, who: Identity) -> None:
    """Raise :class:`PermissionDenied` (400, Q1) or a 404 when the caller may not go on."""
    if request.route is None:
        return  # no endpoint: the 404 of Q32 answers, whoever asks
    template, rule, params = rule_for(request)
    if who.nonce is not None and rule is not None and not rule.by_nonce:
        # before the admin short-cut: an admin's nonce carries the admin role
        raise PermissionDenied(NONCE_FORBIDDEN)
    if who.is_admin:
        return
    if template is None:
        # a route outside /actors: the table cannot describe it, so only admins pass
        raise PermissionDenied(NO_POLICY)
    if under_admin(request):
        raise PermissionDenied(ADMIN_REQUIRED)
    if rule is None:
        if _implemented(request):
            log.error("no access policy for %s %s; refusing non-admins", request.method, template)
            raise PermissionDenied(NO_POLICY)
        return  # the handler answers 405
    platform: Platform = request.app.ctx.platform
    check_rule(platform, request, who, rule, params)


def _implemented(request: Request) -> bool:
    from .routes import not_allowed

    return request.route.handler is not not_allowed


def check_rule(
    platform: Platform, request: Request, who: Identity, rule: Rule, params: dict[str, str]
) -> None:
    if rule.guard is Guard.ADMIN:
        raise PermissionDenied(ADMIN_REQUIRED)
    if rule.guard is Guard.WORKERS_ADMIN:
        raise PermissionDenied(WORKERS_DENIED)
    if rule.restricted:
        _check_body(platform, request, who)
    store = platform.store
    tenant = who.tenant
    if rule.guard is Guard.ACTOR:
        actor_id = platform.resolve_id(tenant, params["id"])
        _require(_actor_level(platform, tenant, actor_id, who), rule.level, ACTOR_DENIED)
    elif rule.guard is Guard.ALIAS:
        _require(_object_level(platform, tenant, ALIAS_KIND, params["alias"], who), rule.level, ALIAS_DENIED)
    elif rule.guard is Guard.ALIAS_AND_ACTOR:
        alias = params["alias"]
        on_alias = _object_level(platform, tenant, ALIAS_KIND, alias, who)
        try:
            actor_id = store.get_object(tenant, ALIAS_KIND, alias)["actor_id"]
        except ObjectNotFound:
            raise NotFound(_MISSING_MESSAGES[ALIAS_KIND].format(key=alias)) from None
        on_actor = effective_level(store.get_permissions(tenant, "actor", actor_id), who.username)
        _require(min(on_alias, on_actor), rule.level, ALIAS_ACTOR_DENIED)
    elif rule.guard is Guard.CONFIG:
        _require(_object_level(platform, tenant, CONFIG_KIND, params["name"], who), rule.level, CONFIG_DENIED)


def _require(level: Level, needed: Level, message: str) -> None:
    if level < needed:
        raise PermissionDenied(message)


def _actor_level(platform: Platform, tenant: str, actor_id: str, who: Identity) -> Level:
    """The caller's level on an actor; an actor without a permission document (it does not
    exist) is 400 ``Actor <dbid> does not exist`` (spec §3.4 notes)."""
    permissions = platform.store.get_permissions(tenant, "actor", actor_id)
    if not permissions:
        raise PermissionDenied(f"Actor {tenant}_{actor_id} does not exist")
    return effective_level(permissions, who.username)


_MISSING_MESSAGES = {ALIAS_KIND: "No alias found: {key}.", CONFIG_KIND: "No config found: {key}."}


def _object_level(platform: Platform, tenant: str, kind: str, key: str, who: Identity) -> Level:
    """The caller's level on an alias or config; 404 when the object does not exist (both
    are listed to every user of the tenant, so their existence is no secret)."""
    permissions = platform.store.get_permissions(tenant, kind, key)
    if not permissions:
        try:
            platform.store.get_object(tenant, kind, key)
        except ObjectNotFound:
            raise NotFound(_MISSING_MESSAGES[kind].format(key=key)) from None
    return effective_level(permissions, who.username)


def _check_body(platform: Platform, request: Request, who: Identity) -> None:
    """§3.5 on a key/value body (JSON object, form, query); other bodies skip it, and a
    body that does not parse is left to the handler's own error."""
    if who.is_privileged:
        return
    try:
        body = json_body(request)
    except InvalidRequest:
        body = None
    source = FieldSource(
        json=body if isinstance(body, dict) else None, query=query_lists(request), form=form_lists(request)
    )
    settings = platform.settings
    check_restricted_fields(source, who, case=settings.case, use_tas_uid=settings.use_tas_uid)
