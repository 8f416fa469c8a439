"""The workers of this process and the spawner that starts them (spec §7.2–7.3).

Workers here are threads of the embedded process; a container run is already isolated, so
nothing forks per execution (DESIGN.md, decision 4).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..errors import AbacoError, ActorNotFound, WorkerNotFound
from ..ids import new_id
from ..models import Actor, ActorStatus, Worker, WorkerStatus
from .worker import WorkerThread

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self._threads: dict[str, WorkerThread] = {}
        self._lock = threading.Lock()
        self._spawner = ThreadPoolExecutor(max_workers=4, thread_name_prefix="spawner")
        self._closing = False

    # -- requesting workers ------------------------------------------------------------------

    def ensure_worker(self, actor: Actor) -> bool:
        """Request a worker if the actor has none at all (atomic; spec §6.2 step 8, Q34)."""
        return self.request_worker(actor, max_workers=1)

    def request_worker(
        self, actor: Actor, *, max_workers: int | None = None, stop_existing: bool = False
    ) -> bool:
        if self._closing or actor.status in (ActorStatus.ERROR, ActorStatus.SHUTTING_DOWN):
            return False
        worker = Worker(
            tenant=actor.tenant,
            actor_id=actor.id,
            id=new_id(),
            status=WorkerStatus.REQUESTED,
            image=actor.image,
            revision=actor.revision,
            location=self.p.backend.location,
            host_id=self.p.settings.host_id,
            host_ip=self.p.settings.host_ip,
            create_time=self.p.clock(),
        )
        worker = worker.replace(ch_name=f"worker_{worker.id}")
        if not self.p.store.add_worker(worker, max_workers=max_workers):
            return False
        self._spawner.submit(self._spawn, worker, stop_existing)
        return True

    def _spawn(self, worker: Worker, stop_existing: bool = False) -> None:
        try:
            self._spawn_worker(worker, stop_existing)
        except Exception:  # never leave a record without a thread behind
            log.exception("could not start worker %s of actor %s", worker.id, worker.actor_id)
            self._delete_record(worker)

    def _spawn_worker(self, worker: Worker, stop_existing: bool) -> None:
        store = self.p.store
        try:
            actor = store.get_actor(worker.tenant, worker.actor_id)
        except ActorNotFound:
            self._delete_record(worker)
            return
        if actor.status == ActorStatus.ERROR or actor.revision != worker.revision:
            self._delete_record(worker)
            return
        try:
            worker = self._save(worker.replace(status=WorkerStatus.SPAWNER_SETUP))
            worker = self._save(worker.replace(status=WorkerStatus.PULLING_IMAGE))
            self.p.backend.ensure_image(actor.image)
            worker = self._save(worker.replace(status=WorkerStatus.CREATING_CONTAINER))
        except WorkerNotFound:
            return
        except AbacoError as exc:
            self._delete_record(worker)
            self.p.set_actor_error(
                actor, f"Spawner got an exception from call to start_worker. Exception: {exc}"
            )
            return
        worker = self._save(worker.replace(status=WorkerStatus.READY, cid=f"thread:{worker.id}"))
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

    def _save(self, worker: Worker) -> Worker:
        self.p.store.save_worker(worker)
        return worker

    def _delete_record(self, worker: Worker) -> None:
        try:
            self.p.store.delete_worker(worker.tenant, worker.actor_id, worker.id)
        except AbacoError as exc:
            log.warning("could not delete worker record %s: %s", worker.id, exc)

    # -- stopping ------------------------------------------------------------------------------

    def stop_worker(self, worker: Worker, *, halt: bool = False) -> None:
        """Ask a worker to stop after its current execution (``halt``: stop that container too)."""
        with self._lock:
            thread = self._threads.get(worker.id)
        if thread is None:
            self._delete_record(worker)
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

    def shutdown(self, grace: float) -> None:
        """Stop every worker: running executions get ``grace`` seconds to finish, then their
        containers are stopped and their messages go back to the queue to run again."""
        with self._lock:
            self._closing = True
            threads = list(self._threads.values())
        for thread in threads:
            thread.request_stop()
        self._spawner.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for thread in threads:
            if thread.is_alive() and thread.runner is not None:
                thread.runner.interrupt()
        for thread in threads:
            thread.join(self.p.settings.stop_grace + 5)
