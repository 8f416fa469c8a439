"""A worker: a thread bound to one actor that runs its messages one at a time (spec §7.4)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..errors import AbacoError, ActorNotFound, WorkerNotFound
from ..models import ActorStatus, ExecutionStatus, Worker, WorkerStatus
from .runner import ExecutionRunner, Outcome

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["WorkerThread"]

log = logging.getLogger(__name__)

#: consecutive container-start failures after which the actor goes to ERROR (spec §7.4)
MAX_START_FAILURES = 5


class WorkerThread(threading.Thread):
    """Takes the actor's messages in order, one at a time, acknowledging each only after its
    execution is final. Stops after its current execution when asked (Q25)."""

    def __init__(self, platform: Platform, worker: Worker) -> None:
        super().__init__(name=f"worker-{worker.id}", daemon=True)
        self.p = platform
        self.worker = worker
        self.stop_requested = threading.Event()
        self.runner: ExecutionRunner | None = None
        self._start_failures = 0

    @property
    def consumer(self) -> str:
        return self.worker.id

    def request_stop(self) -> None:
        self.stop_requested.set()

    def _set_status(self, status: WorkerStatus, **changes: object) -> None:
        self.worker = self.worker.replace(status=status, **changes)
        try:
            self.p.store.save_worker(self.worker)
        except WorkerNotFound:
            self.stop_requested.set()

    def run(self) -> None:
        try:
            self._loop()
        except Exception:  # a worker must never die silently
            log.exception("worker %s crashed", self.worker.id)
            try:
                self._set_status(WorkerStatus.ERROR)
            except AbacoError:
                pass
        finally:
            self.p.pool.worker_exited(self)

    def _loop(self) -> None:
        store, queue = self.p.store, self.p.queue
        actor_key = f"{self.worker.tenant}_{self.worker.actor_id}"
        while not self.stop_requested.is_set():
            delivery = queue.reserve(actor_key, self.consumer, timeout=0.5)
            if delivery is None:
                continue
            if self.stop_requested.is_set():
                queue.release(delivery)
                return
            try:
                actor = store.get_actor(self.worker.tenant, self.worker.actor_id)
            except ActorNotFound:
                queue.release(delivery)
                return
            if actor.revision != self.worker.revision or actor.status == ActorStatus.SHUTTING_DOWN:
                # a newer worker serves the new image; this message is theirs (spec §7.9)
                queue.release(delivery)
                return
            execution = store.get_execution(actor.tenant, actor.id, delivery.execution_id)
            if execution.status == ExecutionStatus.RUNNING:
                # interrupted by a crash of the previous process: run it again
                execution = execution.replace(
                    status=ExecutionStatus.SUBMITTED, worker_id=None, start_time=None
                )
                store.update_execution(execution, expected=[ExecutionStatus.RUNNING])
            if execution.status != ExecutionStatus.SUBMITTED:
                queue.ack(delivery)  # already final (e.g. purged and marked ERROR)
                continue
            message = store.get_message(actor.tenant, actor.id, execution.id)
            if message is None:
                failed = execution.replace(
                    status=ExecutionStatus.ERROR, status_message="The message of this execution was lost."
                )
                store.update_execution(failed, expected=[ExecutionStatus.SUBMITTED])
                queue.ack(delivery)
                continue

            self._set_status(WorkerStatus.BUSY)
            self.runner = ExecutionRunner(self.p, actor, execution, message, self.worker)
            try:
                result = self.runner.run()
            finally:
                self.runner = None
            if result.outcome is Outcome.INTERRUPTED:
                queue.release(delivery)
                return
            if result.outcome is Outcome.IMAGE_MISSING:
                queue.release(delivery)  # first in line again once the actor is repaired
                self.p.set_actor_error(actor, result.reason)
                return
            if result.outcome is Outcome.RETRY:
                self.stop_requested.wait(actor.retry_delay)
                queue.release(delivery)  # back in its place: retries keep the order
                self._set_status(WorkerStatus.READY)
                continue
            queue.ack(delivery)
            self.p.pm.hook.abaco_execution_finished(execution=result.execution, exit_info=result.exit_info)
            if result.outcome is Outcome.COMPLETE:
                self._start_failures = 0
                self._set_status(WorkerStatus.READY, last_execution_time=self.p.clock())
                continue
            if result.outcome is Outcome.START_FAILED:
                self._start_failures += 1
                if self._start_failures > MAX_START_FAILURES:
                    self.p.set_actor_error(actor, result.reason)
                    return
                time.sleep(min(5.0, 0.5 * self._start_failures))
            self._set_status(WorkerStatus.READY)
