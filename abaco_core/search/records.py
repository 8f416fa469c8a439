"""The records a search runs over: what the caller may see, shaped as the API shows it
(spec §5.12), in snake case and in natural (insertion) order.

Scope: the caller's tenant, and only the records of actors the caller may read (their own
entry or the ``ABACO_WORLD`` floor gives at least READ, Q15); the admin role gives no extra
visibility there. A search an endpoint of one actor runs (``/actors/{id}/executions?...``)
reads that actor, whose READ check the request passed (the admin role counts there). Shaping reuses :class:`~abaco_core.api.views.Views`, so a search record looks
like the object the other endpoints return: no internal keys (tenant, db ids, the
permission join), public ids, ``_links``, times in the display format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..access import WORLD, Level, effective_level
from ..api.views import Views
from ..interfaces import Store
from ..models import Actor, Execution, ExecutionStatus, Worker
from .evaluate import SearchPage, run_query
from .query import Query

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["FIELDS", "SEARCH_TYPES", "Scope", "search", "search_records", "visible_actor_ids"]

SEARCH_TYPES = ("actors", "workers", "executions", "logs")


def visible_actor_ids(store: Store, tenant: str, username: str) -> set[str]:
    """The actors of the tenant the user may read."""
    found = store.permissions_of(tenant, "actor", [username, WORLD])
    return {key for key, entries in found.items() if effective_level(entries, username) >= Level.READ}


@dataclass(frozen=True)
class Scope:
    """Whose records, and the filter an endpoint pre-applies (``/actors/{id}/executions``
    searches one actor's executions, ``.../executions/{eid}/logs`` one execution's logs)."""

    tenant: str
    username: str
    #: set only by an endpoint that authorized READ on this actor (``/actors/{id}/...``)
    actor_id: str | None = None
    execution_id: str | None = None


class _Shaper:
    def __init__(self, views: Views) -> None:
        self.views = views

    def actor(self, actor: Actor, next_ex: str | None) -> dict[str, Any]:
        return self.views.actor(actor, cron_next_ex=next_ex)

    def worker(self, worker: Worker, owner: str) -> dict[str, Any]:
        record = self.views.worker(worker)
        record.pop("tenant", None)
        record["actor_id"] = worker.actor_id
        actor_url = self.views.actor_url(worker.actor_id)
        record["_links"] = {
            "self": f"{actor_url}/workers/{worker.id}",
            "actor": actor_url,
            "owner": self.views.profile_url(owner),
        }
        return record

    def execution(self, execution: Execution) -> dict[str, Any]:
        return self.views.execution(execution)

    def log(self, actor: Actor, execution_id: str, logs: str) -> dict[str, Any]:
        return {"execution_id": execution_id, **self.views.logs(actor, execution_id, logs)}


def _fields() -> dict[str, frozenset[str]]:
    shaper = _Shaper(Views("http://localhost", "snake"))
    actor = Actor(tenant="t", id="a", image="i", owner="o")
    return {
        "actors": frozenset(shaper.actor(actor, None)),
        "workers": frozenset(shaper.worker(Worker(tenant="t", actor_id="a", id="w"), "o")),
        "executions": frozenset(shaper.execution(Execution(tenant="t", actor_id="a", id="e", executor="o"))),
        "logs": frozenset(shaper.log(actor, "e", "")),
    }


#: the top-level fields of each type of record (snake case)
FIELDS: dict[str, frozenset[str]] = _fields()


def _visible(store: Store, scope: Scope) -> set[str]:
    """The actors whose records the search reads: the one an endpoint names (the request
    passed its READ check, by permission, the admin role or a nonce), else those the caller
    may read by permission."""
    if scope.actor_id is not None:
        return {scope.actor_id}
    return visible_actor_ids(store, scope.tenant, scope.username)


def search_records(platform: Platform, views: Views, kind: str, scope: Scope) -> list[dict[str, Any]]:
    """The shaped records of ``kind`` in ``scope``; ``views`` must render snake case."""
    store = platform.store
    visible = _visible(store, scope)
    if not visible:
        return []
    shaper = _Shaper(views)
    if kind == "executions":
        return [shaper.execution(e) for e in store.executions_of(scope.tenant, sorted(visible))]
    actors = {a.id: a for a in store.list_actors(scope.tenant) if a.id in visible}
    if kind == "actors":
        cron = platform.cron
        return [shaper.actor(a, cron.next_fire(a) if a.cron_schedule else None) for a in actors.values()]
    if kind == "workers":
        return [
            shaper.worker(w, actors[w.actor_id].owner)
            for w in store.list_workers(scope.tenant, scope.actor_id)
            if w.actor_id in actors
        ]
    if kind == "logs":
        return [
            shaper.log(actors[aid], eid, text)
            for aid, eid, text in store.logs_of(scope.tenant, sorted(actors), platform.clock())
            if aid in actors and (scope.execution_id is None or eid == scope.execution_id)
        ]
    raise ValueError(f"unknown search type {kind!r}")


def _store_page(query: Query) -> tuple[ExecutionStatus, ...] | None:
    """The statuses a query on one actor's executions keeps, when the store can answer it
    alone (no full text; no condition, or one ``status`` equality); ``None`` otherwise."""
    if query.full_text:
        return None
    if not query.conditions:
        return tuple(ExecutionStatus)
    if len(query.conditions) == 1:
        only = query.conditions[0]
        if only.path == ("status",) and only.op == "eq" and only.text in _STATUS_VALUES:
            return (ExecutionStatus(only.text),)
    return None


_STATUS_VALUES = frozenset(s.value for s in ExecutionStatus)


def search(
    platform: Platform, views: Views, kind: str, scope: Scope, query: Query, *, budget: float | None = None
) -> SearchPage:
    """The page of ``kind`` records in ``scope`` that ``query`` selects.

    Paging one actor's executions, with no condition but their status and no full text (``GET
    /actors/{id}/executions?skip=&limit=``), reads only the page and a count from the store,
    so its cost does not grow with the actor's history; every other search shapes all the
    records in scope and filters them, in at most about ``budget`` seconds (else
    :class:`~.evaluate.SearchTooSlow`).
    """
    statuses = _store_page(query) if kind == "executions" and scope.actor_id is not None else None
    if statuses is None:
        return run_query(search_records(platform, views, kind, scope), query, budget=budget)
    store, actor_id = platform.store, scope.actor_id
    assert actor_id is not None
    page: list[Execution] = []
    total = 0
    if actor_id in _visible(store, scope):
        wanted = None if len(statuses) == len(ExecutionStatus) else statuses
        page = store.list_executions(
            scope.tenant, actor_id, statuses=wanted, limit=query.limit, offset=query.skip
        )
        total = store.count_executions(scope.tenant, actor_id, statuses=wanted)
    shaper = _Shaper(views)
    return SearchPage(
        total=total, skip=query.skip, limit=query.limit, records=[shaper.execution(e) for e in page]
    )
