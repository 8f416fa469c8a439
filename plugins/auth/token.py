"""``token``: API tokens made by ``abaco token create``, sent as ``Authorization: Bearer``."""

from __future__ import annotations

from abaco_core.access import Identity
from abaco_core.interfaces import Store
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings
from abaco_core.tokens import roles_of, verify_token


class TokenAuth:
    """A bearer credential shaped like an abaco token is this method's: valid, it names the
    caller; unknown or revoked, it is refused (401). Any other bearer value (an OAuth token a
    gateway passes through, spec §3.1) is left to the next method."""

    name = "token"

    def __init__(self, settings: Settings, store: Store) -> None:
        self.store = store
        self.user_role = settings.user_role

    def authenticate(self, request: AuthRequest) -> Identity | None:
        scheme, _, credential = (request.header("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return None
        record = verify_token(self.store, credential)
        if record is None:
            return None
        return Identity(
            record["tenant"],
            record["user"],
            roles_of(record["role"], self.user_role),
            method="token",
            extra={"token_id": record["id"]},
        )
