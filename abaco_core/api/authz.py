"""Authorization: may this caller make this request (spec §3.4)? Runs after
:mod:`abaco_core.api.authn`, before the handler. Today everything is allowed (the
single-user ``none`` mode gives the ``ALL`` role)."""

from __future__ import annotations

from sanic import Request

from ..access import Identity

__all__ = ["authorize"]


async def authorize(request: Request, who: Identity) -> None:
    return None
