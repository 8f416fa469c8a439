"""abaco: actors as a service. The public surface for plugin authors is what this module exports."""

from .access import Identity
from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .hookspecs import hookimpl, hookspec
from .interfaces import AuthMethod, CommandChannel, ContainerBackend, Queue, Store
from .models import (
    Actor,
    ActorStatus,
    Execution,
    ExecutionStatus,
    Message,
    Worker,
    WorkerStatus,
)
from .records import (
    CAPABILITIES,
    AuthMethodInfo,
    AuthRequest,
    ContainerBackendInfo,
    ContainerRef,
    ContainerSpec,
    Delivery,
    ExecutionTotals,
    ExitInfo,
    Mount,
    QueueInfo,
    RuntimeStats,
    SpawnCommand,
    StoreInfo,
)
from .schedules import Due, Schedule
from .settings import Settings, SettingSpec, parse_bool, parse_list

__version__ = "0.1.0"

__all__ = [
    *_errors_all,
    "CAPABILITIES",
    "Actor",
    "CommandChannel",
    "ActorStatus",
    "AuthMethod",
    "AuthMethodInfo",
    "AuthRequest",
    "ContainerBackend",
    "ContainerBackendInfo",
    "ContainerRef",
    "ContainerSpec",
    "Delivery",
    "Due",
    "Execution",
    "ExecutionStatus",
    "ExecutionTotals",
    "ExitInfo",
    "Identity",
    "Message",
    "Mount",
    "Queue",
    "QueueInfo",
    "RuntimeStats",
    "Schedule",
    "SettingSpec",
    "Settings",
    "SpawnCommand",
    "Store",
    "StoreInfo",
    "Worker",
    "WorkerStatus",
    "hookimpl",
    "hookspec",
    "parse_bool",
    "parse_list",
]
