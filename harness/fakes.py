"""Reference implementations of the plugin contracts, in memory.

They define the expected behaviour in the simplest terms, let the conformance suites test
themselves, and let unit tests run without an engine or a database. They are never used in
place of the real parts in an integration test.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from abaco_core import (
    Actor,
    ActorNotFound,
    Conflict,
    ContainerBackendInfo,
    ContainerRef,
    ContainerSpec,
    Execution,
    ExecutionNotFound,
    ExecutionStatus,
    ExecutionTotals,
    ExitInfo,
    ImageNotFound,
    Message,
    RuntimeStats,
    StoreInfo,
    Worker,
    WorkerNotFound,
    hookimpl,
)

__all__ = ["FakeBackend", "MemoryStore", "abaco_container_backends", "abaco_stores"]


class MemoryStore:
    """The :class:`~abaco_core.interfaces.Store` contract on dicts, guarded by one lock."""

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.actors: dict[tuple[str, str], Actor] = {}
        self.executions: dict[tuple[str, str, str], Execution] = {}
        self.messages: dict[tuple[str, str, str], Message] = {}
        self.logs: dict[tuple[str, str, str], tuple[str, datetime | None]] = {}
        self.workers: dict[tuple[str, str, str], Worker] = {}
        self.results: dict[tuple[str, str, str], list[tuple[datetime, bytes]]] = {}

    def migrate(self) -> None:
        pass

    def schema_version(self) -> int:
        return 1

    def close(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def create_actor(self, actor: Actor) -> None:
        with self._lock:
            key = (actor.tenant, actor.id)
            if key in self.actors:
                raise Conflict(f"actor {actor.id} exists")
            self.actors[key] = copy.deepcopy(actor)

    def get_actor(self, tenant: str, actor_id: str) -> Actor:
        with self._lock:
            try:
                return copy.deepcopy(self.actors[(tenant, actor_id)])
            except KeyError:
                raise ActorNotFound(f"No actor found with id: {actor_id}.") from None

    def list_actors(self, tenant: str | None) -> list[Actor]:
        with self._lock:
            return [copy.deepcopy(a) for (t, _), a in self.actors.items() if tenant is None or t == tenant]

    def save_actor(self, actor: Actor) -> None:
        with self._lock:
            key = (actor.tenant, actor.id)
            if key not in self.actors:
                raise ActorNotFound(f"No actor found with id: {actor.id}.")
            self.actors[key] = copy.deepcopy(actor)

    def delete_actor(self, tenant: str, actor_id: str) -> None:
        with self._lock:
            self.actors.pop((tenant, actor_id), None)
            for table in (self.workers, self.logs, self.messages, self.results):
                for key in [k for k in table if k[:2] == (tenant, actor_id)]:
                    del table[key]

    def create_execution(self, execution: Execution, message: Message) -> None:
        with self._lock:
            key = (execution.tenant, execution.actor_id, execution.id)
            if key in self.executions:
                raise Conflict(f"execution {execution.id} exists")
            self.executions[key] = copy.deepcopy(execution)
            self.messages[key] = copy.deepcopy(message)

    def get_execution(self, tenant: str, actor_id: str, execution_id: str) -> Execution:
        with self._lock:
            try:
                return copy.deepcopy(self.executions[(tenant, actor_id, execution_id)])
            except KeyError:
                raise ExecutionNotFound(f"No execution {execution_id}.") from None

    def list_executions(
        self,
        tenant: str,
        actor_id: str,
        *,
        statuses: Iterable[ExecutionStatus] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Execution]:
        wanted = set(statuses) if statuses is not None else None
        with self._lock:
            found = [
                copy.deepcopy(e)
                for (t, a, _), e in self.executions.items()
                if t == tenant and a == actor_id and (wanted is None or e.status in wanted)
            ]
        return found[offset : None if limit is None else offset + limit]

    def executions_with_status(self, statuses: Iterable[ExecutionStatus]) -> list[Execution]:
        wanted = set(statuses)
        with self._lock:
            return [copy.deepcopy(e) for e in self.executions.values() if e.status in wanted]

    def execution_totals(self, tenant: str, actor_id: str) -> ExecutionTotals:
        found = self.list_executions(tenant, actor_id)
        return ExecutionTotals(
            len(found), sum(e.cpu for e in found), sum(e.io for e in found), sum(e.runtime for e in found)
        )

    def update_execution(
        self, execution: Execution, *, expected: Iterable[ExecutionStatus] | None = None
    ) -> bool:
        with self._lock:
            key = (execution.tenant, execution.actor_id, execution.id)
            current = self.executions.get(key)
            if current is None:
                return False
            if expected is not None and current.status not in set(expected):
                return False
            self.executions[key] = copy.deepcopy(execution)
            return True

    def get_message(self, tenant: str, actor_id: str, execution_id: str) -> Message | None:
        with self._lock:
            return copy.deepcopy(self.messages.get((tenant, actor_id, execution_id)))

    def delete_message(self, tenant: str, actor_id: str, execution_id: str) -> None:
        with self._lock:
            self.messages.pop((tenant, actor_id, execution_id), None)

    def set_logs(
        self, tenant: str, actor_id: str, execution_id: str, logs: str, expires_at: datetime | None
    ) -> None:
        with self._lock:
            self.logs[(tenant, actor_id, execution_id)] = (logs, expires_at)

    def get_logs(self, tenant: str, actor_id: str, execution_id: str, now: datetime) -> str:
        with self._lock:
            text, expires = self.logs.get((tenant, actor_id, execution_id), ("", None))
        return "" if expires is not None and expires <= now else text

    def expire_logs(self, now: datetime) -> int:
        with self._lock:
            gone = [k for k, (_, exp) in self.logs.items() if exp is not None and exp <= now]
            for key in gone:
                del self.logs[key]
            return len(gone)

    def add_result(self, tenant: str, actor_id: str, execution_id: str, data: bytes, created: datetime) -> None:
        with self._lock:
            self.results.setdefault((tenant, actor_id, execution_id), []).append((created, bytes(data)))

    def pop_result(self, tenant: str, actor_id: str, execution_id: str, not_before: datetime) -> bytes | None:
        with self._lock:
            queue = self.results.get((tenant, actor_id, execution_id), [])
            while queue:
                created, data = queue.pop(0)
                if created >= not_before:
                    return data
            return None

    def expire_results(self, before: datetime) -> int:
        with self._lock:
            gone = 0
            for key, queue in self.results.items():
                kept = [(c, d) for c, d in queue if c >= before]
                gone += len(queue) - len(kept)
                self.results[key] = kept
            return gone

    def add_worker(self, worker: Worker, *, max_workers: int | None = None) -> bool:
        with self._lock:
            if (worker.tenant, worker.actor_id) not in self.actors:
                return False
            if max_workers is not None:
                have = sum(1 for k in self.workers if k[:2] == (worker.tenant, worker.actor_id))
                if have >= max_workers:
                    return False
            self.workers[(worker.tenant, worker.actor_id, worker.id)] = copy.deepcopy(worker)
            return True

    def get_worker(self, tenant: str, actor_id: str, worker_id: str) -> Worker:
        with self._lock:
            try:
                return copy.deepcopy(self.workers[(tenant, actor_id, worker_id)])
            except KeyError:
                raise WorkerNotFound("Worker not found.") from None

    def list_workers(self, tenant: str | None, actor_id: str | None = None) -> list[Worker]:
        with self._lock:
            return [
                copy.deepcopy(w)
                for (t, a, _), w in self.workers.items()
                if (tenant is None or t == tenant) and (actor_id is None or a == actor_id)
            ]

    def save_worker(self, worker: Worker) -> None:
        with self._lock:
            key = (worker.tenant, worker.actor_id, worker.id)
            if key not in self.workers:
                raise WorkerNotFound("Worker not found.")
            self.workers[key] = copy.deepcopy(worker)

    def delete_worker(self, tenant: str, actor_id: str, worker_id: str) -> None:
        with self._lock:
            self.workers.pop((tenant, actor_id, worker_id), None)


@dataclass
class _FakeContainer:
    spec: ContainerSpec
    id: str
    started: float
    duration: float
    exit_code: int
    output: bytes
    stopped: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class FakeBackend:
    """A container backend that runs nothing: a "container" of image ``I`` exists when ``I``
    is in :attr:`images`, prints ``MSG=<MSG>`` and its sorted environment, lasts
    ``$FAKE_SLEEP`` seconds (default 0) and exits with ``$EXIT_CODE`` (default 0)."""

    name = "fake"
    capabilities = frozenset({"environment", "logs", "exit_code", "stop", "labels"})
    location = "fake://"

    def __init__(self, images: Iterable[str] = ("abaco-test/busybox:1",)) -> None:
        self.images = set(images)
        self.containers: dict[str, _FakeContainer] = {}
        self._lock = threading.Lock()

    def ping(self) -> None:
        pass

    def image_exists(self, image: str) -> bool:
        return image in self.images

    def ensure_image(self, image: str) -> None:
        if image not in self.images:
            raise ImageNotFound(f"Image {image!r} not found (the fake backend cannot pull).")

    def start(self, spec: ContainerSpec) -> ContainerRef:
        self.ensure_image(spec.image)
        env = spec.environment
        lines = [f"MSG={env.get('MSG') or ''}"] + sorted(f"{k}={v or ''}" for k, v in env.items())
        container = _FakeContainer(
            spec=spec,
            id=uuid.uuid4().hex,
            started=time.monotonic(),
            duration=float(env.get("FAKE_SLEEP") or 0),
            exit_code=int(env.get("EXIT_CODE") or 0),
            output=("\n".join(lines) + "\n").encode(),
        )
        with self._lock:
            self.containers[container.id] = container
        return ContainerRef(container.id, self.name, spec.name, dict(spec.labels))

    def _get(self, ref: ContainerRef) -> _FakeContainer:
        with self._lock:
            return self.containers[ref.id]

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        c = self._get(ref)
        end = c.started + c.duration
        remaining = end - time.monotonic()
        if not c.finished.is_set() and remaining > 0:
            c.finished.wait(remaining if timeout is None else min(remaining, timeout))
        if not c.finished.is_set() and time.monotonic() < end:
            return None
        c.finished.set()
        code = 143 if c.stopped is not None else c.exit_code
        now = datetime.now(UTC).isoformat()
        state = {
            "Status": "exited",
            "Running": False,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": 0,
            "ExitCode": code,
            "Error": "",
            "StartedAt": now,
            "FinishedAt": now,
        }
        return ExitInfo(exit_code=code, state=state)

    def logs(self, ref: ContainerRef) -> bytes:
        return self._get(ref).output

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        c = self._get(ref)
        return None if c.finished.is_set() else RuntimeStats(cpu_ns=1, io_bytes=0)

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        c = self._get(ref)
        if not c.finished.is_set():
            c.stopped = time.monotonic()
            c.finished.set()

    def remove(self, ref: ContainerRef) -> None:
        with self._lock:
            self.containers.pop(ref.id, None)

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        with self._lock:
            return [
                ContainerRef(c.id, self.name, c.spec.name, dict(c.spec.labels))
                for c in self.containers.values()
                if all(c.spec.labels.get(k) == v for k, v in labels.items())
            ]

    def close(self) -> None:
        pass


@hookimpl
def abaco_container_backends() -> list[ContainerBackendInfo]:
    return [ContainerBackendInfo("fake", lambda settings: FakeBackend(), "in-memory reference backend")]


@hookimpl
def abaco_stores() -> list[StoreInfo]:
    return [StoreInfo("memory", lambda settings: MemoryStore(), ("memory",), "in-memory reference store")]
