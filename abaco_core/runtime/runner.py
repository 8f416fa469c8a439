"""Running one execution: one fresh container, supervised until it exits (spec §7.4, §8)."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..actor_fields import mem_limit_bytes
from ..environment import BINARY, build_environment
from ..errors import AbacoError, BackendError, ContainerFailed, ImageNotFound
from ..models import Actor, Execution, ExecutionStatus, Message, Worker
from ..records import ContainerRef, ContainerSpec, ExitInfo, Mount, RuntimeStats
from ..timefmt import display, parse_engine_time
from .channels import FIFO_MOUNT, RESULTS_MOUNT, BinaryFifo, EmptyMessage, ResultsSocket

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["ExecutionRunner", "Outcome", "RunResult"]

log = logging.getLogger(__name__)

TRUNCATION_SUFFIX = " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
_HARD_LOG_CAP = 1_000_000


class Outcome(StrEnum):
    COMPLETE = "COMPLETE"  # the container ran, whatever its exit code
    ERROR = "ERROR"  # platform failure; the execution is ERROR
    START_FAILED = "START_FAILED"  # the container could not be started; the execution is ERROR
    IMAGE_MISSING = "IMAGE_MISSING"  # the actor's image is gone; the execution is ERROR
    INTERRUPTED = "INTERRUPTED"  # the platform stopped mid-run; the execution is queued again
    RETRY = "RETRY"  # a failed attempt with retries left; the execution is queued again
    LOST = "LOST"  # the execution is no longer this worker's (declared dead, taken over, ended)


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    execution: Execution
    reason: str = ""
    exit_info: ExitInfo | None = None


def cap_logs(text: str, max_length: int) -> str:
    if len(text) > _HARD_LOG_CAP or len(text) > max_length:
        return text[:max_length] + TRUNCATION_SUFFIX
    return text


class ExecutionRunner:
    """Supervises the container of one execution. ``halt`` and ``interrupt`` may be called
    from other threads."""

    def __init__(
        self, platform: Platform, actor: Actor, execution: Execution, message: Message, worker: Worker
    ):
        self.p = platform
        self.actor = actor
        self.execution = execution
        self.message = message
        self.worker = worker
        self.ref: ContainerRef | None = None
        self._halted = threading.Event()
        self._interrupted = threading.Event()
        self._started = threading.Event()
        self._exited = threading.Event()
        self.fifo: BinaryFifo | EmptyMessage | None = None
        self.results: ResultsSocket | None = None

    # -- control from other threads ---------------------------------------------------------

    @property
    def halting(self) -> bool:
        return self._halted.is_set()

    def halt(self) -> None:
        """Stop the container, in the background; the execution still ends ``COMPLETE``
        (spec §8.11). Returns at once: a stop may take the engine's grace period."""
        self._halted.set()
        threading.Thread(target=self._stop_container, name="halt", daemon=True).start()

    def interrupt(self) -> None:
        """Stop the container because the platform stops; the execution will run again."""
        self._interrupted.set()
        self._stop_container()

    def _stop_container(self) -> None:
        if self.ref is not None:
            try:
                self.p.backend.stop(self.ref, grace=self.p.settings.stop_grace)
            except AbacoError as exc:
                log.warning("could not stop container %s: %s", self.ref.id, exc)

    # -- the run ------------------------------------------------------------------------------

    def build_spec(self) -> ContainerSpec:
        actor, settings = self.actor, self.p.settings
        env = build_environment(
            actor=actor,
            execution=self.execution,
            message=self.message,
            worker=self.worker,
            actor_configs=self.p.configs.for_actor(actor),
        )
        mem = actor.mem_limit if actor.mem_limit is not None else settings.mem_limit
        cpus = actor.max_cpus if actor.max_cpus is not None else settings.max_cpus
        user = None
        if not actor.use_container_uid and actor.uid:
            user = f"{actor.uid}:{actor.gid}" if actor.gid else actor.uid
        spec = ContainerSpec(
            image=actor.image,
            environment=env,
            labels={
                "abaco.platform": self.p.instance_id,
                "abaco.actor": actor.id,
                "abaco.execution": self.execution.id,
                "abaco.worker": self.worker.id,
            },
            # unique per run: a previous attempt's container may still be being removed
            name=f"abaco_{actor.id}_{self.execution.id}_{self.execution.attempts}_{uuid.uuid4().hex[:6]}",
            user=user,
            mem_limit=mem_limit_bytes(mem),
            cpus_nano=None if cpus in (None, -1) else int(cpus),
            privileged=actor.privileged,
            network=settings.container_network,
            mounts=[
                Mount(m["host_path"], m["container_path"], read_only=m.get("mode", "ro") != "rw")
                for m in actor.mounts
            ],
            no_new_privileges=settings.no_new_privileges and not actor.privileged,
            cap_drop=() if actor.privileged else tuple(settings.cap_drop),
            pids_limit=settings.pids_limit if settings.pids_limit > 0 else None,
        )
        self.p.pm.hook.abaco_prepare_container(
            spec=spec, actor=actor, execution=self.execution, message=self.message
        )
        return spec

    def run(self) -> RunResult:
        """Run once. Whatever happens, the channels are closed and the container removed;
        an unexpected error propagates (the worker then puts the message back)."""
        try:
            return self._run()
        except BaseException:
            self._exited.set()
            self._close_channels()
            self._remove()
            raise

    def _run(self) -> RunResult:
        store, backend, clock = self.p.store, self.p.backend, self.p.clock
        # this run is one more attempt, whether or not its container starts
        self.execution = self.execution.replace(attempts=self.execution.attempts + 1)
        try:
            spec = self.build_spec()
            self._open_channels(spec)
            self.ref = backend.start(spec)
        except ImageNotFound as exc:
            self._close_channels()
            return self._fail(Outcome.IMAGE_MISSING, f"Error executing container: {exc}")
        except (ContainerFailed, BackendError) as exc:
            self._close_channels()
            return self._fail(Outcome.START_FAILED, f"Error executing container: {exc}")
        except (AbacoError, ValueError, OSError) as exc:
            self._close_channels()
            return self._fail(Outcome.ERROR, f"Could not prepare the container: {exc}")
        self._started.set()
        if self.fifo is not None:
            self.fifo.feed(lambda: not self._exited.is_set())
        started_mono = time.monotonic()
        running = self.execution.replace(
            status=ExecutionStatus.RUNNING,
            start_time=clock(),
            worker_id=self.worker.id,
        )
        if not store.update_execution(running, expected=[ExecutionStatus.SUBMITTED]):
            # someone else changed it since it was read: it is not ours to run any more
            self._stop_container()
            self._exited.set()
            self._close_channels()
            self._remove()
            return RunResult(Outcome.LOST, self.execution, "the execution changed before it started")
        self.execution = running
        self.p.pm.hook.abaco_execution_started(execution=running, container=self.ref)
        if self._interrupted.is_set() or self._halted.is_set():
            self._stop_container()
        try:
            exit_info, stats = self._supervise(started_mono)
            self._exited.set()
            raw_logs = backend.logs(self.ref)
        except AbacoError as exc:
            self._exited.set()
            self._close_channels()
            self._remove()
            return self._fail(Outcome.ERROR, f"Lost the container while it ran: {exc}")
        supervised = time.monotonic() - started_mono
        # results sent up to the exit are stored before the execution is final (sync messages
        # look for one when they see COMPLETE)
        self._close_channels()

        if self._interrupted.is_set() and not self._halted.is_set():
            self._remove()
            requeued = self.execution.replace(
                status=ExecutionStatus.SUBMITTED, start_time=None, worker_id=None
            )
            if not self._write(requeued):
                return RunResult(Outcome.LOST, self.execution, "the execution changed while it ran")
            return RunResult(Outcome.INTERRUPTED, requeued, "platform shut down during the execution")

        logs = cap_logs(raw_logs.decode("utf-8", errors="replace"), self.p.settings.max_log_length)
        store.set_logs(
            self.actor.tenant, self.actor.id, self.execution.id, logs, self.p.log_expiry(self.actor)
        )
        failed_exit = exit_info.exit_code != 0 and self.actor.retry_on_exit_code and not self._halted.is_set()
        if failed_exit and self.execution.attempts <= self.actor.max_retries:
            self._remove()
            return self._requeue(Outcome.RETRY, f"the container exited with {exit_info.exit_code}")
        finished = self._finalize(exit_info, stats, supervised)
        if failed_exit:
            # retries used up: it ran, so it is COMPLETE, and its message stays for a redrive
            finished = finished.replace(dead_lettered=True)
        if not self._write(finished):
            self._remove()
            return RunResult(Outcome.LOST, self.execution, "the execution changed while it ran")
        self.execution = finished
        self.p.signals.notify(finished.id)
        if not finished.dead_lettered:
            store.delete_message(self.actor.tenant, self.actor.id, self.execution.id)
        self._remove()
        return RunResult(Outcome.COMPLETE, finished, exit_info=exit_info)

    def _open_channels(self, spec: ContainerSpec) -> None:
        """The results socket (always) and the FIFO (binary messages), mounted at the
        contract paths; they live under the data dir, per worker and execution."""
        base = os.path.join(self.p.settings.data_dir, "run", self.worker.id)
        tenant, actor_id, execution_id = self.actor.tenant, self.actor.id, self.execution.id

        def store_result(data: bytes) -> None:
            self.p.store.add_result(tenant, actor_id, execution_id, data, self.p.clock())
            self.p.signals.notify(execution_id)

        self.results = ResultsSocket(os.path.join(base, f"{execution_id}.sock"), store_result)
        spec.mounts.append(Mount(self.results.path, RESULTS_MOUNT, read_only=False))
        if self.message.content_type == BINARY:
            payload = bytes(self.message.payload)
            path = os.path.join(base, f"{execution_id}.fifo")
            self.fifo = BinaryFifo(path, payload) if payload else EmptyMessage(path)
            spec.mounts.append(Mount(self.fifo.path, FIFO_MOUNT, read_only=True))

    def _close_channels(self) -> None:
        for channel in (self.fifo, self.results):
            if channel is not None:
                try:
                    channel.close()
                except OSError as exc:
                    log.warning("closing %s: %s", channel.path, exc)
        self.fifo = self.results = None

    def _supervise(self, started_mono: float) -> tuple[ExitInfo, RuntimeStats | None]:
        """Wait for the exit; meanwhile capture logs every ``log_poll_interval`` seconds and
        enforce ``max_run_time``. Stats are sampled by a separate thread, because one sample
        may take up to a second on some engines and must never delay noticing the exit."""
        backend, settings = self.p.backend, self.p.settings
        assert self.ref is not None
        sampler = _StatsSampler(backend, self.ref)
        max_run = settings.max_run_time
        next_logs = started_mono + settings.log_poll_interval
        stopped_for_time = sampling = False
        try:
            while True:
                info = backend.wait(self.ref, timeout=1.0)
                if info is not None:
                    return info, sampler.latest
                if not sampling:
                    # the first sample is due about a second after the start: a run that ends
                    # sooner never starts the sampler's thread
                    sampler.start()
                    sampling = True
                now = time.monotonic()
                if now >= next_logs:
                    next_logs = now + settings.log_poll_interval
                    self._capture_partial_logs()
                if max_run > 0 and not stopped_for_time and now - started_mono > max_run:
                    stopped_for_time = True
                    self._halted.set()
                    self._stop_container()
        finally:
            sampler.done.set()

    def _capture_partial_logs(self) -> None:
        """Logs so far, for readers of a running execution; a failure here only delays them."""
        assert self.ref is not None
        try:
            partial = self.p.backend.logs(self.ref).decode("utf-8", errors="replace")
            self.p.store.set_logs(
                self.actor.tenant,
                self.actor.id,
                self.execution.id,
                cap_logs(partial, self.p.settings.max_log_length),
                self.p.log_expiry(self.actor),
            )
        except AbacoError as exc:
            log.warning("could not capture the logs of %s so far: %s", self.execution.id, exc)

    def _finalize(self, info: ExitInfo, stats: RuntimeStats | None, supervised: float) -> Execution:
        start = info.started_at or self.execution.start_time
        finish = info.finished_at
        if finish is None and start is not None:
            finish = start + timedelta(seconds=supervised)
        state: dict[str, Any] = dict(info.state)
        for key in ("StartedAt", "FinishedAt"):
            if key in state:
                state[key] = (
                    display(parse_engine_time(state[key])) if isinstance(state[key], str) else state[key]
                )
        return self.execution.replace(
            status=ExecutionStatus.COMPLETE,
            start_time=start,
            finish_time=finish,
            runtime=int(supervised),
            cpu=stats.cpu_ns if stats else 0,
            io=stats.io_bytes if stats else 0,
            exit_code=info.exit_code,
            final_state=state or {"unavailable": True},
        )

    def _fail(self, outcome: Outcome, reason: str) -> RunResult:
        """A platform failure. A missing image puts the message back (the actor goes to
        ``ERROR`` and the message runs once it is repaired); with retries left the execution
        is queued again; otherwise it ends ``ERROR``, dead-lettered (our extension)."""
        if outcome is Outcome.IMAGE_MISSING:
            return self._requeue(outcome, reason, count=False)
        attempts = self.execution.attempts
        if attempts <= self.actor.max_retries:
            return self._requeue(Outcome.RETRY, reason)
        failed = self.execution.replace(
            status=ExecutionStatus.ERROR,
            status_message=reason if attempts == 1 else f"{reason} (after {attempts} attempts)",
            worker_id=self.worker.id,
            finish_time=self.p.clock(),
            attempts=attempts,
            dead_lettered=True,
        )
        if not self._write(failed):
            return RunResult(Outcome.LOST, self.execution, reason)
        self.execution = failed
        self.p.signals.notify(failed.id)
        return RunResult(outcome, failed, reason)

    def _requeue(self, outcome: Outcome, reason: str, *, count: bool = True) -> RunResult:
        """Back to ``SUBMITTED``: the worker puts the message back in its place."""
        attempts = self.execution.attempts if count else self.execution.attempts - 1
        note = (
            f"attempt {attempts} failed: {reason}; it will be retried" if count else f"{reason}; queued again"
        )
        again = self.execution.replace(
            status=ExecutionStatus.SUBMITTED, status_message=note, start_time=None, attempts=attempts
        )
        if not self._write(again):
            return RunResult(Outcome.LOST, self.execution, reason)
        self.execution = again
        return RunResult(outcome, again, reason)

    def _write(self, updated: Execution) -> bool:
        """Compare-and-set from the status this run knows: ``SUBMITTED`` before the container
        started, ``RUNNING`` *by this worker* after. ``False``: the execution is not this
        worker's any more (it was declared dead and the run went to another worker, or the
        actor was deleted), and nothing was written."""
        if self.execution.status == ExecutionStatus.RUNNING:
            return self.p.store.update_execution(
                updated, expected=[ExecutionStatus.RUNNING], expected_worker=self.worker.id
            )
        return self.p.store.update_execution(updated, expected=[ExecutionStatus.SUBMITTED])

    def _remove(self) -> None:
        """Remove the container in the background: the worker takes its next message at once."""
        if self.ref is None or self.p.settings.leave_containers:
            return
        self.p.reap(self.ref)


class _StatsSampler(threading.Thread):
    """Samples a running container's cumulative figures about once a second."""

    def __init__(self, backend: object, ref: ContainerRef, interval: float = 1.0) -> None:
        super().__init__(name=f"stats-{ref.id[:12]}", daemon=True)
        self.backend = backend
        self.ref = ref
        self.interval = interval
        self.done = threading.Event()
        self.latest: RuntimeStats | None = None

    def run(self) -> None:
        # started about a second after the container (see ``_supervise``): sample at once
        while not self.done.is_set():
            try:
                sample = self.backend.stats(self.ref)  # type: ignore[attr-defined]
            except AbacoError:
                return
            if sample is None:
                return
            # figures are cumulative; an engine may report zeros once the container exited
            if self.latest is None or sample.cpu_ns >= self.latest.cpu_ns:
                self.latest = sample
            self.done.wait(self.interval)
