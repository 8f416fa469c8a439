"""Nonces as credentials (spec §3.6): a request that no authentication method recognised is
authenticated by its ``x-nonce`` query parameter, when nonces are accepted
(``ABACO_ACCEPT_NONCE``, default true, Q11).

Only actor-scoped paths (``/actors/{id}/...``) take a nonce. The path identifier chooses the
namespace: an actor id needs a nonce made on that actor, an alias one made on that alias.
The nonce id's prefix gives the tenant. One use is consumed atomically before the handler
runs (:func:`abaco_core.nonces.redeem_nonce`); the request then runs as the nonce's owner with
the roles the owner had when making it, and with the nonce's level as a ceiling.

Ours: a nonce can neither create nonces nor change permissions (the policy's ``by_nonce``);
such a request is refused before redemption and uses nothing up.
"""

from __future__ import annotations

from sanic import Request
from sanic.exceptions import NotFound as SanicNotFound

from ..access import Identity
from ..errors import ActorNotFound, PermissionDenied
from ..ids import is_hashid
from ..nonces import redeem_nonce as redeem
from ..nonces import required_level, tenant_of
from .authz import ADMIN_REQUIRED, NONCE_FORBIDDEN
from .policy import rule_for, under_admin

__all__ = ["NONCE_LEVEL", "redeem_nonce"]

#: the key of :attr:`Identity.extra` that holds the level of the nonce that authenticated a
#: request (the request can do no more than that level, whatever its owner can)
NONCE_LEVEL = "nonce_level"


async def redeem_nonce(request: Request) -> Identity | None:
    """The identity a valid ``x-nonce`` gives (one use consumed), ``None`` without one (or
    with nonces switched off); raise a 400 for a nonce that cannot be used here."""
    platform = request.app.ctx.platform
    if not platform.settings.accept_nonce:
        return None
    nonce_id = request.args.get("x-nonce")
    if not nonce_id:
        return None
    if request.route is None:
        # no endpoint: the 404 of Q32, and no use consumed
        raise SanicNotFound("not an Abaco endpoint")
    if under_admin(request):
        # no nonce is made for "admin" (a reserved word): refused before any lookup (Q16)
        raise PermissionDenied(ADMIN_REQUIRED)
    template, rule, params = rule_for(request)
    if template is None or not template.startswith("/{id}"):
        if not template:
            raise PermissionDenied("Not authorized.")
        # upstream takes the first path word as an actor identifier: a static word
        # (``search``, ``aliases`` ...) is an unknown alias there
        word = template.strip("/").split("/", 1)[0]
        raise ActorNotFound(f"Actor with identifier '{word}' not found")
    if rule is not None and not rule.by_nonce:
        # refused before redemption, so the attempt uses nothing up
        raise PermissionDenied(NONCE_FORBIDDEN)
    identifier = params["id"]
    tenant = tenant_of(nonce_id)
    if is_hashid(identifier):
        actor_id, alias = platform.resolve_id(tenant, identifier), None
    else:
        # the alias must exist in the nonce's tenant (else 404, like any unknown alias)
        platform.resolve_id(tenant, identifier)
        actor_id, alias = None, identifier
    doc = redeem(
        platform.store,
        nonce_id,
        actor_id=actor_id,
        alias=alias,
        level=required_level(request.method, template),
        now=platform.clock(),
    )
    return Identity(
        tenant=tenant,
        username=doc["owner"],
        roles=tuple(doc.get("roles") or ()),
        nonce=nonce_id,
        method="nonce",
        extra={NONCE_LEVEL: doc["level"]},
    )
