"""Frozen records that plugins contribute and backends exchange with the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .interfaces import AuthMethod, CommandChannel, ContainerBackend, Queue, Store
    from .settings import Settings

__all__ = [
    "CAPABILITIES",
    "AuthMethodInfo",
    "AuthRequest",
    "ContainerBackendInfo",
    "ContainerRef",
    "ContainerSpec",
    "Delivery",
    "ExecutionTotals",
    "ExitInfo",
    "Mount",
    "QueueInfo",
    "RuntimeStats",
    "SpawnCommand",
    "StoreInfo",
]

#: Capabilities a container backend may claim. The conformance kit skips the tests of a
#: capability a backend does not claim, and says so.
CAPABILITIES = frozenset(
    {
        "environment",  # passes the environment exactly
        "logs",  # stdout and stderr captured
        "exit_code",  # exit codes reported
        "stop",  # stop/kill a running container
        "memory_limit",  # mem_limit enforced
        "cpu_limit",  # max_cpus enforced
        "oom_reporting",  # OOMKilled reported truthfully
        "stats",  # cpu/io figures while running
        "user",  # run as uid:gid
        "mounts",  # bind mounts (FIFO, results socket, global mounts)
        "labels",  # labels kept and listable (orphan cleanup)
        "security",  # no_new_privileges, cap_drop and pids_limit enforced
    }
)


@dataclass(frozen=True)
class ContainerBackendInfo:
    """A container backend registered by ``abaco_container_backends``.

    ``factory`` is called lazily, with the settings, when the backend is chosen: building an
    SDK client may already talk to a daemon, so it must not happen at registration.
    ``probe`` answers, cheaply and without raising, whether this backend's engine seems
    present on this machine (used to pick an engine automatically).
    """

    name: str
    factory: Callable[[Settings], ContainerBackend]
    description: str = ""
    probe: Callable[[Settings], bool] | None = None
    #: lower numbers are tried first when the engine is found automatically
    priority: int = 100


@dataclass(frozen=True)
class StoreInfo:
    """A store registered by ``abaco_stores``. ``schemes`` are the database URL schemes it serves."""

    name: str
    factory: Callable[[Settings], Store]
    schemes: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class QueueInfo:
    """A queue registered by ``abaco_queues``.

    ``commands`` builds the channel that carries the spawner's commands ("start a worker
    for this actor") to the processes that run workers; without one, commands stay in the
    process that sends them (the embedded mode). With ``ABACO_QUEUE=auto`` (the default) the
    first queue, by ``priority``, whose ``probe`` answers true for the settings is chosen.
    """

    name: str
    factory: Callable[[Settings], Queue]
    description: str = ""
    commands: Callable[[Settings], CommandChannel] | None = None
    probe: Callable[[Settings], bool] | None = None
    priority: int = 100


@dataclass(frozen=True)
class SpawnCommand:
    """A "start a worker for this actor" command (spec §7.3): the worker record exists, ``REQUESTED``."""

    tenant: str
    actor_id: str
    worker_id: str
    revision: int
    #: once the new worker is READY, ask the actor's other workers to stop (spec §7.9)
    stop_existing: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "actor_id": self.actor_id,
            "worker_id": self.worker_id,
            "revision": self.revision,
            "stop_existing": self.stop_existing,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpawnCommand:
        return cls(
            tenant=str(data["tenant"]),
            actor_id=str(data["actor_id"]),
            worker_id=str(data["worker_id"]),
            revision=int(data["revision"]),
            stop_existing=bool(data.get("stop_existing", False)),
        )


@dataclass(frozen=True)
class AuthMethodInfo:
    """An authentication method registered by ``abaco_auth_methods`` (chosen by ``ABACO_AUTH``).

    ``factory`` is called once when the API is built, with the settings and the store (API
    tokens live there); it raises :class:`~abaco_core.errors.ConfigError` when the settings
    the method needs are missing or wrong, so a misconfigured server never starts.

    ``ambient`` marks a method that recognises a caller without any credential of theirs
    (``none``: whoever connects is an admin). A browser's request would then act on the
    user's behalf for whatever page sent it, so with such a method configured the API
    serves only requests from this machine (:class:`abaco_core.loopback.LocalOnly`) and its
    CORS answers name only local origins.
    """

    name: str
    factory: Callable[[Settings, Store], AuthMethod]
    description: str = ""
    ambient: bool = False


@dataclass(frozen=True)
class AuthRequest:
    """What an authentication method sees of an HTTP request: no web framework object.

    ``headers`` maps lower-case header names to their (first) value, in the order received;
    ``query`` maps each query parameter to its values.
    """

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, list[str]] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str
    read_only: bool = True


@dataclass
class ContainerSpec:
    """Everything a backend needs to run one actor container.

    ``environment`` values are final strings (``None`` means the variable is set with an
    empty value). ``cpus_nano`` is in Docker NanoCPUs; backends convert it as their engine
    requires. ``mem_limit`` is in bytes.
    """

    image: str
    environment: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    user: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    mem_limit: int | None = None
    cpus_nano: int | None = None
    privileged: bool = False
    network: str | None = None
    no_new_privileges: bool = True
    cap_drop: tuple[str, ...] = ()
    pids_limit: int | None = None


@dataclass(frozen=True)
class ContainerRef:
    """A handle on a container a backend created."""

    id: str
    backend: str
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExitInfo:
    """How a container ended.

    ``state`` is the engine's container state in Docker's shape (``Status``, ``Running``,
    ``Paused``, ``Restarting``, ``OOMKilled``, ``Dead``, ``Pid``, ``ExitCode``, ``Error``,
    ``StartedAt``, ``FinishedAt``), times as the engine reported them.
    """

    exit_code: int
    oom_killed: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeStats:
    """Cumulative figures of a running container: CPU nanoseconds and network bytes received."""

    cpu_ns: int = 0
    io_bytes: int = 0
    memory_bytes: int = 0


@dataclass(frozen=True)
class Delivery:
    """One message handed out by a queue, to be acknowledged or released."""

    actor_dbid: str
    execution_id: str
    token: str
    deliveries: int = 1


@dataclass(frozen=True)
class ExecutionTotals:
    count: int = 0
    cpu: int = 0
    io: int = 0
    runtime: int = 0
