"""Spawner commands on RQ: "start a worker for actor X (revision R)" as RQ jobs.

The API and the scheduler enqueue one job per requested worker on the RQ queue named after
the actor's ``queue`` field (``<prefix>spawner:<queue>``); every ``abaco worker`` serving
that queue consumes them with :class:`CommandWorker`, an RQ ``SimpleWorker`` (no fork per
job, DESIGN.md decision 4). A job only *starts* a worker: the job function hands the command
to the process's worker pool, which starts a long-lived worker thread consuming the actor's
inbox (the Lua queue of :mod:`abaco_redis.queue`) and returns.

Jobs are acknowledged on receipt and never retried (spec §7.3): a job lost with its consumer
leaves a ``REQUESTED`` worker record, which the scheduler's health pass removes after
``ABACO_SPAWN_TIMEOUT``; the actor then gets a new worker. Jobs expire from their RQ queue
after the same time, so a queue nobody serves does not grow without bound.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis
import redis.exceptions as rex
from rq import Queue as RQQueue
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty, UnixSignalDeathPenalty

from abaco_core.errors import ConfigError, QueueUnavailable
from abaco_core.records import SpawnCommand

from .queue import display_url

__all__ = ["CommandWorker", "RQCommands", "start_worker"]

log = logging.getLogger(__name__)

#: the command handler of this process, bound by :meth:`RQCommands.serve` (an RQ job names
#: a function by import path, so the process's pool is reached through this one binding)
_handler: Callable[[SpawnCommand], None] | None = None


def start_worker(command: dict[str, Any]) -> str:
    """The RQ job function: hand the command to this process's worker pool."""
    handler = _handler
    if handler is None:
        raise RuntimeError("this RQ worker is not an abaco worker (no command handler bound)")
    parsed = SpawnCommand.from_dict(command)
    handler(parsed)
    return parsed.worker_id


class CommandWorker(SimpleWorker):
    """An RQ ``SimpleWorker`` that knows when it was asked to stop, and can run in a thread
    other than the main one (signal handlers are only installed in the main thread)."""

    abaco_stop: threading.Event | None = None

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

    def request_stop(self, signum: Any, frame: Any) -> None:
        if self.abaco_stop is not None:
            self.abaco_stop.set()
        super().request_stop(signum, frame)


class RQCommands:
    """The :class:`~abaco_core.interfaces.CommandChannel` on RQ."""

    name = "rq"
    distributed = True

    def __init__(self, url: str, *, prefix: str, ttl: float = 300.0) -> None:
        self.display_url = display_url(url)
        self.prefix = prefix
        self.ttl = max(1, int(ttl))
        try:
            # RQ stores pickled or JSON bytes: no decode_responses here
            self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"invalid Redis URL {self.display_url!r} for RQ: {exc}") from exc
        self._worker: CommandWorker | None = None

    def queue_name(self, queue: str) -> str:
        return f"{self.prefix}spawner:{queue}"

    def _rq_queue(self, queue: str) -> RQQueue:
        return RQQueue(self.queue_name(queue), connection=self._redis, serializer=JSONSerializer)

    def send(self, queue: str, command: SpawnCommand) -> None:
        try:
            self._rq_queue(queue).enqueue_call(
                "abaco_redis.commands.start_worker",
                args=(command.to_dict(),),
                ttl=self.ttl,
                timeout=self.ttl,  # the spawn may pull an image
                result_ttl=0,
                failure_ttl=3600,
                job_id=f"abaco-spawn-{command.worker_id}",
                description=f"start worker {command.worker_id} of actor {command.actor_id}",
            )
        except (rex.ConnectionError, rex.TimeoutError) as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} is unreachable; is redis-server running? "
                f"(send a spawner command: {exc})"
            ) from exc
        except rex.RedisError as exc:
            raise QueueUnavailable(f"Redis at {self.display_url} refused a spawner command: {exc}") from exc

    def _halt_key(self, execution_id: str) -> str:
        return f"{self.prefix}halt:{execution_id}"

    def request_halt(self, execution_id: str) -> None:
        """A flag the worker running the execution reads at its next heartbeat (kept one hour)."""
        try:
            self._redis.set(self._halt_key(execution_id), b"1", ex=3600)
        except rex.RedisError as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} is unreachable; is redis-server running? (halt an execution: {exc})"
            ) from exc

    def halt_requested(self, execution_id: str) -> bool:
        try:
            return bool(self._redis.exists(self._halt_key(execution_id)))
        except rex.RedisError as exc:
            raise QueueUnavailable(f"Redis at {self.display_url} is unreachable ({exc})") from exc

    def pending(self, queue: str) -> int:
        """Commands waiting on ``queue`` (for the autoscaler's ``max_cmd_length``)."""
        try:
            return int(self._rq_queue(queue).count)
        except rex.RedisError as exc:
            raise QueueUnavailable(f"Redis at {self.display_url} is unreachable ({exc})") from exc

    def serve(
        self, queues: Iterable[str], handler: Callable[[SpawnCommand], None], *, stop: threading.Event
    ) -> None:
        """Run an RQ worker on the command queues until ``stop`` is set or the process gets
        SIGINT/SIGTERM (then ``stop`` is set too). RQ waits out a Redis outage itself."""
        global _handler
        _handler = handler
        names = [self.queue_name(q) for q in queues]
        in_main = threading.current_thread() is threading.main_thread()
        while not stop.is_set():
            worker = CommandWorker(
                names,
                name=f"abaco-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
                connection=self._redis,
                serializer=JSONSerializer,
                # short: a stop requested from another thread is noticed within ~15 s
                worker_ttl=30,
                job_monitoring_interval=5,
                log_job_description=True,
            )
            worker.abaco_stop = stop
            # job timeouts by SIGALRM only work in the main thread
            worker.death_penalty_class = UnixSignalDeathPenalty if in_main else TimerDeathPenalty
            self._worker = worker
            try:
                worker.work(logging_level="WARNING", with_scheduler=False)
            except (rex.ConnectionError, rex.TimeoutError) as exc:
                log.warning("RQ command worker lost Redis at %s (%s); starting again", self.display_url, exc)
                stop.wait(1.0)
                continue
            finally:
                self._worker = None
            if not stop.is_set():
                log.warning("RQ command worker stopped unexpectedly; starting again")
                stop.wait(1.0)

    def stop(self) -> None:
        """Ask a worker serving in another thread to stop after its current command."""
        worker = self._worker
        if worker is not None:
            worker._stop_requested = True

    def close(self) -> None:
        self.stop()
        self._redis.close()
