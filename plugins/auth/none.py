"""``none``: the embedded single-user mode (spec §3.1, ``access_control = none``)."""

from __future__ import annotations

from abaco_core.access import ALL_ROLE, Identity
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings


class NoneAuth:
    """Every request is the configured user (``ABACO_USER``), role ``ALL``, in the tenant of
    the ``tenant`` request header or else ``ABACO_TENANT``."""

    name = "none"

    def __init__(self, settings: Settings) -> None:
        self.user = settings.user
        self.tenant = settings.tenant

    def authenticate(self, request: AuthRequest) -> Identity:
        tenant = (request.header("tenant") or "").strip() or self.tenant
        return Identity(tenant, self.user, (ALL_ROLE,), method="none")
