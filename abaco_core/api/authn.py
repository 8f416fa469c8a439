"""Authentication: who sends a request (spec §3.1).

Runs before every handler (``create_app`` installs it) and puts an
:class:`~abaco_core.access.Identity` on ``request.ctx.identity``. Today: the embedded
single-user mode only (``none``): every request is the configured user of the configured
tenant, with the ``ALL`` role.
"""

from __future__ import annotations

from sanic import Request

from ..access import ALL_ROLE, Identity

__all__ = ["authenticate"]


async def authenticate(request: Request) -> Identity | None:
    """The caller recognised by a configured method, ``None`` when no method recognises the
    request (then a nonce may still authenticate it, :mod:`abaco_core.api.nonce_auth`)."""
    settings = request.app.ctx.platform.settings
    return Identity(settings.tenant, settings.user, (ALL_ROLE,), method="none")
