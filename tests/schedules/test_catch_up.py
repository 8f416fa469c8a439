"""The missed-slot rule (spec §9.4, Q29): one catch-up run, then the normal cadence. A
miniature cron agent drives the schedules with the injected clock, as the real one would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from abaco_core.schedules import Due, parse_schedule, reload_schedule

TICK = timedelta(seconds=50)  # the cron agent's period


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class StoredActor:
    cron_schedule: str
    cron_next_ex: str
    timezone: str | None = None
    cron_on: bool = True
    runs: list[tuple[datetime, datetime]] = field(default_factory=list)  # (when, slot)


def register(pm, expression: str, now: datetime, timezone: str | None = None) -> StoredActor:
    schedule = parse_schedule(pm, expression, timezone, now)
    return StoredActor(expression, schedule.display_next(schedule.first_slot(now)), timezone)


def tick(pm, actor: StoredActor, now: datetime) -> Due:
    """One pass of the cron agent over one actor: only strings are stored."""
    schedule, pending = reload_schedule(pm, actor.cron_schedule, actor.timezone, actor.cron_next_ex)
    due = schedule.due_from(pending, now)
    if due.fire is not None and actor.cron_on:
        actor.runs.append((now, due.fire))
    actor.cron_next_ex = schedule.display_next(due.next)
    return due


def run_for(pm, actor: StoredActor, clock, duration: timedelta) -> None:
    end = clock.now + duration
    while clock.now < end:
        tick(pm, actor, clock.advance(TICK))


def test_hourly_schedule_runs_once_per_slot(pm, clock):
    actor = register(pm, "now + 1 hour", clock())
    assert actor.cron_next_ex == "2024-5-1 13"
    run_for(pm, actor, clock, timedelta(hours=3))
    assert [slot for _, slot in actor.runs] == [utc(2024, 5, 1, h) for h in (13, 14, 15, 16)]
    assert all(slot <= when < slot + TICK for when, slot in actor.runs[1:])  # on time
    assert actor.cron_next_ex == "2024-5-1 17"


def test_downtime_gives_one_catch_up_run_then_the_cadence(pm, clock):
    actor = register(pm, "now + 1 hour", clock())
    run_for(pm, actor, clock, timedelta(minutes=20))  # 13:00 runs
    clock.advance(timedelta(hours=6, minutes=40))  # the agent is down: 14:00 ... 20:00 missed
    due = tick(pm, actor, clock())
    assert due == Due(fire=utc(2024, 5, 1, 20), next=utc(2024, 5, 1, 21), missed_from=utc(2024, 5, 1, 14))
    run_for(pm, actor, clock, timedelta(hours=2))
    assert [slot for _, slot in actor.runs] == [utc(2024, 5, 1, h) for h in (13, 20, 21, 22)]


def test_switching_cron_off_keeps_the_cadence_without_a_burst(pm, clock):
    actor = register(pm, "now + 1 hour", clock())
    run_for(pm, actor, clock, timedelta(minutes=20))
    actor.cron_on = False
    run_for(pm, actor, clock, timedelta(days=2))
    actor.cron_on = True
    run_for(pm, actor, clock, timedelta(hours=2))
    assert [slot for _, slot in actor.runs] == [utc(2024, 5, 1, 13), utc(2024, 5, 3, 14), utc(2024, 5, 3, 15)]


def test_month_end_schedule_keeps_its_day_across_reloads_and_downtime(pm, clock):
    actor = register(pm, "2024-05-31 23 + 1 month", clock())
    clock.advance(utc(2024, 5, 31, 22, 55) - clock())
    run_for(pm, actor, clock, timedelta(minutes=10))
    assert [slot for _, slot in actor.runs] == [utc(2024, 5, 31, 23)]
    assert actor.cron_next_ex == "2024-6-30 23"
    clock.advance(timedelta(days=62))  # down across June 30th and July 31st
    tick(pm, actor, clock())
    assert actor.runs[-1][1] == utc(2024, 7, 31, 23) and actor.cron_next_ex == "2024-8-31 23"


def test_standard_cron_catches_up_once_across_a_dst_change(pm):
    now = utc(2024, 3, 30, 20)
    actor = register(pm, "0 */6 * * *", now, "Europe/Paris")
    assert actor.cron_next_ex == "2024-03-30T23:00:00.000Z"  # midnight in Paris
    due = tick(pm, actor, utc(2024, 3, 31, 15))  # down over midnight, 06:00 and 12:00 (now CEST)
    assert due == Due(fire=utc(2024, 3, 31, 10), next=utc(2024, 3, 31, 16), missed_from=utc(2024, 3, 30, 23))
    assert actor.cron_next_ex == "2024-03-31T16:00:00.000Z"


def test_nothing_due_leaves_the_pending_slot(pm, clock):
    actor = register(pm, "2024-05-02 0 + 1 day", clock())
    assert tick(pm, actor, clock()) == Due(fire=None, next=utc(2024, 5, 2))
    assert actor.cron_next_ex == "2024-5-2 0" and not actor.runs


def test_due_slots_from_nothing_fired_yet(pm, clock):
    anchored = parse_schedule(pm, "2024-05-01 13 + 1 hour", None, clock())
    later = clock() + timedelta(hours=5)
    assert anchored.due_slots(None, later) == Due(
        utc(2024, 5, 1, 18), utc(2024, 5, 1, 19), utc(2024, 5, 1, 13)
    )
    unanchored = parse_schedule(pm, "@hourly", None, clock())
    assert unanchored.due_slots(None, later) == Due(fire=None, next=utc(2024, 5, 1, 19))
    assert unanchored.due_slots(None, utc(2024, 5, 1, 19)) == Due(
        fire=utc(2024, 5, 1, 19), next=utc(2024, 5, 1, 20)
    )


def test_a_stored_schedule_with_a_bad_unit_is_refused_on_reload(pm):
    actor = StoredActor("now + 1 fortnight", "2024-5-1 13")
    try:
        tick(pm, actor, utc(2024, 5, 1, 13))
    except Exception as exc:  # the agent turns cron_on off on this error
        assert str(exc) == "fortnight is an invalid unit of time"
    else:
        raise AssertionError("a bad stored unit must be refused")
