"""Plain data that crosses module and plugin boundaries: actors, executions, workers.

These are the project's own records. Stores persist them, the API renders them, workers
update them; no SDK object or ORM row ever stands in for one.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Actor",
    "ActorStatus",
    "Execution",
    "ExecutionStatus",
    "Message",
    "Worker",
    "WorkerStatus",
    "EXECUTION_TRANSITIONS",
]


class ActorStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    READY = "READY"
    ERROR = "ERROR"
    SHUTTING_DOWN = "SHUTTING_DOWN"


class ExecutionStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"


#: Allowed execution status changes. ``RUNNING -> SUBMITTED`` happens when an execution
#: interrupted by a platform restart is put back on the queue to run again.
EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.SUBMITTED: frozenset(
        {ExecutionStatus.RUNNING, ExecutionStatus.ERROR, ExecutionStatus.COMPLETE}
    ),
    ExecutionStatus.RUNNING: frozenset(
        {ExecutionStatus.COMPLETE, ExecutionStatus.ERROR, ExecutionStatus.SUBMITTED}
    ),
    ExecutionStatus.COMPLETE: frozenset(),
    ExecutionStatus.ERROR: frozenset({ExecutionStatus.SUBMITTED}),
}


class WorkerStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"
    SPAWNER_SETUP = "SPAWNER SETUP"
    PULLING_IMAGE = "PULLING IMAGE"
    CREATING_CONTAINER = "CREATING CONTAINER"
    UPDATING_STORE = "UPDATING STORE"
    READY = "READY"
    BUSY = "BUSY"
    SHUTDOWN_REQUESTED = "SHUTDOWN_REQUESTED"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    ERROR = "ERROR"


@dataclass
class Actor:
    """A registered actor (spec §4.1)."""

    tenant: str
    id: str
    image: str
    owner: str
    name: str | None = None
    description: str = ""
    stateless: bool = True
    privileged: bool = False
    use_container_uid: bool = False
    default_environment: dict[str, Any] = field(default_factory=dict)
    token: bool | str = "false"
    hints: list[str] = field(default_factory=list)
    link: str = ""
    webhook: str = ""
    cron_schedule: str | None = None
    cron_on: bool = False
    cron_next_ex: str | None = None
    #: IANA time zone of a standard cron schedule (our extension)
    cron_timezone: str | None = None
    #: when the schedule was set: what a relative start (``now + 1 hour``) means
    cron_anchor: datetime | None = None
    queue: str = "default"
    max_workers: int | None = None
    max_cpus: int | None = None
    mem_limit: str | None = None
    log_ex: int | None = None
    type: str = "none"
    #: retries of an execution that fails for a platform reason (our extension)
    max_retries: int = 0
    #: seconds between two attempts
    retry_delay: float = 0.0
    #: also retry an execution whose container exits with a nonzero code
    retry_on_exit_code: bool = False
    state: Any = field(default_factory=dict)
    status: ActorStatus = ActorStatus.SUBMITTED
    status_message: str = ""
    revision: int = 1
    mounts: list[dict[str, str]] = field(default_factory=list)
    uid: str | None = None
    gid: str | None = None
    tasdir: str | None = None
    create_time: datetime | None = None
    last_update_time: datetime | None = None

    @property
    def dbid(self) -> str:
        return f"{self.tenant}_{self.id}"

    def replace(self, **changes: Any) -> Actor:
        return dataclasses.replace(self, **changes)


@dataclass
class Execution:
    """One run of an actor for one message (spec §4.2)."""

    tenant: str
    actor_id: str
    id: str
    executor: str
    api_server: str = ""
    status: ExecutionStatus = ExecutionStatus.SUBMITTED
    worker_id: str | None = None
    message_received_time: datetime | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    runtime: int = 0
    cpu: int = 0
    io: int = 0
    exit_code: int | str | None = None
    final_state: dict[str, Any] | None = None
    status_message: str = ""
    #: how many times a container was started for it (our extension)
    attempts: int = 0
    #: ended for good after a platform failure, its message kept for a redrive (our extension)
    dead_lettered: bool = False

    def replace(self, **changes: Any) -> Execution:
        return dataclasses.replace(self, **changes)


@dataclass
class Message:
    """What was sent to an actor, kept until its execution is final.

    ``payload`` is ``bytes`` for binary messages, otherwise the message value as parsed
    (a string or any JSON value). ``metadata`` holds the query parameters and the server
    metadata of spec §6.2; it becomes the container environment.
    """

    tenant: str
    actor_id: str
    execution_id: str
    payload: Any
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Worker:
    """A worker bound to one actor (spec §4.4)."""

    tenant: str
    actor_id: str
    id: str
    status: WorkerStatus = WorkerStatus.REQUESTED
    image: str = ""
    revision: int = 1
    location: str = ""
    cid: str = ""
    ch_name: str = ""
    host_id: str = ""
    host_ip: str = ""
    create_time: datetime | None = None
    last_execution_time: datetime | None = None
    last_health_check_time: datetime | None = None

    def replace(self, **changes: Any) -> Worker:
        return dataclasses.replace(self, **changes)
