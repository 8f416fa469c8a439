"""Durable platform counters (spec §5.14): how many actors were ever created, in all and in
each tenant.

A counter is a stored object of kind ``"counter"``, ``{"value": n}``: the platform's in the
tenant ``""``, each tenant's in that tenant, under the same key. It is changed only with the
store's atomic read-modify-write, so concurrent registrations in several API processes never
lose a count. A missing counter starts from the actors that exist (a store that kept actors
from before the counter existed).
"""

from __future__ import annotations

import logging

from .errors import AbacoError, Conflict, ObjectNotFound
from .interfaces import Store

__all__ = ["ACTORS_CREATED", "actors_created", "count_actor_created", "init_actor_counter"]

log = logging.getLogger(__name__)

KIND = "counter"
PLATFORM = ""
ACTORS_CREATED = "actors_created"


def _scope(tenant: str | None) -> str:
    return PLATFORM if tenant is None else tenant


def _existing(store: Store, tenant: str | None) -> int:
    return len(store.list_actors(tenant))


def init_actor_counter(store: Store, tenant: str | None = None) -> None:
    """Create the counter (the platform's, or a tenant's) if it is missing, from the actors
    that exist. Safe from several processes."""
    try:
        store.get_object(_scope(tenant), KIND, ACTORS_CREATED)
    except ObjectNotFound:
        try:
            store.create_object(_scope(tenant), KIND, ACTORS_CREATED, {"value": _existing(store, tenant)})
        except Conflict:
            pass


def _bump(doc: dict) -> dict:
    return {**doc, "value": int(doc.get("value", 0)) + 1}


def count_actor_created(store: Store, tenant: str | None = None) -> None:
    """One more actor was created (it is stored already): the platform's counter and, with
    ``tenant``, that tenant's. A failure is logged, never raised: the actor exists whatever
    happens to the figures."""
    for scope in (None, tenant) if tenant is not None else (None,):
        try:
            try:
                store.update_object(_scope(scope), KIND, ACTORS_CREATED, _bump)
            except ObjectNotFound:
                # never initialised (a platform used without start(), a tenant's first actor
                # since counting began): the actors there are, this one included
                init_actor_counter(store, scope)
        except AbacoError as exc:
            log.warning("could not count the new actor: %s", exc)


def actors_created(store: Store, tenant: str | None = None) -> int:
    """Actors ever created (in every tenant, or in ``tenant``); the actors that exist when
    the counter was never set."""
    try:
        return int(store.get_object(_scope(tenant), KIND, ACTORS_CREATED).get("value", 0))
    except ObjectNotFound:
        return _existing(store, tenant)
