"""What goes with a deleted alias or actor (Q35): an alias takes its nonces, its permissions
and its entries in configs' ``actors`` lists with it; an actor takes its nonces, the aliases
pointing at it (each cascading the same way) and its entries in configs' ``actors`` lists.
The actor's own record and permissions are the platform's (``Platform._finish_delete``)."""

from __future__ import annotations

from typing import Any

from . import aliases, nonces
from .errors import ObjectNotFound
from .interfaces import Store

__all__ = ["delete_actor_references", "delete_alias", "remove_from_configs"]

#: the object kind of actor configs (doc ``{"name", "value", "is_secret", "actors"}``)
CONFIG_KIND = "config"


def delete_alias(store: Store, tenant: str, alias: str) -> bool:
    """Delete an alias and what hangs off it; return whether the alias existed."""
    existed = store.delete_object(tenant, aliases.KIND, alias)
    store.delete_permissions(tenant, aliases.KIND, alias)
    nonces.delete_nonces(store, tenant, alias=alias)
    remove_from_configs(store, tenant, alias)
    return existed


def delete_actor_references(store: Store, tenant: str, actor_id: str) -> None:
    """Delete the aliases and nonces of a deleted actor and drop it from configs."""
    for alias in aliases.aliases_of(store, tenant, actor_id):
        delete_alias(store, tenant, alias)
    nonces.delete_nonces(store, tenant, actor_id=actor_id)
    remove_from_configs(store, tenant, actor_id)


def _entries(actors: Any) -> list[str]:
    if isinstance(actors, list):
        return [str(a).strip() for a in actors]
    return [a.strip() for a in str(actors or "").split(",")]


def remove_from_configs(store: Store, tenant: str, identifier: str) -> None:
    """Remove an actor id or alias from the ``actors`` list of every config of the tenant."""
    for key, doc in store.list_objects(tenant, CONFIG_KIND):
        if identifier not in _entries(doc.get("actors")):
            continue

        def drop(current: dict[str, Any]) -> dict[str, Any] | None:
            entries = _entries(current.get("actors"))
            if identifier not in entries:
                return None
            kept = [e for e in entries if e and e != identifier]
            current["actors"] = kept if isinstance(current.get("actors"), list) else ",".join(kept)
            return current

        try:
            store.update_object(tenant, CONFIG_KIND, key, drop)
        except ObjectNotFound:
            continue
