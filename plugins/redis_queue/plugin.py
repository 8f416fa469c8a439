"""Registers the Redis queues and their settings.

* ``rq`` (the cluster queue, chosen automatically when ``ABACO_REDIS_URL`` is set): actor
  inboxes in Redis, spawner commands as RQ jobs consumed by ``abaco worker`` processes.
* ``redis``: the same inboxes, spawner commands handled in the sending process (one process
  on a shared Redis).

Kept cheap to import: redis-py and rq are imported only when a queue is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abaco_core import hookimpl
from abaco_core.records import QueueInfo
from abaco_core.settings import SettingSpec

if TYPE_CHECKING:
    from abaco_core.interfaces import CommandChannel, Queue
    from abaco_core.settings import Settings

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "abaco:q:"


def _url(settings: Settings) -> str:
    return settings.get("redis_url") or DEFAULT_URL


def _prefix(settings: Settings) -> str:
    return settings.get("redis_queue_prefix") or DEFAULT_PREFIX


def _build(settings: Settings) -> Queue:
    from .queue import RedisQueue

    return RedisQueue(_url(settings), prefix=_prefix(settings))


def _commands(settings: Settings) -> CommandChannel:
    from .commands import RQCommands

    return RQCommands(_url(settings), prefix=_prefix(settings), ttl=settings.spawn_timeout)


@hookimpl
def abaco_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "redis_url",
            "",
            f"Redis URL of the Redis queues (default {DEFAULT_URL}); setting it chooses the cluster "
            "queue rq. redis://[user:password@]host:port/db, rediss:// for TLS, unix:///path.sock?db=N; "
            "query parameters such as socket_timeout go to redis-py",
        ),
        SettingSpec(
            "redis_queue_prefix",
            DEFAULT_PREFIX,
            "prefix of every Redis key the redis queue writes, and of its RQ queue names "
            "(several platforms can share one Redis)",
        ),
    ]


@hookimpl
def abaco_queues() -> list[QueueInfo]:
    return [
        QueueInfo(
            "rq",
            _build,
            "cluster: per-actor FIFO inboxes on Redis, spawner commands on RQ for abaco worker processes",
            commands=_commands,
            probe=lambda settings: bool(settings.get("redis_url")),
            priority=10,
        ),
        QueueInfo(
            "redis",
            _build,
            "durable per-actor FIFO inboxes on Redis; spawner commands stay in the sending process",
        ),
    ]
