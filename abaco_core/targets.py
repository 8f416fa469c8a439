"""Actor identifiers as configs and links name them: an actor id or an alias (spec §2.6,
§5.11). Aliases are stored objects of kind ``"alias"`` with the document
``{"alias", "actor_id", "owner"}``; an alias can never look like an actor id."""

from __future__ import annotations

from .access import Identity, Level, effective_level
from .aliases import KIND as ALIAS
from .aliases import aliases_of
from .errors import ActorNotFound, ObjectNotFound
from .ids import is_hashid
from .interfaces import Store

__all__ = ["ALIAS", "actor_id_of", "aliases_of", "has_level"]


def actor_id_of(store: Store, tenant: str, identifier: str) -> str | None:
    """The id of the actor an id or alias names in the tenant; ``None`` if there is none."""
    if not identifier:
        return None
    if is_hashid(identifier):
        try:
            return store.get_actor(tenant, identifier).id
        except ActorNotFound:
            return None
    try:
        doc = store.get_object(tenant, ALIAS, identifier)
    except ObjectNotFound:
        return None
    target = doc.get("actor_id")
    return target if isinstance(target, str) and target else None


def has_level(store: Store, who: Identity, actor_id: str, needed: Level) -> bool:
    """Whether the caller holds ``needed`` on the actor (an admin always does)."""
    if who.is_admin:
        return True
    return effective_level(store.get_permissions(who.tenant, "actor", actor_id), who.username) >= needed
