"""Worker health across processes (spec §7.7, ours for a cluster).

* Every worker thread heartbeats through its record (``last_health_check_time``, see
  :meth:`~abaco_core.runtime.worker.WorkerThread.heartbeat`).
* :func:`health_pass` (the scheduler, every ``ABACO_HEALTH_INTERVAL`` seconds) declares dead
  the workers whose last heartbeat is older than ``ABACO_WORKER_DEAD_AFTER``, and the ones
  still starting ``ABACO_SPAWN_TIMEOUT`` after they were requested. The execution a dead
  worker ran is retried per its actor's policy or ends ``ERROR`` with the reason
  (:func:`lose_execution`), its message is released to its place, its record deleted, and
  every actor left with a backlog and no worker gets one.
* :func:`sweep_host` (every process that runs containers) removes the containers and the
  FIFO/socket directories of workers that no longer exist.

Reads are ordered so that a worker starting meanwhile is never mistaken for a dead one: the
executions (or reservations, or containers) are read *before* the worker records, and a
worker record always exists before its worker runs, reserves or starts anything.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..errors import AbacoError, ActorNotFound, ExecutionNotFound
from ..models import ActorStatus, Execution, ExecutionStatus, Worker, WorkerStatus

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["health_pass", "lose_execution", "sweep_host"]

log = logging.getLogger(__name__)

#: statuses before READY: judged by how long ago the worker was requested, not by heartbeats
STARTING = frozenset(
    {
        WorkerStatus.REQUESTED,
        WorkerStatus.SPAWNER_SETUP,
        WorkerStatus.PULLING_IMAGE,
        WorkerStatus.CREATING_CONTAINER,
        WorkerStatus.UPDATING_STORE,
    }
)


def lose_execution(p: Platform, execution: Execution, reason: str) -> Execution:
    """A ``RUNNING`` execution whose worker is gone: queued again if its actor allows
    another attempt (``max_retries``), else ``ERROR`` with ``reason``, dead-lettered with its
    message kept for a redrive. Compare-and-set on the status *and* the worker, so a worker
    that is in fact alive and finishes first wins. Returns the execution as it now is."""
    try:
        actor = p.store.get_actor(execution.tenant, execution.actor_id)
    except ActorNotFound:
        actor = None
    attempts = execution.attempts
    if actor is not None and attempts <= actor.max_retries:
        updated = execution.replace(
            status=ExecutionStatus.SUBMITTED,
            start_time=None,
            status_message=f"attempt {attempts} failed: {reason}; it will be retried",
        )
    else:
        suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
        updated = execution.replace(
            status=ExecutionStatus.ERROR,
            status_message=f"{reason}; the execution did not finish{suffix}.",
            finish_time=p.clock(),
            dead_lettered=actor is not None,
        )
    if p.store.update_execution(
        updated, expected=[ExecutionStatus.RUNNING], expected_worker=execution.worker_id
    ):
        log.warning("execution %s of %s: %s", execution.id, execution.actor_id, updated.status_message)
        p.signals.notify(execution.id)
        return updated
    try:
        return p.store.get_execution(execution.tenant, execution.actor_id, execution.id)
    except ExecutionNotFound:
        return updated


def health_pass(p: Platform, since: datetime | None = None) -> list[Worker]:
    """One pass of the health agent over every worker of the platform; returns the workers
    it declared dead. Heartbeats older than ``since`` count as made at ``since``: a scheduler
    that just started, or that just saw the store come back, gives every worker a full
    ``ABACO_WORKER_DEAD_AFTER`` to show itself."""
    settings, store = p.settings, p.store
    now = p.clock()
    dead_after = timedelta(seconds=settings.worker_dead_after)
    spawn_timeout = timedelta(seconds=settings.spawn_timeout)
    running = store.executions_with_status([ExecutionStatus.RUNNING])
    alive: set[str] = set()
    dead: list[Worker] = []
    for worker in store.list_workers(None):
        if worker.status in STARTING:
            if worker.create_time is None or now - worker.create_time > spawn_timeout:
                log.warning(
                    "worker %s of %s was not started within %s s (%s); removing it",
                    worker.id, worker.actor_id, settings.spawn_timeout, worker.status.value,
                )  # fmt: skip
                store.delete_worker(worker.tenant, worker.actor_id, worker.id)
            else:
                alive.add(worker.id)
            continue
        seen = worker.last_health_check_time or worker.create_time
        if seen is not None and since is not None:
            seen = max(seen, since)
        if seen is None or now - seen > dead_after:
            dead.append(worker)
        else:
            alive.add(worker.id)
    dead_ids = {w.id for w in dead}
    for execution in running:
        if execution.worker_id in alive:
            continue
        if execution.worker_id in dead_ids:
            reason = (
                f"worker {execution.worker_id} stopped answering during the execution "
                f"(no heartbeat for more than {settings.worker_dead_after:g} s)"
            )
        else:
            reason = f"worker {execution.worker_id} is gone"
        lose_execution(p, execution, reason)
    if dead:
        p.queue.recover([w.id for w in dead])
    for worker in dead:
        log.warning("worker %s of actor %s declared dead (last heartbeat %s)",
                    worker.id, worker.actor_id, worker.last_health_check_time)  # fmt: skip
        store.delete_worker(worker.tenant, worker.actor_id, worker.id)
    _release_orphaned_reservations(p)
    _ensure_workers_for_backlogs(p)
    return dead


def _release_orphaned_reservations(p: Platform) -> None:
    """Reservations held by consumers that are no worker (one deleted before it released)."""
    consumers = getattr(p.queue, "consumers", None)
    if consumers is None:
        return
    holders = set(consumers())
    if not holders:
        return
    known = {w.id for w in p.store.list_workers(None)}
    orphans = holders - known
    if orphans:
        released = p.queue.recover(sorted(orphans))
        if released:
            log.warning("released %d message(s) held by vanished workers %s", released, sorted(orphans))


def _ensure_workers_for_backlogs(p: Platform) -> None:
    """Every actor with waiting messages and no worker gets one (after a worker died, or a
    spawner command was lost); the deletion of an actor that an API process could not finish
    (it died, or Redis failed midway) is finished."""
    by_actor: set[tuple[str, str]] = {(w.tenant, w.actor_id) for w in p.store.list_workers(None)}
    for actor in p.store.list_actors(None):
        if actor.status == ActorStatus.SHUTTING_DOWN:
            p.finish_delete(actor)
            continue
        if actor.status == ActorStatus.ERROR:
            continue
        if (actor.tenant, actor.id) in by_actor:
            continue
        if p.queue.count(actor.dbid) > 0:
            try:
                p.pool.ensure_worker(actor)
            except AbacoError as exc:
                log.warning("could not request a worker for actor %s: %s", actor.id, exc)


def sweep_host(p: Platform) -> int:
    """Remove this host's containers (and FIFO/socket directories) whose worker no longer
    exists: left by a worker declared dead, or by a process killed mid-run. Returns how
    many containers it removed."""
    backend = p.backend
    if backend is None:
        return 0
    refs = [] if p.settings.leave_containers else backend.list_containers({"abaco.platform": p.instance_id})
    run_dir = os.path.join(p.settings.data_dir, "run")
    try:
        dirs = os.listdir(run_dir)
    except OSError:
        dirs = []
    known = {w.id for w in p.store.list_workers(None)} | {w.id for w in p.pool.live_workers()}
    removed = 0
    for ref in refs:
        owner = ref.labels.get("abaco.worker")
        if owner and owner not in known:
            try:
                backend.remove(ref)
                removed += 1
                log.warning("removed container %s of vanished worker %s", ref.name or ref.id, owner)
            except AbacoError as exc:
                log.warning("could not remove orphaned container %s: %s", ref.id, exc)
    for name in dirs:
        if name not in known:
            shutil.rmtree(os.path.join(run_dir, name), ignore_errors=True)
    return removed
