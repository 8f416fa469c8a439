"""Wake-ups for requests waiting on an execution (synchronous messages).

Workers of the same process notify at once when a result arrives or the execution ends;
waiters also re-check on a short timer, which is all they get when the worker runs in
another process.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

__all__ = ["ExecutionSignals"]


class ExecutionSignals:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(list)

    def register(self, execution_id: str) -> asyncio.Event:
        """An event set whenever something happens to the execution; call from a running loop."""
        event = asyncio.Event()
        with self._lock:
            self._waiters[execution_id].append((asyncio.get_running_loop(), event))
        return event

    def unregister(self, execution_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = [w for w in self._waiters.get(execution_id, []) if w[1] is not event]
            if waiters:
                self._waiters[execution_id] = waiters
            else:
                self._waiters.pop(execution_id, None)

    def notify(self, execution_id: str) -> None:
        """Thread-safe: wake every waiter of the execution."""
        with self._lock:
            waiters = list(self._waiters.get(execution_id, ()))
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
