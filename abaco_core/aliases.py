"""Aliases (spec §4.6, §5.11): a tenant-unique name that stands for an actor id everywhere one
is accepted. Stored as objects of kind ``"alias"`` (key: the alias, doc ``{"alias",
"actor_id", "owner"}``) with their own permissions (kind ``"alias"``)."""

from __future__ import annotations

from typing import Any

from .access import Identity, Level, effective_level
from .errors import ActorNotFound, Conflict, InvalidRequest, ObjectNotFound, PermissionDenied
from .ids import is_hashid
from .interfaces import Store

__all__ = [
    "DOT_NAMES",
    "FORBIDDEN_CHARACTERS",
    "KIND",
    "RESERVED_WORDS",
    "create_alias",
    "get_alias",
    "update_alias",
    "validate_alias_name",
]

KIND = "alias"

#: upstream's reserved words, then ours: names a static path segment would shadow
#: (``/actors/aliases``, ``/actors/configs`` ...), so such an alias could never be addressed
RESERVED_WORDS = (
    "executions",
    "nonces",
    "logs",
    "messages",
    "adapters",
    "admin",
    "aliases",
    "configs",
    "search",
    "utilization",
    "v2",
)
FORBIDDEN_CHARACTERS = (
    "\\",
    " ",
    '"',
    ":",
    "/",
    "?",
    "#",
    "[",
    "]",
    "@",
    "!",
    "$",
    "&",
    "'",
    "(",
    ")",
    "*",
    "+",
    ",",
    ";",
    "=",
)
#: ours: an alias is a path segment and a database key, not a document
MAX_LENGTH = 256
#: ours: path segments that clients and proxies resolve away (``/actors/..`` is ``/``)
DOT_NAMES = (".", "..")


def get_alias(store: Store, tenant: str, alias: str) -> dict[str, Any]:
    """The alias document; 404 ``No alias found: <alias>.``"""
    try:
        return store.get_object(tenant, KIND, alias)
    except ObjectNotFound:
        raise ObjectNotFound(f"No alias found: {alias}.") from None


def validate_alias_name(alias: str) -> None:
    """The name rules of alias creation that come after the actor checks (§5.11)."""
    if alias in DOT_NAMES:
        raise InvalidRequest("Invalid alias description. An alias cannot be '.' or '..'.")
    if alias in RESERVED_WORDS:
        raise InvalidRequest(
            f"{alias} is a reserved word. The following reserved words cannot be used for an alias: "
            f"{', '.join(RESERVED_WORDS)}."
        )
    for ch in FORBIDDEN_CHARACTERS:
        if ch in alias:
            raise InvalidRequest(
                f"'{ch}' is a forbidden character. The following characters cannot be used for an alias: "
                f"{' '.join(FORBIDDEN_CHARACTERS)} (and control characters)."
            )
    if any(ord(c) < 32 or ord(c) == 127 for c in alias):
        raise InvalidRequest("Invalid alias description. An alias cannot contain control characters.")
    if len(alias) > MAX_LENGTH:
        raise InvalidRequest(f"Invalid alias description. An alias has at most {MAX_LENGTH} characters.")


def _explicit_level(store: Store, tenant: str, actor_id: str, who: Identity) -> Level:
    """The caller's own level on an actor (own entry or ABACO_WORLD); the admin role does not
    count in these controller checks (spec §3.4 notes, §5.11)."""
    return effective_level(store.get_permissions(tenant, "actor", actor_id), who.username)


def _existing_actor(store: Store, tenant: str, actor_id: str) -> None:
    try:
        store.get_actor(tenant, actor_id)
    except ActorNotFound:
        raise ActorNotFound(f"No actor found with id: {actor_id}.") from None


def create_alias(store: Store, who: Identity, alias: str, actor_id: str) -> dict[str, Any]:
    """Checks in the order of spec §5.11, then an atomic create-if-absent (Q34); the caller
    gets UPDATE on the alias."""
    tenant = who.tenant
    if is_hashid(alias):
        raise InvalidRequest("Invalid alias description. Alias cannot be an Abaco hash id.")
    _existing_actor(store, tenant, actor_id)
    if _explicit_level(store, tenant, actor_id, who) < Level.UPDATE:
        raise PermissionDenied(f"Not authorized -- you do not have access to {actor_id}.")
    validate_alias_name(alias)
    doc = {"alias": alias, "actor_id": actor_id, "owner": who.username}
    try:
        store.create_object(tenant, KIND, alias, doc)
    except Conflict:
        raise Conflict(f"Alias {alias} already exists.") from None
    store.set_permission(tenant, KIND, alias, who.username, Level.UPDATE.name)
    return doc


def update_alias(store: Store, who: Identity, alias: str, actor_id: str) -> dict[str, Any]:
    """Point an alias at another actor: UPDATE on the new actor needed, and no loop of links
    may result for the actors that link through the alias (§10.3); the owner stays and the
    caller is (re)granted UPDATE on the alias (§5.11)."""
    tenant = who.tenant
    get_alias(store, tenant, alias)
    _existing_actor(store, tenant, actor_id)
    if _explicit_level(store, tenant, actor_id, who) < Level.UPDATE:
        raise PermissionDenied(
            "Not authorized -- you do not have UPDATE access to the actor you want to associate with this alias."
        )
    # links resolve aliases (links -> targets -> aliases): imported here, not at the top
    from .links import check_alias_target

    check_alias_target(store, tenant, alias, actor_id)

    def repoint(doc: dict[str, Any]) -> dict[str, Any]:
        doc["actor_id"] = actor_id
        return doc

    try:
        updated = store.update_object(tenant, KIND, alias, repoint)
    except ObjectNotFound:
        raise ObjectNotFound(f"No alias found: {alias}.") from None
    store.set_permission(tenant, KIND, alias, who.username, Level.UPDATE.name)
    return updated


def aliases_of(store: Store, tenant: str, actor_id: str) -> list[str]:
    """The aliases pointing at an actor."""
    return [key for key, doc in store.list_objects(tenant, KIND) if doc.get("actor_id") == actor_id]
