"""The workers of this process and the spawner that starts them (spec §7.2–7.3).

Workers are threads of the process that accepted their spawner command (``abaco up``, or an
``abaco worker``); a container run is already isolated, so nothing forks per execution
(DESIGN.md, decision 4). Any process may *request* a worker: it writes the ``REQUESTED``
record and sends a :class:`~abaco_core.records.SpawnCommand` on the platform's command
channel. Any process may ask a worker to *stop*: through the worker's record, which its own
process reads at every heartbeat.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from typing import TYPE_CHECKING

from ..errors import AbacoError, ActorNotFound, WorkerNotFound
from ..ids import new_id
from ..models import Actor, ActorStatus, Worker, WorkerStatus
from ..records import SpawnCommand
from .worker import LIVE_STATUSES, WorkerThread

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self._threads: dict[str, WorkerThread] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._heartbeats: threading.Thread | None = None
        self._beating = threading.Event()

    # -- requesting workers ------------------------------------------------------------------

    def ensure_worker(self, actor: Actor) -> bool:
        """Request a worker if the actor has none at all (atomic; spec §6.2 step 8, Q34)."""
        return self.request_worker(actor, max_workers=1)

    def request_worker(
        self, actor: Actor, *, max_workers: int | None = None, stop_existing: bool = False
    ) -> bool:
        if self._closing or actor.status in (ActorStatus.ERROR, ActorStatus.SHUTTING_DOWN):
            return False
        commands = self.p.commands
        worker = Worker(
            tenant=actor.tenant,
            actor_id=actor.id,
            id=new_id(),
            status=WorkerStatus.REQUESTED,
            image=actor.image,
            revision=actor.revision,
            # which host runs it is known once a spawner accepts the command
            location="" if commands.distributed else self._location(),
            host_id="" if commands.distributed else self.p.settings.host_id,
            host_ip="" if commands.distributed else self.p.settings.host_ip,
            create_time=self.p.clock(),
        )
        worker = worker.replace(ch_name=f"worker_{worker.id}")
        if not self.p.store.add_worker(worker, max_workers=max_workers):
            return False
        command = SpawnCommand(actor.tenant, actor.id, worker.id, actor.revision, stop_existing)
        try:
            commands.send(actor.queue, command)
        except AbacoError:
            self._delete_record(worker)  # nobody will start it: the next request may
            raise
        return True

    def _location(self) -> str:
        return self.p.backend.location if self.p.backend is not None else ""

    def handle_command(self, command: SpawnCommand) -> None:
        """Start the worker a command asks for, in this process (spec §7.3). While this
        process runs ``ABACO_MAX_WORKERS_PER_HOST`` workers it waits, so the command's
        consumer takes no more commands meanwhile."""
        while not self._closing:
            with self._lock:
                if len(self._threads) < self.p.settings.max_workers_per_host:
                    break
            self._beating.wait(1.0)
        try:
            worker = self.p.store.get_worker(command.tenant, command.actor_id, command.worker_id)
        except WorkerNotFound:
            return  # stopped (or expired) before it started
        except AbacoError as exc:
            log.error("spawner: cannot read worker %s: %s", command.worker_id, exc)
            return
        if worker.status != WorkerStatus.REQUESTED:
            if worker.status not in LIVE_STATUSES:
                self._delete_record(worker)
            return
        worker = worker.replace(
            location=self._location(), host_id=self.p.settings.host_id, host_ip=self.p.settings.host_ip
        )
        try:
            self._spawn_worker(worker, command.stop_existing)
        except Exception:  # never leave a record without a thread behind
            log.exception("could not start worker %s of actor %s", worker.id, worker.actor_id)
            self._delete_record(worker)

    def _spawn_worker(self, worker: Worker, stop_existing: bool) -> None:
        store = self.p.store
        if self._closing or self.p.backend is None:
            return  # the record stays REQUESTED; the health pass removes it
        try:
            actor = store.get_actor(worker.tenant, worker.actor_id)
        except ActorNotFound:
            self._delete_record(worker)
            return
        if actor.status == ActorStatus.ERROR or actor.revision != worker.revision:
            self._delete_record(worker)
            return
        try:
            worker = self._save(worker, WorkerStatus.SPAWNER_SETUP)
            worker = self._save(worker, WorkerStatus.PULLING_IMAGE)
            self.p.backend.ensure_image(actor.image)
            worker = self._save(worker, WorkerStatus.CREATING_CONTAINER)
        except (WorkerNotFound, _StopRequested):
            self._delete_record(worker)
            return
        except AbacoError as exc:
            self._delete_record(worker)
            self.p.set_actor_error(
                actor, f"Spawner got an exception from call to start_worker. Exception: {exc}"
            )
            return
        try:
            worker = self._save(
                worker, WorkerStatus.READY, cid=f"thread:{worker.id}", last_health_check_time=self.p.clock()
            )
        except (WorkerNotFound, _StopRequested):
            self._delete_record(worker)
            return
        self.p.set_actor_ready(actor)
        thread = WorkerThread(self.p, worker)
        with self._lock:
            if self._closing:
                self._delete_record(worker)
                return
            self._threads[worker.id] = thread
            thread.start()  # under the lock: shutdown never sees a thread it cannot join
        if stop_existing:
            for other in store.list_workers(worker.tenant, worker.actor_id):
                if other.id != worker.id:
                    self.stop_worker(other)

    def _save(self, worker: Worker, status: WorkerStatus, **changes: object) -> Worker:
        """One step of the spawn; a stop requested meanwhile (through the record) ends it."""
        updated = worker.replace(status=status, **changes)
        if not self.p.store.save_worker(updated, expected=[worker.status]):
            raise _StopRequested(worker.id)
        return updated

    def _delete_record(self, worker: Worker) -> None:
        try:
            self.p.store.delete_worker(worker.tenant, worker.actor_id, worker.id)
        except AbacoError as exc:
            log.warning("could not delete worker record %s: %s", worker.id, exc)

    # -- stopping ------------------------------------------------------------------------------

    def stop_worker(self, worker: Worker, *, halt: bool = False) -> None:
        """Ask a worker to stop after its current execution (``halt``: stop that container too).

        A worker of another process is asked through its record (``SHUTDOWN_REQUESTED``),
        which that process reads at the worker's next heartbeat; a worker not started yet
        loses its record, so no spawner starts it."""
        with self._lock:
            thread = self._threads.get(worker.id)
        if thread is None:
            if worker.status == WorkerStatus.REQUESTED:
                self._delete_record(worker)
                return
            try:
                self.p.store.save_worker(
                    worker.replace(status=WorkerStatus.SHUTDOWN_REQUESTED), expected=LIVE_STATUSES
                )
            except WorkerNotFound:
                pass
            return
        try:
            self.p.store.save_worker(worker.replace(status=WorkerStatus.SHUTDOWN_REQUESTED))
        except WorkerNotFound:
            pass
        thread.request_stop()
        runner = thread.runner  # read once: the run may end meanwhile
        if halt and runner is not None:
            runner.halt()

    def stop_actor_workers(self, actor: Actor, *, halt: bool = False) -> None:
        for worker in self.p.store.list_workers(actor.tenant, actor.id):
            self.stop_worker(worker, halt=halt)

    def worker_exited(self, thread: WorkerThread) -> None:
        with self._lock:
            self._threads.pop(thread.worker.id, None)
        self._delete_record(thread.worker)
        shutil.rmtree(os.path.join(self.p.settings.data_dir, "run", thread.worker.id), ignore_errors=True)

    def halt_execution(self, execution_id: str) -> bool:
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            runner = thread.runner
            if runner is not None and runner.execution.id == execution_id:
                runner.halt()
                return True
        return False

    def serves(self, actor: Actor) -> bool:
        """Whether a worker thread of this process serves the actor and is not stopping: then
        the actor has a worker record too, and a message needs no store round trip to find
        one (the API's hot path). ``False`` means "unknown here", not "none"."""
        key = (actor.tenant, actor.id)
        with self._lock:
            return any(
                (t.worker.tenant, t.worker.actor_id) == key and not t.stop_requested.is_set()
                for t in self._threads.values()
            )

    def live_workers(self) -> list[Worker]:
        with self._lock:
            return [t.worker for t in self._threads.values()]

    def start_heartbeats(self) -> None:
        """Every ``ABACO_HEARTBEAT_INTERVAL`` seconds each worker of this process records that
        it lives, and learns whether it was asked to stop (spec §7.7)."""
        if self._heartbeats is None:
            self._heartbeats = threading.Thread(target=self._heartbeat_loop, name="heartbeats", daemon=True)
            self._heartbeats.start()

    def _heartbeat_loop(self) -> None:
        while not self._beating.wait(self.p.settings.heartbeat_interval):
            with self._lock:
                threads = list(self._threads.values())
            for thread in threads:
                try:
                    thread.heartbeat()
                except AbacoError as exc:
                    log.warning("heartbeat of worker %s failed: %s", thread.worker.id, exc)

    def shutdown(self, grace: float) -> None:
        """Stop every worker: running executions get ``grace`` seconds to finish, then their
        containers are stopped and their messages go back to the queue to run again."""
        with self._lock:
            self._closing = True
            threads = list(self._threads.values())
        self._beating.set()
        for thread in threads:
            thread.request_stop()
        deadline = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for thread in threads:
            if thread.is_alive() and thread.runner is not None:
                thread.runner.interrupt()
        for thread in threads:
            thread.join(self.p.settings.stop_grace + 5)


class _StopRequested(Exception):
    """The worker being spawned was asked to stop (its record changed meanwhile)."""
