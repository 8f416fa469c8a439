"""Durable platform counters (spec §5.14): how many actors were ever created.

A counter is a stored object of kind ``"counter"`` in the tenant ``""`` (platform-wide),
``{"value": n}``, changed only with the store's atomic read-modify-write, so concurrent
registrations in several API processes never lose a count.
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


def init_actor_counter(store: Store) -> None:
    """Create the counter if it is missing, from the actors that exist (a store that kept
    actors before the counter existed starts from them). Safe from several processes."""
    try:
        store.get_object(PLATFORM, KIND, ACTORS_CREATED)
    except ObjectNotFound:
        try:
            store.create_object(PLATFORM, KIND, ACTORS_CREATED, {"value": len(store.list_actors(None))})
        except Conflict:
            pass


def _bump(doc: dict) -> dict:
    return {**doc, "value": int(doc.get("value", 0)) + 1}


def count_actor_created(store: Store) -> None:
    """One more actor was created (it is stored already). A failure is logged, never
    raised: the actor exists whatever happens to the figure."""
    try:
        try:
            store.update_object(PLATFORM, KIND, ACTORS_CREATED, _bump)
        except ObjectNotFound:
            # never initialised (a platform used without start()): the actors there are,
            # this one included
            init_actor_counter(store)
    except AbacoError as exc:
        log.warning("could not count the new actor: %s", exc)


def actors_created(store: Store) -> int:
    """Actors ever created; the actors that exist when the counter was never set."""
    try:
        return int(store.get_object(PLATFORM, KIND, ACTORS_CREATED).get("value", 0))
    except ObjectNotFound:
        return len(store.list_actors(None))
