"""The queue conformance suite bound to the embedded local queue and to the Redis queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from abaco_harness.suites.queue import QueueSuite

from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.interfaces import Queue

from .services import redis_scratch, redis_url


class TestLocalQueue(QueueSuite):
    @pytest.fixture
    def path(self, tmp_path: Path) -> str:
        return str(tmp_path / "queue.db")

    @pytest.fixture
    def queue(self, path: str) -> Iterator[Queue]:
        q = LocalQueue(path)
        yield q
        q.close()

    @pytest.fixture
    def reopen(self, path: str) -> Callable[[], Queue]:
        return lambda: LocalQueue(path)


class TestRedisQueue(QueueSuite):
    pytestmark = pytest.mark.redis

    @pytest.fixture
    def prefix(self) -> Iterator[str]:
        with redis_scratch() as prefix:
            yield prefix

    @pytest.fixture
    def queue(self, prefix: str) -> Iterator[Queue]:
        from abaco_redis.queue import RedisQueue

        q = RedisQueue(redis_url(), prefix=prefix)
        yield q
        q.close()

    @pytest.fixture
    def reopen(self, prefix: str) -> Callable[[], Queue]:
        from abaco_redis.queue import RedisQueue

        return lambda: RedisQueue(redis_url(), prefix=prefix)

    @pytest.fixture
    def shared_between_clients(self) -> bool:
        return True
