"""Two schedulers against the same real store (SQLite file, PostgreSQL): each due slot
produces exactly one execution."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from abaco_harness.fakes import FakeBackend
from abaco_peewee.store import PeeweeStore

from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.cron import cron_execution_id
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings

T0 = datetime(2030, 5, 17, 9, 20, tzinfo=UTC)


def postgres_url() -> str:
    url = os.environ.get("ABACO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("ABACO_REQUIRE_POSTGRES") == "1":
            pytest.fail("ABACO_TEST_POSTGRES_URL is not set and ABACO_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip("ABACO_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.db"
    url = postgres_url()
    store = PeeweeStore(url)
    store.migrate()
    with store.database.connection_context():
        for table in (
            "abaco_cron_fires",
            "abaco_results",
            "abaco_logs",
            "abaco_messages",
            "abaco_workers",
            "abaco_executions",
            "abaco_actors",
        ):
            store.database.execute_sql(f"DELETE FROM {table}")
    store.close()
    return url


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def scheduler(tmp_path, url: str, n: int, clock: Clock) -> Platform:
    settings = Settings(data_dir=str(tmp_path / f"s{n}"), database_url=url, init_count=0, cron_interval=0)
    store = PeeweeStore(url)
    store.migrate()
    return Platform(
        settings, build_plugin_manager(), store, LocalQueue(str(tmp_path / f"q{n}.db")), FakeBackend(), clock
    )


def test_two_schedulers_fire_each_slot_once(tmp_path, db_url):
    clock = Clock()
    first, second = scheduler(tmp_path, db_url, 1, clock), scheduler(tmp_path, db_url, 2, clock)
    try:
        actors = [
            first.register_actor(
                parse_actor_fields(
                    FieldSource(json={"image": "abaco-test/busybox:1", "cron_schedule": schedule})
                ),
                tenant="t",
                owner="o",
            )
            for schedule in ("now + 1 hour", "*/10 * * * *", "2030-05-17 11 + 2 hours")
        ]
        # both schedulers pass every 7 minutes of simulated time for 12 hours, racing each other
        for step in range(0, 12 * 60, 7):
            clock.now = T0 + timedelta(minutes=step)
            threads = [threading.Thread(target=p.cron.tick, args=(clock.now,)) for p in (first, second)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        end = clock.now
        for actor in actors:
            runs = [e for e in first.store.list_executions("t", actor.id) if e.executor == "cron"]
            schedule = first.cron.schedule_of(actor)
            # the slots due by the end, each at most once, and every pass caught up
            ids = [e.id for e in runs]
            assert len(ids) == len(set(ids))
            slots = []
            slot = schedule.first_at_or_after(schedule.origin or T0)
            while slot <= end:
                slots.append(slot)
                slot = schedule.next_after(slot)
            expected = {cron_execution_id("t", actor.id, s) for s in slots}
            assert set(ids) <= expected
            # passes come every 7 minutes: an hourly or two-hourly slot never waits for a
            # later one, so every slot ran; the 10-minute schedule skips a slot when two fall
            # between passes (one catch-up run each time)
            if actor.cron_schedule != "*/10 * * * *":
                assert set(ids) == expected, (actor.cron_schedule, len(ids), len(expected))
            else:
                assert len(ids) >= 12 * 60 // 14
    finally:
        first.stop()
        second.stop()
