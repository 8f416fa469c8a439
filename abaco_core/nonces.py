"""Nonces (spec §3.6, §4.5, §5.10): credentials bound to one actor or one alias, with a level
and a number of uses. Stored as objects of kind ``"nonce"`` keyed by the nonce id
``{TENANT}_{hashid}``; the document holds the §4.5 fields (times as ISO strings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .access import Identity, Level
from .actor_fields import FieldSource
from .casing import to_camel
from .errors import InvalidRequest, ObjectNotFound, PermissionDenied
from .ids import new_id
from .interfaces import Store

__all__ = [
    "ACTOR_LEVELS",
    "ALIAS_LEVELS",
    "KIND",
    "MAX_USES",
    "NonceFields",
    "create_nonce",
    "delete_nonces",
    "get_nonce",
    "list_nonces",
    "parse_nonce_fields",
    "redeem_nonce",
    "required_level",
    "tenant_of",
]

KIND = "nonce"
ACTOR_LEVELS = (Level.NONE, Level.READ, Level.EXECUTE, Level.UPDATE)
ALIAS_LEVELS = (Level.NONE, Level.READ, Level.EXECUTE)
_INTEGER = re.compile(r"-?\d+")
#: ours: the largest ``max_uses`` (a JSON number or its string form alike)
MAX_USES = 2**31 - 1
_MAX_USES_MESSAGE = "The max uses parameter must be a positive integer or -1 (to denote unlimited uses)."


@dataclass(frozen=True)
class NonceFields:
    """What a client may set on a new nonce."""

    level: Level
    max_uses: int
    description: str


def _get(source: FieldSource, name: str, case: str) -> Any:
    value = source.get(to_camel(name) if case == "camel" else name, default=None)
    if value is None and case == "snake" and to_camel(name) != name:
        value = source.get(to_camel(name), default=None)
    return value


def _shown_uses(case: str) -> str:
    return "maxUses" if case == "camel" else "max_uses"


def parse_nonce_fields(source: FieldSource, *, case: str, alias: bool) -> NonceFields:
    """``level`` (default EXECUTE; alias nonces up to EXECUTE), ``max_uses`` (default -1),
    ``description`` (spec §5.10)."""
    allowed = ALIAS_LEVELS if alias else ACTOR_LEVELS
    raw_level = _get(source, "level", case)
    if raw_level is None:
        level = Level.EXECUTE
    else:
        try:
            level = Level.parse(raw_level, allowed=allowed)
        except InvalidRequest:
            raise InvalidRequest(
                "Invalid nonce description. The level attribute must be one of: "
                f"{', '.join(lv.name for lv in allowed)}."
            ) from None
    raw_uses = _get(source, "max_uses", case)
    if raw_uses is None:
        max_uses = -1
    else:
        if isinstance(raw_uses, bool) or not (
            isinstance(raw_uses, int) or (isinstance(raw_uses, str) and _INTEGER.fullmatch(raw_uses.strip()))
        ):
            raise InvalidRequest(
                f"Invalid nonce description. The {_shown_uses(case)} attribute must be an integer. "
                f"{_MAX_USES_MESSAGE}"
            )
        text = raw_uses.strip() if isinstance(raw_uses, str) else None
        # a digit string longer than the bound's is too large (and never parsed whole)
        max_uses = (
            MAX_USES + 1 if text is not None and len(text.lstrip("-").lstrip("0")) > 10 else int(raw_uses)
        )
        if max_uses > MAX_USES:
            raise InvalidRequest(
                f"Invalid nonce description. The {_shown_uses(case)} attribute must be at most {MAX_USES}. "
                f"{_MAX_USES_MESSAGE}"
            )
        if max_uses == 0 or max_uses < -1:
            raise InvalidRequest(_MAX_USES_MESSAGE)
    description = _get(source, "description", case)
    if description is None:
        description = ""
    if isinstance(description, (dict, list, bool)):
        raise InvalidRequest("Invalid nonce description. The description attribute must be a string.")
    return NonceFields(level, max_uses, str(description))


def tenant_of(nonce_id: str) -> str:
    """The tenant a nonce id names (the part before its last ``_``); ``""`` if none."""
    tenant, sep, _ = nonce_id.rpartition("_")
    return tenant if sep else ""


def create_nonce(
    store: Store,
    who: Identity,
    fields: NonceFields,
    *,
    actor_id: str | None,
    alias: str | None,
    api_server: str,
    now: datetime,
) -> dict[str, Any]:
    """A new nonce owned by the caller, carrying the caller's roles (atomic, Q34)."""
    nonce_id = f"{who.tenant}_{new_id()}"
    doc: dict[str, Any] = {
        "id": nonce_id,
        "actor_id": actor_id,
        "owner": who.username,
        "roles": list(who.roles),
        "api_server": api_server,
        "level": fields.level.name,
        "max_uses": fields.max_uses,
        "remaining_uses": fields.max_uses,
        "current_uses": 0,
        "description": fields.description,
        "create_time": now.isoformat(),
        "last_use_time": None,
    }
    if alias is not None:
        doc["alias"] = alias
    store.create_object(who.tenant, KIND, nonce_id, doc)
    return doc


