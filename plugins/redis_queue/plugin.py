"""Registers the ``redis`` queue (``ABACO_QUEUE=redis``) and its settings.

Kept cheap to import: redis-py is imported only when the queue is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abaco_core import hookimpl
from abaco_core.records import QueueInfo
from abaco_core.settings import SettingSpec

if TYPE_CHECKING:
    from abaco_core.interfaces import Queue
    from abaco_core.settings import Settings

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "abaco:q:"


def _build(settings: Settings) -> Queue:
    from .queue import RedisQueue

    return RedisQueue(
        settings.get("redis_url", DEFAULT_URL) or DEFAULT_URL,
        prefix=settings.get("redis_queue_prefix", DEFAULT_PREFIX) or DEFAULT_PREFIX,
    )


@hookimpl
def abaco_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "redis_url",
            DEFAULT_URL,
            "Redis URL of the redis queue (redis://[user:password@]host:port/db, rediss:// for TLS, "
            "unix:///path.sock?db=N); query parameters such as socket_timeout go to redis-py",
        ),
        SettingSpec(
            "redis_queue_prefix",
            DEFAULT_PREFIX,
            "prefix of every Redis key the redis queue writes (several platforms can share one Redis)",
        ),
    ]


@hookimpl
def abaco_queues() -> list[QueueInfo]:
    return [
        QueueInfo(
            "redis",
            _build,
            "durable per-actor FIFO inboxes on Redis, shared by every API and worker process (cluster)",
        )
    ]
