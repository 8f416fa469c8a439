"""Validating an actor's ``link`` (spec §4.1, §10.3; Q12): it names an actor of the tenant
(by id or alias), not the actor itself, the caller may EXECUTE it, and no cycle of links
results — when a link is set, and when an alias a link goes through is re-pointed.

These checks read, then the caller writes: two processes may each pass the check of one half
of a loop. :func:`loops_back` is the last line, run before every link delivery."""

from __future__ import annotations

from .access import Identity, Level
from .errors import ActorNotFound, InvalidRequest, PermissionDenied
from .ids import is_hashid
from .interfaces import Store
from .targets import ALIAS, actor_id_of, has_level

__all__ = [
    "CYCLE",
    "NOT_A_TARGET",
    "SELF_LINK",
    "check_alias_target",
    "check_link",
    "find_cycle",
    "link_graph",
    "loops_back",
]

NOT_A_TARGET = (
    "Invalid link parameter; unable to retrieve linked actor data. The link must be a valid actor id or "
    "alias for which you have EXECUTE permission."
)
SELF_LINK = "Invalid link parameter. An actor cannot link to itself."
CYCLE = "Error: this update would result in a cycle of linked actors."

#: the node of an actor being registered (it has no id yet, and nothing links to it)
_NEW = ""


#: how far :func:`loops_back` follows a chain of links
MAX_CHAIN = 1000


def link_graph(store: Store, tenant: str, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """source actor id → target actor id for every actor of the tenant whose link resolves;
    ``aliases`` overrides where the named aliases point."""
    aliases = {key: doc.get("actor_id") for key, doc in store.list_objects(tenant, ALIAS)} | (aliases or {})
    graph: dict[str, str] = {}
    for actor in store.list_actors(tenant):
        if not actor.link:
            continue
        target = actor.link if is_hashid(actor.link) else aliases.get(actor.link)
        if isinstance(target, str) and target:
            graph[actor.id] = target
    return graph


def find_cycle(graph: dict[str, str], start: str) -> list[str] | None:
    """Follow the links from ``start``; the path once a node comes back, else ``None``."""
    path: list[str] = []
    seen: set[str] = set()
    node: str | None = start
    while node is not None and node in graph:
        if node in seen:
            return [*path[path.index(node) :], node]
        seen.add(node)
        path.append(node)
        node = graph.get(node)
    return None


def check_link(store: Store, tenant: str, link: str, actor_id: str | None, who: Identity | None) -> None:
    """Raise a 400 unless ``link`` may be the link of the actor ``actor_id`` (``None``: an
    actor being registered). ``who`` is the caller; ``None`` means the platform itself,
    which needs no permission."""
    if not link:
        return
    target = actor_id_of(store, tenant, link)
    if target is None:
        raise InvalidRequest(NOT_A_TARGET)
    if actor_id is not None and target == actor_id:
        raise InvalidRequest(SELF_LINK)
    if who is not None and not has_level(store, who, target, Level.EXECUTE):
        raise PermissionDenied(NOT_A_TARGET)
    graph = link_graph(store, tenant)
    node = actor_id if actor_id is not None else _NEW
    graph[node] = target
    if find_cycle(graph, node) is not None:
        raise InvalidRequest(CYCLE)


def check_alias_target(store: Store, tenant: str, alias: str, actor_id: str) -> None:
    """Raise the cycle 400 if pointing ``alias`` at ``actor_id`` closes a loop for an actor
    whose link is that alias."""
    graph = link_graph(store, tenant, {alias: actor_id})
    for actor in store.list_actors(tenant):
        if actor.link == alias and find_cycle(graph, actor.id) is not None:
            raise InvalidRequest(CYCLE)


def loops_back(store: Store, tenant: str, source: str, target: str) -> bool:
    """Whether following the links from ``target`` comes back to ``source``: then an event
    of ``source`` delivered to ``target`` would travel around a loop for ever."""
    node: str | None = target
    seen: set[str] = set()
    while node is not None and node not in seen and len(seen) < MAX_CHAIN:
        if node == source:
            return True
        seen.add(node)
        try:
            link = store.get_actor(tenant, node).link
        except ActorNotFound:
            return False
        node = actor_id_of(store, tenant, link) if link else None
    return False
