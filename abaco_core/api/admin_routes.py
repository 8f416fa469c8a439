"""Utilization and the admin views (spec §5.14): ``GET /actors/utilization`` (any caller;
ours: a non-admin's counts are those of their tenant) and ``GET /actors/admin``,
``/actors/admin/workers``, ``/actors/admin/executions`` (admins only: the route check is the
authorization policy's, not these handlers').

The admin views span every tenant and show the raw listings upstream shows: actors with
their ``tenant`` and ``db_id``, workers with their ``actor_dbid``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from ..casing import camelize_keys
from ..counters import actors_created
from ..models import WorkerStatus
from ..records import ExecutionTotals
from .envelope import ok
from .requests import identity
from .views import Views

__all__ = ["ADMIN_ROUTES"]


def _reply(request: Request, result: Any, message: str) -> HTTPResponse:
    return ok(request.app.ctx.platform.settings.version, result, message)


def _cased(request: Request, obj: dict[str, Any]) -> dict[str, Any]:
    return camelize_keys(obj) if request.app.ctx.platform.settings.case == "camel" else obj


def _snake_views(request: Request) -> Views:
    return Views(request.app.ctx.views.api, "snake")


async def utilization(request: Request) -> HTTPResponse:
    """Platform counters, always in camelCase. ``commandQueue`` counts the worker requests
    no spawner has taken up yet (workers still ``REQUESTED``), what upstream's command
    queue holds. Ours: an admin sees every tenant, anyone else their own tenant only."""
    store = request.app.ctx.platform.store
    who = identity(request)
    tenant = None if who.is_admin else who.tenant
    workers = store.list_workers(tenant)
    result = {
        "currentActors": len(store.list_actors(tenant)),
        "totalActors": actors_created(store, tenant),
        "workers": len(workers),
        "commandQueue": sum(1 for w in workers if w.status == WorkerStatus.REQUESTED),
    }
    return _reply(request, result, "Abaco utilization returned successfully.")


async def admin_actors(request: Request) -> HTTPResponse:
    """Every actor of every tenant, with its workers, waiting messages, execution count and
    total runtime."""
    p = request.app.ctx.platform
    views, snake = request.app.ctx.views, _snake_views(request)
    totals = p.store.execution_totals_by_actor()
    workers: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in p.store.list_workers(None):
        workers.setdefault((w.tenant, w.actor_id), []).append(views.worker(w))
    actors = []
    for a in p.store.list_actors(None):
        record = snake.actor(a, cron_next_ex=p.cron.next_fire(a) if a.cron_schedule else None)
        mine = totals.get((a.tenant, a.id), ExecutionTotals())
        record.update(
            tenant=a.tenant,
            db_id=a.dbid,
            workers=workers.get((a.tenant, a.id), []),
            messages=p.queue.count(a.dbid),
            executions=mine.count,
            runtime=mine.runtime,
        )
        actors.append(_cased(request, record))
    return _reply(request, actors, "Actors retrieved successfully.")


_COUNTED = {
    WorkerStatus.READY: "ready_workers",
    WorkerStatus.REQUESTED: "requested_workers",
    WorkerStatus.ERROR: "error_workers",
    WorkerStatus.BUSY: "busy_workers",
}


async def admin_workers(request: Request) -> HTTPResponse:
    """Every worker of every tenant, with a summary by status."""
    p = request.app.ctx.platform
    snake = _snake_views(request)
    listed = p.store.list_workers(None)
    by_status = Counter(w.status for w in listed)
    existing = {(a.tenant, a.id) for a in p.store.list_actors(None)}
    with_workers = {(w.tenant, w.actor_id) for w in listed}
    summary = {
        "total_workers": len(listed),
        **{name: by_status[status] for status, name in _COUNTED.items()},
        "actors_no_workers": len(existing - with_workers),
    }
    workers = [
        _cased(request, {**snake.worker(w), "actor_id": w.actor_id, "actor_dbid": f"{w.tenant}_{w.actor_id}"})
        for w in listed
    ]
    return _reply(
        request, {"summary": _cased(request, summary), "workers": workers}, "Workers retrieved successfully."
    )


async def admin_executions(request: Request) -> HTTPResponse:
    """Execution accounting: of every actor ever ("all", deleted actors included, whose
    executions are kept) and of the actors that exist ("existing"), with one entry per
    existing actor that has executions."""
    p = request.app.ctx.platform
    totals = p.store.execution_totals_by_actor()
    actors = {(a.tenant, a.id): a for a in p.store.list_actors(None)}
    summary = {
        "total_actors_all": actors_created(p.store),
        "total_actors_all_with_executions": len(totals),
        "total_executions_all": 0,
        "total_execution_runtime_all": 0,
        "total_execution_cpu_all": 0,
        "total_execution_io_all": 0,
        "total_actors_existing": len(actors),
        "total_actors_existing_with_executions": 0,
        "total_executions_existing": 0,
        "total_execution_runtime_existing": 0,
        "total_execution_cpu_existing": 0,
        "total_execution_io_existing": 0,
    }
    per_actor = []
    for key, t in totals.items():
        scopes = ["all"]
        actor = actors.get(key)
        if actor is not None:
            scopes.append("existing")
            summary["total_actors_existing_with_executions"] += 1
            per_actor.append(
                _cased(
                    request,
                    {
                        "actor_id": actor.id,
                        "owner": actor.owner,
                        "image": actor.image,
                        "total_executions": t.count,
                        "total_execution_cpu": t.cpu,
                        "total_execution_io": t.io,
                        "total_execution_runtime": t.runtime,
                    },
                )
            )
        for scope in scopes:
            summary[f"total_executions_{scope}"] += t.count
            summary[f"total_execution_runtime_{scope}"] += t.runtime
            summary[f"total_execution_cpu_{scope}"] += t.cpu
            summary[f"total_execution_io_{scope}"] += t.io
    result = {"summary": _cased(request, summary), "actors": per_actor}
    return _reply(request, result, "Executions retrieved successfully.")


ADMIN_ROUTES = [
    ("/utilization", {"GET": utilization}),
    ("/admin", {"GET": admin_actors}),
    ("/admin/workers", {"GET": admin_workers}),
    ("/admin/executions", {"GET": admin_executions}),
]
