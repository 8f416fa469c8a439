"""API tokens: long-lived bearer credentials for a user of a tenant with one role.

A token reads ``abaco_<id>_<secret>``: ``id`` (12 hex digits) names it in ``abaco token
list`` / ``revoke`` and is not secret; ``secret`` is 256 random bits. Only the SHA-256 of the
whole token is stored (object kind ``token``, tenant ``""``, key = the hex digest), so the
store never holds a usable credential. A plain hash, not a slow password hash, is enough:
the secret is random, not chosen by a person, so it cannot be guessed from its digest.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from .access import ADMIN_ROLE, PRIVILEGED_ROLE
from .clock import utcnow
from .errors import AuthenticationFailed, Conflict, InvalidRequest, ObjectNotFound
from .interfaces import Store
from .timefmt import display

__all__ = [
    "KIND",
    "PREFIX",
    "ROLES",
    "TENANT",
    "create_token",
    "digest",
    "list_tokens",
    "revoke_token",
    "roles_of",
    "verify_token",
]

KIND = "token"
#: tokens are looked up before the tenant is known: they live outside every tenant
TENANT = ""
PREFIX = "abaco_"
#: the roles a token may carry; ``basic`` is ``[web] user_role``, read when the token is used
ROLES = ("admin", "privileged", "basic")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def roles_of(role: str, user_role: str) -> tuple[str, ...]:
    """The §3.2 role strings of a token role."""
    return {"admin": (ADMIN_ROLE,), "privileged": (PRIVILEGED_ROLE,)}.get(role, (user_role,))


def create_token(
    store: Store,
    *,
    user: str,
    role: str,
    tenant: str,
    description: str = "",
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new token for ``user`` of ``tenant``: ``(the token, its stored record)``. The token
    itself is returned once and kept nowhere."""
    user, tenant = user.strip(), tenant.strip()
    if not user:
        raise InvalidRequest("a token needs a user name")
    if not tenant:
        raise InvalidRequest("a token needs a tenant")
    if role not in ROLES:
        raise InvalidRequest(f"invalid token role {role!r}: the valid roles are {', '.join(ROLES)}")
    for _attempt in range(3):
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        record = {
            "id": token_id,
            "user": user,
            "tenant": tenant,
            "role": role,
            "description": description,
            "created": display(now or utcnow()),
            "revoked": None,
        }
        if any(doc["id"] == token_id for _key, doc in store.list_objects(TENANT, KIND)):
            continue  # 48 bits: a clash is rare, but ids must name one token
        try:
            store.create_object(TENANT, KIND, digest(token), record)
        except Conflict:
            continue
        return token, record
    raise Conflict("could not find an unused token id; try again")


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token record (revoked ones included), oldest first."""
    return [doc for _key, doc in store.list_objects(TENANT, KIND)]


def revoke_token(store: Store, token_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Mark the token ``token_id`` revoked (revoking twice keeps the first time); its record
    stays for the listing. :class:`ObjectNotFound` when no token has that id."""
    key = next((key for key, doc in store.list_objects(TENANT, KIND) if doc["id"] == token_id), None)
    if key is None:
        raise ObjectNotFound(f"no token with id {token_id!r}")
    when = display(now or utcnow())

    def revoke(current: dict[str, Any]) -> dict[str, Any] | None:
        return None if current.get("revoked") else {**current, "revoked": when}

    return store.update_object(TENANT, KIND, key, revoke)


def verify_token(store: Store, token: str) -> dict[str, Any] | None:
    """The record of a valid token; ``None`` when ``token`` does not start with ``abaco_``
    (it is someone else's credential); :class:`AuthenticationFailed` when it does but is
    unknown (mistyped, truncated) or revoked."""
    token = token.strip()
    if not token.startswith(PREFIX):
        return None
    token_id = token[len(PREFIX) :].split("_", 1)[0]
    try:
        record = store.get_object(TENANT, KIND, digest(token))
    except ObjectNotFound:
        raise AuthenticationFailed("Invalid API token: it is unknown or was revoked.") from None
    if record.get("revoked") or record.get("id") != token_id:
        raise AuthenticationFailed("Invalid API token: it is unknown or was revoked.")
    return record