def _belongs(doc: dict[str, Any], actor_id: str | None, alias: str | None) -> bool:
    if alias is not None:
        return doc.get("alias") == alias
    return "alias" not in doc and doc.get("actor_id") == actor_id


def list_nonces(
    store: Store, tenant: str, *, actor_id: str | None = None, alias: str | None = None
) -> list[dict[str, Any]]:
    return [doc for _key, doc in store.list_objects(tenant, KIND) if _belongs(doc, actor_id, alias)]


def get_nonce(
    store: Store, tenant: str, nonce_id: str, *, actor_id: str | None = None, alias: str | None = None
) -> dict[str, Any]:
    """A nonce of that actor (or alias); 404 ``Nonce not found.`` otherwise (Q2)."""
    try:
        doc = store.get_object(tenant, KIND, nonce_id)
    except ObjectNotFound:
        doc = None
    if doc is None or not _belongs(doc, actor_id, alias):
        raise ObjectNotFound("Nonce not found.")
    return doc


def delete_nonces(store: Store, tenant: str, *, actor_id: str | None = None, alias: str | None = None) -> int:
    """Delete every nonce of an actor (or alias); return how many."""
    gone = 0
    for doc in list_nonces(store, tenant, actor_id=actor_id, alias=alias):
        gone += store.delete_object(tenant, KIND, doc["id"])
    return gone


def required_level(method: str, template: str) -> Level:
    """The nonce level a request needs (spec §3.6): GET READ, message POST EXECUTE, else
    UPDATE."""
    method = method.upper()
    if method == "GET":
        return Level.READ
    if method == "POST" and template.rstrip("/").endswith("/messages"):
        return Level.EXECUTE
    return Level.UPDATE


def redeem_nonce(
    store: Store, nonce_id: str, *, actor_id: str | None, alias: str | None, level: Level, now: datetime
) -> dict[str, Any]:
    """Use a nonce once, atomically: the checks and the counters are one read-modify-write of
    the document, so concurrent requests never exceed ``max_uses``. A refusal (unknown nonce,
    level too low, no use left) changes nothing and raises a 400."""
    tenant = tenant_of(nonce_id)

    def use(doc: dict[str, Any]) -> dict[str, Any]:
        if not _belongs(doc, actor_id, alias):
            raise PermissionDenied("Nonce does not exist.")
        if Level[doc["level"]] < level:
            raise PermissionDenied("Nonce does not have sufficient permissions level.")
        if doc["max_uses"] != -1:
            if doc["remaining_uses"] <= 0:
                raise PermissionDenied("No remaining uses left for this nonce.")
            doc["remaining_uses"] -= 1
        doc["current_uses"] += 1
        doc["last_use_time"] = now.isoformat()
        return doc

    if not tenant:
        raise PermissionDenied("Nonce does not exist.")
    try:
        return store.update_object(tenant, KIND, nonce_id, use)
    except ObjectNotFound:
        raise PermissionDenied("Nonce does not exist.") from None
