"""The protocols that backend, store and queue objects implement.

Hooks register these objects; the hot path calls their methods directly (DESIGN.md,
decision 1). Every method raises only errors from :mod:`abaco_core.errors`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .access import Identity
from .models import Actor, Execution, ExecutionStatus, Message, Worker, WorkerStatus
from .records import (
    AuthRequest,
    ContainerRef,
    ContainerSpec,
    Delivery,
    ExecutionTotals,
    ExitInfo,
    RuntimeStats,
    SpawnCommand,
)

__all__ = ["AuthMethod", "CommandChannel", "ContainerBackend", "Queue", "Store"]


@runtime_checkable
class AuthMethod(Protocol):
    """Recognises the caller of a request (spec §3.1); built by an :class:`AuthMethodInfo`.

    ``authenticate`` returns the caller, or ``None`` when the request carries no credential
    this method understands (the next configured method is tried, then a nonce). A credential
    that is this method's but cannot be accepted (a revoked API token) raises
    :class:`~abaco_core.errors.AuthenticationFailed`. It runs on the API's event loop: keep it
    to a store read and some computation.
    """

    name: str

    def authenticate(self, request: AuthRequest) -> Identity | None:
        """The caller, ``None`` when this method does not recognise the request."""


@runtime_checkable
class ContainerBackend(Protocol):
    """Runs actor containers on one container engine."""

    name: str
    #: subset of :data:`abaco_core.records.CAPABILITIES`
    capabilities: frozenset[str]
    #: where the engine is, shown as a worker's ``location``
    location: str

    def ping(self) -> None:
        """Raise :class:`BackendUnavailable` unless the engine answers."""

    def image_exists(self, image: str) -> bool:
        """Whether ``image`` is present locally."""

    def ensure_image(self, image: str) -> None:
        """Make ``image`` available (pulling it if the engine can); raise :class:`ImageNotFound`."""

    def start(self, spec: ContainerSpec) -> ContainerRef:
        """Create and start a container; raise :class:`ImageNotFound` or :class:`ContainerFailed`."""

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        """Wait for the container to exit; ``None`` when it still runs after ``timeout`` seconds."""

    def logs(self, ref: ContainerRef) -> bytes:
        """stdout and stderr so far, interleaved as the engine keeps them."""

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        """One sample of cumulative figures, or ``None`` when the container no longer runs."""

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Stopping an exited container is a no-op."""

    def remove(self, ref: ContainerRef) -> None:
        """Remove the container (force); removing a missing container is a no-op."""

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        """Containers (running or not) carrying every given label."""

    def close(self) -> None:
        """Release clients and connections."""


