"""The in-process command channel: spawner commands handled by the process that sends them.

This is the embedded mode's channel (``abaco up`` on the local or the plain ``redis`` queue):
a command goes to a small thread pool of this process, exactly as a command sent through RQ
goes to an ``abaco worker`` process (``abaco_redis.commands``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..records import SpawnCommand

__all__ = ["LocalCommands"]

log = logging.getLogger(__name__)


class LocalCommands:
    name = "local"
    distributed = False

    def __init__(self, threads: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spawner")
        self._handler: Callable[[SpawnCommand], None] | None = None
        self._lock = threading.Lock()

    def bind(self, handler: Callable[[SpawnCommand], None]) -> None:
        """The handler of this process (its worker pool); commands sent before are dropped."""
        with self._lock:
            self._handler = handler

    def send(self, queue: str, command: SpawnCommand) -> None:
        with self._lock:
            handler = self._handler
        if handler is None:
            log.warning("no worker pool in this process: command for worker %s dropped", command.worker_id)
            return
        try:
            self._executor.submit(handler, command)
        except RuntimeError:  # shutting down
            log.info("shutting down: command for worker %s dropped", command.worker_id)

    def serve(
        self, queues: Iterable[str], handler: Callable[[SpawnCommand], None], *, stop: threading.Event
    ) -> None:
        self.bind(handler)
        stop.wait()

    def request_halt(self, execution_id: str) -> None:
        """Nothing to send: the pool of this process halts its own runs directly."""

    def halt_requested(self, execution_id: str) -> bool:
        return False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
