"""The cron agent with an injected clock: exactly one execution per due slot, one catch-up
after downtime, the off switch, and the next fire time shown on the actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore

from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.cron import CRON_MESSAGE, cron_execution_id
from abaco_core.errors import InvalidSchedule
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings

T0 = datetime(2030, 5, 17, 9, 20, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def platform(tmp_path):
    clock = Clock(T0)
    settings = Settings(data_dir=str(tmp_path), init_count=0, cron_interval=0)
    p = Platform(
        settings,
        build_plugin_manager(),
        MemoryStore(),
        LocalQueue(str(tmp_path / "q.db")),
        FakeBackend(),
        clock,
    )
    p.clock_ = clock
    yield p
    p.stop()


def register(p: Platform, **fields):
    return p.register_actor(
        parse_actor_fields(FieldSource(json={"image": "abaco-test/busybox:1", **fields})),
        tenant="t",
        owner="o",
    )


def update(p: Platform, actor, **fields):
    return p.update_actor(
        actor, parse_actor_fields(FieldSource(json={"image": actor.image, **fields}), update=True)
    )


def cron_runs(p: Platform, actor) -> list:
    return [e for e in p.store.list_executions("t", actor.id) if e.executor == "cron"]


def test_now_plus_one_hour_runs_at_once_then_every_hour(platform):
    actor = register(platform, cron_schedule="now + 1 hour")
    assert actor.cron_on is True
    assert platform.cron.next_fire(actor) == "2030-5-17 9"
    assert platform.cron.tick(T0) == 1
    assert platform.cron.tick(T0 + timedelta(minutes=30)) == 0  # same hour: nothing new
    assert platform.cron.next_fire(actor) == "2030-5-17 10"
    assert platform.cron.tick(T0 + timedelta(minutes=41)) == 1  # 10:01
    runs = cron_runs(platform, actor)
    assert len(runs) == 2
    message = platform.store.get_message("t", actor.id, runs[0].id)
    assert message.payload == CRON_MESSAGE and message.content_type == "str"
    assert message.metadata["_abaco_Content_Type"] == "str" and "_abaco_username" not in message.metadata
    assert runs[0].id == cron_execution_id("t", actor.id, datetime(2030, 5, 17, 9, tzinfo=UTC))


def test_downtime_gives_one_catch_up_then_the_cadence(platform):
    actor = register(platform, cron_schedule="now + 1 hour")
    platform.cron.tick(T0)
    # the agent was down for five hours
    assert platform.cron.tick(T0 + timedelta(hours=5, minutes=5)) == 1
    assert platform.cron.tick(T0 + timedelta(hours=5, minutes=30)) == 0
    assert platform.cron.next_fire(actor) == "2030-5-17 15"
    assert platform.cron.tick(T0 + timedelta(hours=5, minutes=45)) == 1
    assert len(cron_runs(platform, actor)) == 3


def test_the_off_switch_advances_without_running_and_resumes_without_a_burst(platform):
    actor = register(platform, cron_schedule="2030-05-17 10 + 2 hours")
    assert platform.cron.tick(T0) == 0  # not yet
    assert platform.cron.tick(T0 + timedelta(hours=1)) == 1  # 10:20
    actor = update(platform, platform.store.get_actor("t", actor.id), cron_on=False)
    assert actor.cron_schedule == "2030-05-17 10 + 2 hours" and actor.cron_on is False
    for hours in (3, 5, 7):
        assert platform.cron.tick(T0 + timedelta(hours=hours)) == 0
    actor = update(platform, actor, cron_on=True)
    assert platform.cron.tick(T0 + timedelta(hours=7, minutes=10)) == 0  # the 16:00 slot passed while off
    assert platform.cron.next_fire(actor) == "2030-5-17 18"
    assert platform.cron.tick(T0 + timedelta(hours=9)) == 1  # 18:20
    assert len(cron_runs(platform, actor)) == 2


def test_standard_cron_with_a_time_zone(platform):
    actor = register(platform, cron_schedule="30 12 * * *", cron_timezone="Europe/Paris")
    # 12:30 in Paris on 17 May 2030 is 10:30 UTC (summer time)
    assert platform.cron.next_fire(actor) == "2030-05-17T10:30:00.000Z"
    assert platform.cron.tick(datetime(2030, 5, 17, 10, 29, tzinfo=UTC)) == 0
    assert platform.cron.tick(datetime(2030, 5, 17, 10, 30, 5, tzinfo=UTC)) == 1
    assert platform.cron.next_fire(actor) == "2030-05-18T10:30:00.000Z"


def test_a_slot_missed_between_registration_and_the_first_pass_still_runs(platform):
    actor = register(platform, cron_schedule="*/5 * * * *")
    assert platform.cron.tick(T0 + timedelta(minutes=12)) == 1  # slots 9:25, 9:30 missed: one run
    assert len(cron_runs(platform, actor)) == 1


def test_invalid_schedules_are_refused(platform):
    with pytest.raises(InvalidSchedule, match="The cron is not in the correct format"):
        register(platform, cron_schedule="every tuesday")
    with pytest.raises(
        InvalidSchedule, match="The starting datetime is old. The current UTC time is 2030-05-17 09"
    ):
        register(platform, cron_schedule="2020-09-28 16 + 1 hour")
    with pytest.raises(InvalidSchedule, match="fortnights is an invalid unit of time"):
        register(platform, cron_schedule="2031-01-01 01 + 1 fortnights")


def test_an_unchanged_schedule_survives_a_put_after_its_start_passed(platform):
    actor = register(platform, cron_schedule="2030-05-17 10 + 1 day")
    platform.clock_.now = T0 + timedelta(days=3)
    actor = update(platform, actor, cron_schedule="2030-05-17 10 + 1 day", description="changed")
    assert actor.cron_schedule == "2030-05-17 10 + 1 day"
    actor = update(platform, actor)  # no schedule in a full replacement: it is removed
    assert actor.cron_schedule is None and platform.cron.next_fire(actor) is None
