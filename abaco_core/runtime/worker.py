"""A worker: a thread bound to one actor that runs its messages one at a time (spec §7.4)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..errors import AbacoError, ActorNotFound, ExecutionNotFound, WorkerNotFound
from ..models import ActorStatus, ExecutionStatus, Worker, WorkerStatus
from ..records import Delivery
from .runner import ExecutionRunner, Outcome

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["WorkerThread"]

log = logging.getLogger(__name__)

#: consecutive container-start failures after which the actor goes to ERROR (spec §7.4)
MAX_START_FAILURES = 5

#: the statuses a worker writes over; any other one (a stop request) wins over its writes
LIVE_STATUSES = (
    WorkerStatus.REQUESTED,
    WorkerStatus.SPAWNER_SETUP,
    WorkerStatus.PULLING_IMAGE,
    WorkerStatus.CREATING_CONTAINER,
    WorkerStatus.UPDATING_STORE,
    WorkerStatus.READY,
    WorkerStatus.BUSY,
)


class WorkerThread(threading.Thread):
    """Takes the actor's messages in order, one at a time, acknowledging each only after its
    execution is final. Stops after its current execution when asked (Q25)."""

    def __init__(self, platform: Platform, worker: Worker) -> None:
        super().__init__(name=f"worker-{worker.id}", daemon=True)
        self.p = platform
        self.worker = worker
        self.stop_requested = threading.Event()
        self.runner: ExecutionRunner | None = None
        self._held: Delivery | None = None
        self._start_failures = 0
        self._record_lock = threading.Lock()

    @property
    def consumer(self) -> str:
        return self.worker.id

    def request_stop(self) -> None:
        self.stop_requested.set()

    def _set_status(self, status: WorkerStatus, **changes: object) -> bool:
        """Whether it was written; ``False`` means the worker is to stop."""
        try:
            return self._write(status=status, **changes)
        except WorkerNotFound:
            return False

    def _write(self, **changes: object) -> bool:
        """Write this worker's record unless a stop was requested through it (by any
        process: its status is no longer a live one) or it was deleted; then stop."""
        with self._record_lock:
            updated = self.worker.replace(**changes)
            try:
                written = self.p.store.save_worker(updated, expected=LIVE_STATUSES)
            except WorkerNotFound:
                self.stop_requested.set()
                raise
            if written:
                self.worker = updated
            else:
                self.stop_requested.set()
            return written

    def heartbeat(self) -> None:
        """Record that this worker lives (spec §7.7, ``last_health_check_time``), and learn
        through the same write whether another process asked it to stop. A deleted record
        means the worker was declared dead or its actor deleted: its run is stopped at once,
        it is not its to finish."""
        try:
            self._write(last_health_check_time=self.p.clock())
        except WorkerNotFound:
            runner = self.runner
            if runner is not None:
                log.warning("worker %s: its record is gone; stopping its run", self.worker.id)
                threading.Thread(target=runner.interrupt, name="interrupt", daemon=True).start()
            return
        runner = self.runner
        if runner is not None and not runner.halting and self.p.commands.halt_requested(runner.execution.id):
            runner.halt()  # asked through another process (DELETE of the execution)

    def run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug: never die silently, never keep a message hostage
            log.exception("worker %s crashed", self.worker.id)
            self._give_back()
            try:
                self._set_status(WorkerStatus.ERROR)
            except AbacoError:  # WorkerNotFound too
                pass
        finally:
            self.p.pool.worker_exited(self)

    def _give_back(self) -> None:
        """Put the message this worker holds back in its place, if it holds one."""
        if self._held is not None:
            try:
                self.p.queue.release(self._held)
            except AbacoError as exc:
                log.error("worker %s could not release %s: %s", self.worker.id, self._held.execution_id, exc)
            self._held = None

    def _loop(self) -> None:
        """Take messages one at a time. A failing store, queue or engine does not end the
        worker: the message goes back in its place and the worker tries again, backing off."""
        actor_key = f"{self.worker.tenant}_{self.worker.actor_id}"
        backoff = 0.5
        while not self.stop_requested.is_set():
            try:
                self._held = self.p.queue.reserve(actor_key, self.consumer)
                if self._held is None:
                    if self.worker.status == WorkerStatus.BUSY:
                        self._set_status(WorkerStatus.READY)  # the backlog is done: idle now
                    self._held = self.p.queue.reserve(actor_key, self.consumer, timeout=0.5)
                    if self._held is None:
                        continue
                keep_going = self._handle(self._held)
                backoff = 0.5
            except AbacoError as exc:
                log.warning("worker %s: %s; retrying in %.1f s", self.worker.id, exc, backoff)
                self._give_back()
                self.stop_requested.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if not keep_going:
                return

    def _worker_exists(self, worker_id: str) -> bool:
        try:
            self.p.store.get_worker(self.worker.tenant, self.worker.actor_id, worker_id)
        except WorkerNotFound:
            return False
        return True

    def _settle(self, delivery: Delivery, *, ack: bool) -> None:
        if ack:
            self.p.queue.ack(delivery)
        else:
            self.p.queue.release(delivery)
        self._held = None

    def _handle(self, delivery: Delivery) -> bool:
        """Run one message; whether the worker goes on serving."""
        store = self.p.store
        if self.stop_requested.is_set():
            self._settle(delivery, ack=False)
            return False
        try:
            actor = store.get_actor(self.worker.tenant, self.worker.actor_id)
        except ActorNotFound:
            self._settle(delivery, ack=True)  # the actor is gone, and with it its inbox
            return False
        if actor.status == ActorStatus.SHUTTING_DOWN:
            self._settle(delivery, ack=True)
            return False
        if actor.revision != self.worker.revision:
            # a newer worker serves the new image; this message is theirs (spec §7.9)
            self._settle(delivery, ack=False)
            return False
        try:
            execution = store.get_execution(actor.tenant, actor.id, delivery.execution_id)
        except ExecutionNotFound:
            log.warning("dropping queued id %s: no such execution", delivery.execution_id)
            self._settle(delivery, ack=True)
            return True
        if execution.status == ExecutionStatus.RUNNING:
            if execution.worker_id and self._worker_exists(execution.worker_id):
                # a live worker runs it (a duplicate delivery): that run is the one
                log.warning("execution %s already runs on worker %s", execution.id, execution.worker_id)
                self._settle(delivery, ack=True)
                return True
            # its worker died mid-run: retried per the actor's policy, or ended ERROR
            execution = self.p.lose_execution(
                execution, f"worker {execution.worker_id} stopped during the execution"
            )
        if execution.status != ExecutionStatus.SUBMITTED:
            self._settle(delivery, ack=True)  # already final (e.g. purged and marked ERROR)
            return True
        message = store.get_message(actor.tenant, actor.id, execution.id)
        if message is None:
            failed = execution.replace(
                status=ExecutionStatus.ERROR, status_message="The message of this execution was lost."
            )
            store.update_execution(failed, expected=[ExecutionStatus.SUBMITTED])
            self._settle(delivery, ack=True)
            return True

        # a worker draining a backlog stays BUSY (one write less per execution); the write,
        # when there is one, also tells whether another process asked it to stop
        if self.worker.status != WorkerStatus.BUSY and not self._set_status(WorkerStatus.BUSY):
            self._settle(delivery, ack=False)  # asked to stop meanwhile: the next worker runs it
            return False
        self.runner = ExecutionRunner(self.p, actor, execution, message, self.worker)
        try:
            result = self.runner.run()
        finally:
            self.runner = None
        if result.outcome is Outcome.INTERRUPTED:
            self._settle(delivery, ack=False)
            return False
        if result.outcome is Outcome.LOST:
            # not ours any more; whoever owns it now holds its message (a stale release is a no-op)
            log.warning("worker %s gave up execution %s: %s", self.worker.id, execution.id, result.reason)
            self._settle(delivery, ack=False)
            return not self.stop_requested.is_set()
        if result.outcome is Outcome.IMAGE_MISSING:
            self._settle(delivery, ack=False)  # first in line again once the actor is repaired
            self.p.set_actor_error(actor, result.reason)
            return False
        if result.outcome is Outcome.RETRY:
            self.stop_requested.wait(actor.retry_delay)
            self._settle(delivery, ack=False)  # back in its place: retries keep the order
            self._set_status(WorkerStatus.READY)
            return True
        self._settle(delivery, ack=True)
        self.p.pm.hook.abaco_execution_finished(execution=result.execution, exit_info=result.exit_info)
        if result.outcome is Outcome.COMPLETE:
            self._start_failures = 0
            # BUSY while a backlog lasts: the record is written READY (with this time) when the
            # inbox is found empty, not twice per execution (see ``_loop``)
            self.worker = self.worker.replace(last_execution_time=self.p.clock())
            return True
        if result.outcome is Outcome.START_FAILED:
            self._start_failures += 1
            if self._start_failures > MAX_START_FAILURES:
                self.p.set_actor_error(actor, result.reason)
                return False
            self.stop_requested.wait(min(5.0, 0.5 * self._start_failures))
        self._set_status(WorkerStatus.READY)
        return True