@runtime_checkable
class Store(Protocol):
    """Durable records: actors, executions, their messages and logs, workers."""

    name: str

    def migrate(self) -> None:
        """Create or upgrade the schema to the current version (idempotent)."""

    def schema_version(self) -> int: ...

    def close(self) -> None: ...

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers."""

    # actors
    def create_actor(self, actor: Actor) -> None:
        """Insert; raise :class:`Conflict` if the id exists in the tenant."""

    def get_actor(self, tenant: str, actor_id: str) -> Actor:
        """Raise :class:`ActorNotFound`."""

    def list_actors(self, tenant: str | None) -> list[Actor]:
        """Actors of a tenant (every tenant for ``None``), in creation order."""

    def save_actor(self, actor: Actor) -> None:
        """Overwrite an existing actor; raise :class:`ActorNotFound`."""

    def delete_actor(self, tenant: str, actor_id: str) -> None:
        """Delete the actor, its workers and its logs; executions are kept."""

    # executions and their messages
    def create_execution(self, execution: Execution, message: Message) -> None:
        """Insert the execution and its message in one transaction."""

    def get_execution(self, tenant: str, actor_id: str, execution_id: str) -> Execution:
        """Raise :class:`ExecutionNotFound`."""

    def list_executions(
        self,
        tenant: str,
        actor_id: str,
        *,
        statuses: Iterable[ExecutionStatus] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Execution]:
        """Executions of an actor in insertion order."""

    def executions_with_status(self, statuses: Iterable[ExecutionStatus]) -> list[Execution]:
        """Every execution, of every actor, in one of ``statuses`` (for recovery)."""

    def execution_totals(self, tenant: str, actor_id: str) -> ExecutionTotals: ...

    def count_executions(
        self, tenant: str, actor_id: str, *, statuses: Iterable[ExecutionStatus] | None = None
    ) -> int:
        """How many executions of the actor (in one of ``statuses``) there are."""

    def update_execution(
        self,
        execution: Execution,
        *,
        expected: Iterable[ExecutionStatus] | None = None,
        expected_worker: str | None = None,
    ) -> bool:
        """Overwrite the execution; with ``expected``, only if its stored status is one of
        them, and with ``expected_worker``, only if its stored ``worker_id`` is that worker
        (compare-and-set: a worker declared dead cannot finish a run another worker took
        over). Return whether it was written."""

    def get_message(self, tenant: str, actor_id: str, execution_id: str) -> Message | None: ...

    def delete_message(self, tenant: str, actor_id: str, execution_id: str) -> None: ...

    # logs
    def set_logs(
        self, tenant: str, actor_id: str, execution_id: str, logs: str, expires_at: datetime | None
    ) -> None: ...

    def get_logs(self, tenant: str, actor_id: str, execution_id: str, now: datetime) -> str:
        """The logs, or ``""`` when there are none or they expired."""

    def expire_logs(self, now: datetime) -> int:
        """Delete expired logs; return how many."""

    # results
    def add_result(
        self, tenant: str, actor_id: str, execution_id: str, data: bytes, created: datetime
    ) -> None:
        """Append one result (a datagram the container sent) to the execution's results."""

    def pop_result(self, tenant: str, actor_id: str, execution_id: str, not_before: datetime) -> bytes | None:
        """Remove and return the oldest result created at or after ``not_before`` (older ones
        have expired), or ``None``. Concurrent pops never return the same result twice."""

    def expire_results(self, before: datetime) -> int:
        """Delete results created before ``before``; return how many."""

    # cron
    def record_cron_slot(self, tenant: str, actor_id: str, slot: datetime, fired: datetime) -> bool:
        """Record that the actor's cron slot ``slot`` was handled; ``False`` if it already was."""

    def last_cron_slot(self, tenant: str, actor_id: str) -> datetime | None:
        """The latest slot recorded for the actor, or ``None``."""

    # workers
    def add_worker(self, worker: Worker, *, max_workers: int | None = None) -> bool:
        """Insert a worker unless the actor already has ``max_workers`` workers (atomically);
        return whether it was inserted. ``False`` too when the actor does not exist (a late
        worker never outlives a concurrent ``delete_actor``)."""

    def get_worker(self, tenant: str, actor_id: str, worker_id: str) -> Worker:
        """Raise :class:`WorkerNotFound`."""

    def list_workers(self, tenant: str | None, actor_id: str | None = None) -> list[Worker]: ...

    def save_worker(self, worker: Worker, *, expected: Iterable[WorkerStatus] | None = None) -> bool:
        """Overwrite; raise :class:`WorkerNotFound` if it was deleted meanwhile. With
        ``expected``, only if its stored status is one of them (compare-and-set): return
        whether it was written."""

    def delete_worker(self, tenant: str, actor_id: str, worker_id: str) -> None:
        """Deleting a missing worker (like a missing actor or message) is a no-op."""

    # search and accounting (spec §5.12, §5.14)
    def executions_of(self, tenant: str, actor_ids: Iterable[str]) -> list[Execution]:
        """The executions of the given actors of a tenant, in insertion order."""

    def logs_of(self, tenant: str, actor_ids: Iterable[str], now: datetime) -> list[tuple[str, str, str]]:
        """``(actor_id, execution_id, logs)`` of every log of the given actors of a tenant that
        has not expired at ``now``, oldest first."""

    def execution_totals_by_actor(self) -> dict[tuple[str, str], ExecutionTotals]:
        """The totals of every ``(tenant, actor_id)`` that has executions, in every tenant,
        deleted actors included (their executions are kept)."""

    # objects: aliases, nonces, configs, tokens, event deliveries ... (JSON documents by kind)
    def create_object(self, tenant: str, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        """Insert a document; raise :class:`Conflict` if ``(tenant, kind, key)`` exists
        (atomic create-if-absent, Q34)."""

    def get_object(self, tenant: str, kind: str, key: str) -> dict[str, Any]:
        """Raise :class:`ObjectNotFound`."""

    def list_objects(self, tenant: str | None, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """``(key, doc)`` of every object of a kind (every tenant for ``None``), oldest first."""

    def update_object(
        self,
        tenant: str,
        kind: str,
        key: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> dict[str, Any]:
        """Read-modify-write one document atomically (across threads and processes):
        ``change`` gets the stored document and returns the new one (``None``: keep it).
        An exception raised by ``change`` aborts and propagates. Return the stored result;
        raise :class:`ObjectNotFound`."""

    def delete_object(self, tenant: str, kind: str, key: str) -> bool:
        """Delete; return whether it existed."""

    # permissions, one level per (object, user) (spec §3.3)
    def get_permissions(self, tenant: str, kind: str, key: str) -> dict[str, str]:
        """``{username: LEVEL}`` in the order the entries were first made (empty: none)."""

    def set_permission(self, tenant: str, kind: str, key: str, username: str, level: str) -> None:
        """Create or replace one user's entry."""

    def delete_permissions(self, tenant: str, kind: str, key: str) -> None: ...

    def permissions_of(self, tenant: str, kind: str, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
        """For every object of a kind in the tenant that has an entry for one of
        ``usernames``: ``{key: {username: LEVEL}}`` (those entries only)."""


@runtime_checkable
class Queue(Protocol):
    """Per-actor FIFO inboxes of execution ids, durable and at-least-once.

    A message is :meth:`put` once the execution record exists. :meth:`reserve` hands the
    oldest ready message of an actor to one consumer; it stays invisible to others until
    it is acknowledged (:meth:`ack`, gone) or released (:meth:`release`, back in its place
    at the head of the inbox).
    """

    name: str

    def put(self, actor_dbid: str, execution_id: str) -> None: ...

    def reserve(self, actor_dbid: str, consumer: str, timeout: float = 0.0) -> Delivery | None:
        """Oldest ready message of the actor, waiting up to ``timeout`` seconds."""

    def ack(self, delivery: Delivery) -> None: ...

    def release(self, delivery: Delivery) -> None: ...

    def count(self, actor_dbid: str) -> int:
        """Messages waiting (reserved ones are not counted)."""

    def purge(self, actor_dbid: str) -> list[str]:
        """Remove every waiting message of the actor; return their execution ids."""

    def recover(self, consumers: Iterable[str] | None = None) -> int:
        """Release reservations held by ``consumers`` (every reservation for ``None``),
        used after those consumers died. Return how many were released."""

    def ping(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class CommandChannel(Protocol):
    """Carries spawner commands from the processes that decide a worker is needed (API,
    scheduler) to the processes that run workers (spec §7.3). One channel per worker queue
    name (the actor's ``queue`` field); commands are acknowledged on receipt, never retried:
    a command lost with its consumer leaves a ``REQUESTED`` record that the health pass
    removes after ``ABACO_SPAWN_TIMEOUT``."""

    name: str
    #: whether commands reach other processes (``False``: handled in the sending process)
    distributed: bool

    def send(self, queue: str, command: SpawnCommand) -> None:
        """Hand the command to a consumer of ``queue``; raise :class:`QueueUnavailable`."""

    def serve(
        self, queues: Iterable[str], handler: Callable[[SpawnCommand], None], *, stop: threading.Event
    ) -> None:
        """Consume the commands of ``queues`` and call ``handler`` for each, one at a time,
        until ``stop`` is set (or the process is signalled); blocks."""

    def request_halt(self, execution_id: str) -> None:
        """Ask whichever process runs the execution to halt it (distributed channels)."""

    def halt_requested(self, execution_id: str) -> bool:
        """Whether a halt of the execution was requested (read at each heartbeat)."""

    def close(self) -> None: ...
