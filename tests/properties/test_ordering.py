"""The ordering state machine (DESIGN.md decision 5) against (a) the in-memory reference store
with the embedded local queue, and (b) the real peewee store on PostgreSQL with the Redis
queue. See abaco_harness.suites.ordering for the rules and the invariants."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from abaco_harness.fakes import MemoryStore
from abaco_harness.suites.ordering import ordering_test_case

from abaco_core.builtin.local_queue import LocalQueue

from ..queues.services import delete_prefix, postgres_schema, redis_url, require_redis, scratch_prefix
from .conftest import ordering_profile


class ScratchLocalQueue(LocalQueue):
    """A local queue in its own temporary directory, removed on close."""

    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="abaco-ordering-")
        # the queue is thrown away: skip the fsyncs that only matter for a power loss
        super().__init__(f"{self.tmpdir}/queue.db", synchronous="OFF")

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


TestOrderingMemoryLocal = ordering_test_case(
    ScratchLocalQueue, MemoryStore, name="MemoryLocalOrdering", settings=ordering_profile("ordering")
)


# -- PostgreSQL + Redis ---------------------------------------------------------------------------------

_services: dict[str, str] = {}


def _redis_queue():
    from abaco_redis.queue import RedisQueue

    class ScratchRedisQueue(RedisQueue):
        """A Redis queue under its own key prefix, its keys deleted on close."""

        def close(self) -> None:
            try:
                delete_prefix(self.prefix)
            finally:
                super().close()

    return ScratchRedisQueue(redis_url(), prefix=scratch_prefix())


def _postgres_store():
    from abaco_peewee.store import PeeweeStore

    return PeeweeStore(_services["postgres_url"])  # migrated once per class; a tenant per example


class TestOrderingPostgresRedis(
    ordering_test_case(
        _redis_queue,
        _postgres_store,
        name="PostgresRedisOrdering",
        settings=ordering_profile("ordering-services"),
    )
):
    pytestmark = [pytest.mark.postgres, pytest.mark.redis]

    @pytest.fixture(autouse=True)
    def _bind_services(self) -> Iterator[None]:
        require_redis()
        with postgres_schema() as url:
            from abaco_peewee.store import PeeweeStore

            store = PeeweeStore(url)
            store.migrate()
            store.close()
            _services["postgres_url"] = url
            try:
                yield
            finally:
                _services.pop("postgres_url", None)
