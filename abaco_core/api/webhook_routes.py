"""An actor's webhook signing secret (our extension of spec §10.2): read it, rotate it.
Both need UPDATE on the actor (the route check of :mod:`abaco_core.api.policy`), as the
secret lets its holder sign deliveries in the actor's name."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

from ..platform import Platform
from .envelope import ok
from .requests import identity

__all__ = ["WEBHOOK_ROUTES"]


def _platform(request: Request) -> Platform:
    return request.app.ctx.platform


async def get_webhook_secret(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = p.resolve(identity(request).tenant, actor_id)
    secret = p.webhook_secrets.get(actor.tenant, actor.id)
    return ok(p.settings.version, {"secret": secret}, "Webhook secret retrieved successfully.")


async def rotate_webhook_secret(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = p.resolve(identity(request).tenant, actor_id)
    secret = p.webhook_secrets.rotate(actor.tenant, actor.id)
    return ok(p.settings.version, {"secret": secret}, "Webhook secret rotated successfully.")


#: appended to ``abaco_core.api.routes.ROUTES``
WEBHOOK_ROUTES = [
    ("/<actor_id:str>/webhook/secret", {"GET": get_webhook_secret, "POST": rotate_webhook_secret}),
]
