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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from abaco_core import (
    Actor,
    ActorNotFound,
    Conflict,
    ContainerBackendInfo,
    ContainerFailed,
    ContainerRef,
    ContainerSpec,
    Execution,
    ExecutionNotFound,
    ExecutionStatus,
    ExecutionTotals,
    ExitInfo,
    ImageNotFound,
    Message,
    ObjectNotFound,
    RuntimeStats,
    StoreInfo,
    Worker,
    WorkerNotFound,
    WorkerStatus,
    hookimpl,
)

__all__ = [
    "DEFAULT_PROGRAMS",
    "FAKE_IMAGES",
    "FakeBackend",
    "FakeRun",
    "MemoryStore",
    "Program",
    "abaco_container_backends",
    "abaco_stores",
    "echo_program",
    "emit_program",
    "exit_program",
    "sleep_program",
]


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
        self.cron_slots: dict[tuple[str, str], set[datetime]] = {}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.permissions: dict[tuple[str, str, str], dict[str, str]] = {}

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
            self.cron_slots.pop((tenant, actor_id), None)
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

    def count_executions(
        self, tenant: str, actor_id: str, *, statuses: Iterable[ExecutionStatus] | None = None
    ) -> int:
        wanted = set(statuses) if statuses is not None else None
        with self._lock:
            return sum(
                1
                for (t, a, _), e in self.executions.items()
                if t == tenant and a == actor_id and (wanted is None or e.status in wanted)
            )

    def update_execution(
        self,
        execution: Execution,
        *,
        expected: Iterable[ExecutionStatus] | None = None,
        expected_worker: str | None = None,
    ) -> bool:
        with self._lock:
            key = (execution.tenant, execution.actor_id, execution.id)
            current = self.executions.get(key)
            if current is None:
                return False
            if expected is not None and current.status not in set(expected):
                return False
            if expected_worker is not None and current.worker_id != expected_worker:
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

    def add_result(
        self, tenant: str, actor_id: str, execution_id: str, data: bytes, created: datetime
    ) -> None:
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

    def record_cron_slot(self, tenant: str, actor_id: str, slot: datetime, fired: datetime) -> bool:
        with self._lock:
            slots = self.cron_slots.setdefault((tenant, actor_id), set())
            if slot in slots:
                return False
            slots.add(slot)
            return True

    def last_cron_slot(self, tenant: str, actor_id: str) -> datetime | None:
        with self._lock:
            slots = self.cron_slots.get((tenant, actor_id))
            return max(slots) if slots else None

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

    def save_worker(self, worker: Worker, *, expected: Iterable[WorkerStatus] | None = None) -> bool:
        with self._lock:
            key = (worker.tenant, worker.actor_id, worker.id)
            if key not in self.workers:
                raise WorkerNotFound("Worker not found.")
            if expected is not None and self.workers[key].status not in set(expected):
                return False
            self.workers[key] = copy.deepcopy(worker)
            return True

    def delete_worker(self, tenant: str, actor_id: str, worker_id: str) -> None:
        with self._lock:
            self.workers.pop((tenant, actor_id, worker_id), None)

    def create_object(self, tenant: str, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        with self._lock:
            if (tenant, kind, key) in self.objects:
                raise Conflict(f"{kind} {key!r} already exists in tenant {tenant!r}")
            self.objects[(tenant, kind, key)] = copy.deepcopy(dict(doc))

    def get_object(self, tenant: str, kind: str, key: str) -> dict[str, Any]:
        with self._lock:
            try:
                return copy.deepcopy(self.objects[(tenant, kind, key)])
            except KeyError:
                raise ObjectNotFound(f"no {kind} {key!r} in tenant {tenant!r}") from None

    def list_objects(self, tenant: str | None, kind: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [
                (k, copy.deepcopy(doc))
                for (t, kd, k), doc in self.objects.items()
                if kd == kind and (tenant is None or t == tenant)
            ]

    def update_object(
        self, tenant: str, kind: str, key: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any]:
        with self._lock:
            current = self.get_object(tenant, kind, key)
            new = change(copy.deepcopy(current))
            if new is not None:
                self.objects[(tenant, kind, key)] = copy.deepcopy(new)
                current = new
            return copy.deepcopy(current)

    def delete_object(self, tenant: str, kind: str, key: str) -> bool:
        with self._lock:
            return self.objects.pop((tenant, kind, key), None) is not None

    def get_permissions(self, tenant: str, kind: str, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self.permissions.get((tenant, kind, key), {}))

    def set_permission(self, tenant: str, kind: str, key: str, username: str, level: str) -> None:
        with self._lock:
            self.permissions.setdefault((tenant, kind, key), {})[username] = level

    def delete_permissions(self, tenant: str, kind: str, key: str) -> None:
        with self._lock:
            self.permissions.pop((tenant, kind, key), None)

    def permissions_of(self, tenant: str, kind: str, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
        wanted = set(usernames)
        with self._lock:
            found: dict[str, dict[str, str]] = {}
            for (t, kd, k), entries in self.permissions.items():
                if t == tenant and kd == kind:
                    mine = {u: lv for u, lv in entries.items() if u in wanted}
                    if mine:
                        found[k] = mine
            return found

    def executions_of(self, tenant: str, actor_ids: Iterable[str]) -> list[Execution]:
        wanted = set(actor_ids)
        with self._lock:
            return [
                copy.deepcopy(e) for (t, a, _), e in self.executions.items() if t == tenant and a in wanted
            ]

    def logs_of(self, tenant: str, actor_ids: Iterable[str], now: datetime) -> list[tuple[str, str, str]]:
        wanted = set(actor_ids)
        with self._lock:
            return [
                (a, e, text)
                for (t, a, e), (text, expires) in self.logs.items()
                if t == tenant and a in wanted and (expires is None or expires > now)
            ]

    def execution_totals_by_actor(self) -> dict[tuple[str, str], ExecutionTotals]:
        totals: dict[tuple[str, str], ExecutionTotals] = {}
        with self._lock:
            for (t, a, _), e in self.executions.items():
                seen = totals.get((t, a), ExecutionTotals(0, 0, 0, 0))
                totals[(t, a)] = ExecutionTotals(
                    seen.count + 1, seen.cpu + e.cpu, seen.io + e.io, seen.runtime + e.runtime
                )
        return totals


#: ``ExitInfo.exit_code`` of a container ended by SIGTERM / SIGKILL
_TERM_EXIT, _KILL_EXIT = 143, 137


@dataclass(frozen=True)
class FakeRun:
    """What one fake container does. ``early`` is its output at once; ``late`` is printed when
    it ends by itself after ``duration`` seconds, with ``exit_code``. SIGTERM ends it at once
    with ``on_term`` printed and 143; when ``on_term`` is ``None`` it ignores SIGTERM, so a stop
    kills it (137) after the grace period."""

    early: bytes = b""
    late: bytes = b""
    exit_code: int = 0
    duration: float = 0.0
    on_term: bytes | None = b""


#: the program of a fake image: its environment (image's, then the spec's) → what it does
Program = Callable[[Mapping[str, str]], FakeRun]


def _number(env: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(env.get(key) or default)
    except ValueError:
        return default


def echo_program(env: Mapping[str, str]) -> FakeRun:
    """``MSG=$MSG`` and the sorted environment; lasts ``$FAKE_SLEEP`` s, exits ``$EXIT_CODE`` (0)."""
    lines = [f"MSG={env.get('MSG', '')}", *sorted(f"{k}={v}" for k, v in env.items())]
    return FakeRun(
        early=("\n".join(lines) + "\n").encode(),
        exit_code=int(_number(env, "EXIT_CODE", 0)),
        duration=_number(env, "FAKE_SLEEP", 0),
    )


def exit_program(env: Mapping[str, str]) -> FakeRun:
    """``MSG=$MSG`` on stdout, ``exiting with N`` on stderr, exit ``N = $EXIT_CODE`` (3)."""
    code = env.get("EXIT_CODE") or "3"
    return FakeRun(early=f"MSG={env.get('MSG', '')}\nexiting with {code}\n".encode(), exit_code=int(code))


def sleep_program(env: Mapping[str, str]) -> FakeRun:
    """Sleeps ``$SLEEP`` s (2), then prints ``MSG=$MSG``; SIGTERM: ``terminated``, 143, unless
    ``IGNORE_TERM=1``."""
    return FakeRun(
        late=f"MSG={env.get('MSG', '')}\n".encode(),
        duration=_number(env, "SLEEP", 2),
        on_term=None if env.get("IGNORE_TERM") == "1" else b"terminated\n",
    )


def emit_program(env: Mapping[str, str]) -> FakeRun:
    """``$STDOUT`` ``$REPEAT`` times, then ``$STDERR``; exit ``$EXIT_CODE`` (0)."""
    out = env.get("STDOUT", "") * int(_number(env, "REPEAT", 1)) + env.get("STDERR", "")
    return FakeRun(early=out.encode(), exit_code=int(_number(env, "EXIT_CODE", 0)))


#: the conformance kit's image roles, as the fake's own images
FAKE_IMAGES: Mapping[str, str] = MappingProxyType(
    {
        "echo": "abaco-fake/echo:1",
        "exit": "abaco-fake/exit:1",
        "sleep": "abaco-fake/sleep:1",
        "emit": "abaco-fake/emit:1",
        "missing": "abaco-fake/no-such-image:1",
    }
)

#: the images a :class:`FakeBackend` has unless told otherwise
DEFAULT_PROGRAMS: Mapping[str, Program] = MappingProxyType(
    {
        "abaco-test/busybox:1": echo_program,
        FAKE_IMAGES["echo"]: echo_program,
        FAKE_IMAGES["exit"]: exit_program,
        FAKE_IMAGES["sleep"]: sleep_program,
        FAKE_IMAGES["emit"]: emit_program,
    }
)

#: every fake image's own environment (a real image's ``ENV``)
IMAGE_ENVIRONMENT: Mapping[str, str] = MappingProxyType({"PATH": "/usr/local/bin:/usr/bin:/bin"})


@dataclass
class _FakeContainer:
    spec: ContainerSpec
    id: str
    run: FakeRun
    started: float  # monotonic
    started_at: datetime
    #: monotonic time it ends (or ended); a stop brings it forward
    end: float
    #: how it ends: "exit" (by itself), "term" (SIGTERM) or "kill" (SIGKILL)
    ending: str = "exit"

    def outcome(self) -> tuple[int, bytes]:
        if self.ending == "term":
            return _TERM_EXIT, self.run.early + (self.run.on_term or b"")
        if self.ending == "kill":
            return _KILL_EXIT, self.run.early
        return self.run.exit_code, self.run.early + self.run.late


class FakeBackend:
    """The :class:`~abaco_core.interfaces.ContainerBackend` contract in memory: it runs nothing.

    A container of image ``I`` can start when ``I`` is one of :attr:`images`, each of which maps
    to a :data:`Program` (the environment → a :class:`FakeRun`). Time passes for real: a
    container lasting two seconds is "running" for two seconds. ``images`` may also be a list
    of names, each then an :func:`echo_program` image.
    """

    name = "fake"
    capabilities = frozenset({"environment", "logs", "exit_code", "stop", "labels"})
    location = "fake://"
    #: the images the conformance kit uses in zero-code mode (``--abaco-backend=fake``)
    conformance_images = FAKE_IMAGES

    def __init__(
        self,
        images: Mapping[str, Program] | Iterable[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if images is None:
            images = DEFAULT_PROGRAMS
        self.images: dict[str, Program] = (
            dict(images) if isinstance(images, Mapping) else dict.fromkeys(images, echo_program)
        )
        self.containers: dict[str, _FakeContainer] = {}
        self._clock = clock
        self._changed = threading.Condition()

    def ping(self) -> None:
        pass

    def image_exists(self, image: str) -> bool:
        return image in self.images

    def ensure_image(self, image: str) -> None:
        if image not in self.images:
            raise ImageNotFound(f"Image {image!r} not found (the fake backend cannot pull).")

    def start(self, spec: ContainerSpec) -> ContainerRef:
        self.ensure_image(spec.image)
        env = {**IMAGE_ENVIRONMENT, **{k: "" if v is None else v for k, v in spec.environment.items()}}
        run = self.images[spec.image](env)
        now = self._clock()
        container = _FakeContainer(
            spec=spec,
            id=uuid.uuid4().hex,
            run=run,
            started=now,
            started_at=datetime.now(UTC),
            end=now + max(run.duration, 0.0),
        )
        with self._changed:
            self.containers[container.id] = container
        return self._ref(container)

    def _ref(self, c: _FakeContainer) -> ContainerRef:
        return ContainerRef(c.id, self.name, c.spec.name, dict(c.spec.labels))

    def _get(self, ref: ContainerRef) -> _FakeContainer:
        try:
            return self.containers[ref.id]
        except KeyError:
            raise ContainerFailed(f"no container {ref.id} on the fake backend") from None

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        deadline = None if timeout is None else self._clock() + max(timeout, 0.0)
        with self._changed:
            while True:
                c = self._get(ref)
                now = self._clock()
                if now >= c.end:
                    break
                if deadline is not None and now >= deadline:
                    return None
                self._changed.wait(c.end - now if deadline is None else min(c.end, deadline) - now)
            code, _ = c.outcome()
            finished_at = c.started_at + timedelta(seconds=c.end - c.started)
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
            "StartedAt": _rfc3339(c.started_at),
            "FinishedAt": _rfc3339(finished_at),
        }
        return ExitInfo(exit_code=code, started_at=c.started_at, finished_at=finished_at, state=state)

    def logs(self, ref: ContainerRef) -> bytes:
        with self._changed:
            c = self._get(ref)
            if self._clock() < c.end:
                return c.run.early
            return c.outcome()[1]

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        with self._changed:
            c = self.containers.get(ref.id)
            if c is None or self._clock() >= c.end:
                return None
            return RuntimeStats(cpu_ns=int((self._clock() - c.started) * 1e9), io_bytes=0, memory_bytes=1)

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        with self._changed:
            c = self.containers.get(ref.id)
            now = self._clock()
            if c is None or now >= c.end:
                return  # gone or exited: nothing to stop
            if c.run.on_term is not None:
                c.end, c.ending = now, "term"
            elif now + max(grace, 0.0) < c.end:
                c.end, c.ending = now + max(grace, 0.0), "kill"
            self._changed.notify_all()

    def remove(self, ref: ContainerRef) -> None:
        with self._changed:
            self.containers.pop(ref.id, None)
            self._changed.notify_all()

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        with self._changed:
            return [
                self._ref(c)
                for c in self.containers.values()
                if all(c.spec.labels.get(k) == v for k, v in labels.items())
            ]

    def close(self) -> None:
        pass


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@hookimpl
def abaco_container_backends() -> list[ContainerBackendInfo]:
    return [ContainerBackendInfo("fake", lambda settings: FakeBackend(), "in-memory reference backend")]


@hookimpl
def abaco_stores() -> list[StoreInfo]:
    return [StoreInfo("memory", lambda settings: MemoryStore(), ("memory",), "in-memory reference store")]
