"""What goes with a deleted alias or actor (Q35): an alias takes its nonces, its permissions
and its entries in configs' ``actors`` lists with it; an actor takes its nonces, the aliases
pointing at it (each cascading the same way), its entries in configs' ``actors`` lists and
its webhook signing secret.
The actor's own record and permissions are the platform's (``Platform.finish_delete``)."""

from __future__ import annotations

from . import aliases, nonces
from .configs import remove_identifier as remove_from_configs
from .events import signing
from .interfaces import Store

__all__ = ["delete_actor_references", "delete_alias", "remove_from_configs"]


def delete_alias(store: Store, tenant: str, alias: str) -> bool:
    """Delete an alias and what hangs off it; return whether the alias existed."""
    existed = store.delete_object(tenant, aliases.KIND, alias)
    store.delete_permissions(tenant, aliases.KIND, alias)
    nonces.delete_nonces(store, tenant, alias=alias)
    remove_from_configs(store, tenant, alias)
    return existed


def delete_actor_references(store: Store, tenant: str, actor_id: str) -> None:
    """Delete the aliases, nonces and webhook signing secret of a deleted actor and drop it
    from configs."""
    for alias in aliases.aliases_of(store, tenant, actor_id):
        delete_alias(store, tenant, alias)
    nonces.delete_nonces(store, tenant, actor_id=actor_id)
    remove_from_configs(store, tenant, actor_id)
    store.delete_object(tenant, signing.KIND, actor_id)
