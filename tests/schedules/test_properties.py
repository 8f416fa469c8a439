"""Properties of both built-in grammars, checked against the reference models."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abaco_core.builtin.cron_abaco import AbacoSchedule
from abaco_core.builtin.cron_standard import CronSchedule
from abaco_core.errors import InvalidSchedule
from abaco_core.schedules import Schedule, parse_schedule

from .models import HOUR, MINUTE, AbacoModel, CronModel, whole_steps
from .strategies import (
    ZONES,
    abaco_cases,
    arbitrary_text,
    arbitrary_zones,
    cron_expressions,
    instants,
    zoned_instants,
)

PARSE_NOW = datetime(2024, 5, 1, 13, 27, tzinfo=UTC)
# brute-force windows: every hour of ~4 months, every minute of 2 days
ABACO_WINDOW = 24 * 120
CRON_WINDOW = 2 * 24 * 60
# the profile's count (conftest), more where the search space is wider
EXAMPLES = settings.default.max_examples


def abaco(pm, case) -> tuple[AbacoSchedule, AbacoModel]:
    schedule = parse_schedule(pm, case.expression, None, case.now)
    return schedule, AbacoModel(case.start, case.count, case.unit)


def cron(pm, expression, zone) -> tuple[CronSchedule, CronModel]:
    return parse_schedule(pm, expression, zone, PARSE_NOW), CronModel(expression, zone)


# -- Abaco's grammar -----------------------------------------------------------------------


@given(case=abaco_cases())
def test_abaco_valid_expressions_parse(pm, case):
    schedule = parse_schedule(pm, case.expression, None, case.now)
    assert isinstance(schedule, AbacoSchedule) and schedule.grammar == "abaco"
    assert schedule.expression == case.expression
    assert (schedule.start, schedule.count, schedule.unit) == (case.start, case.count, case.unit)
    assert schedule.first_slot(case.now) == case.start


@given(case=abaco_cases(), k=st.integers(0, 400), offset=st.integers(-3 * 86400, 3 * 86400))
def test_abaco_next_after_is_the_calendar_next_slot(pm, case, k, offset):
    schedule, model = abaco(pm, case)
    slots = model.slots()
    for _ in range(k):
        next(slots)
    t = next(slots) + timedelta(seconds=offset)
    found = schedule.next_after(t)
    assert found > t
    assert found == model.next_after(t)
    assert model.is_slot(found)
    assert not any(model.is_slot(h) for h in whole_steps(t, found, HOUR, ABACO_WINDOW))
    assert schedule.last_at_or_before(t) == (
        None if t < case.start else max(s for s in [case.start, *slots_upto(model, t)])
    )


def slots_upto(model: AbacoModel, t: datetime):
    for slot in model.slots():
        if slot > t:
            return
        yield slot


@given(case=abaco_cases(), t1=instants(1999, 2110), t2=instants(1999, 2110))
def test_abaco_next_after_is_monotonic(pm, case, t1, t2):
    schedule, _ = abaco(pm, case)
    t1, t2 = sorted((t1, t2))
    assert t1 < schedule.next_after(t1) <= schedule.next_after(t2)


@given(case=abaco_cases(), t=instants(1999, 2110))
def test_abaco_no_slot_lies_between_t_and_next_after(pm, case, t):
    schedule, model = abaco(pm, case)
    found = schedule.next_after(t)
    assert found > t and model.is_slot(found)
    assert not any(model.is_slot(h) for h in whole_steps(t, found, HOUR, ABACO_WINDOW))


@given(case=abaco_cases(), t=instants(1999, 2110))
def test_abaco_display_round_trips(pm, case, t):
    schedule, _ = abaco(pm, case)
    slot = schedule.next_after(t)
    shown = schedule.display_next(slot)
    assert re.fullmatch(r"[1-9]\d{3}-[1-9]\d?-[1-9]\d? (0|[1-9]\d?)", shown), shown
    assert schedule.parse_next(shown) == slot
    assert schedule.display_next(schedule.parse_next(shown)) == shown
    # what the API shows after registration is the start itself
    assert schedule.parse_next(schedule.display_next(schedule.first_slot(case.now))) == case.start


# -- standard cron -------------------------------------------------------------------------


@given(expression=cron_expressions(), zone=st.sampled_from(ZONES))
def test_cron_valid_expressions_parse(pm, expression, zone):
    schedule = parse_schedule(pm, expression, zone, PARSE_NOW)
    assert isinstance(schedule, CronSchedule) and schedule.grammar == "cron"
    assert schedule.timezone == zone and schedule.origin is None


@settings(max_examples=EXAMPLES * 3 // 2)
@given(expression=cron_expressions(), zone_t=zoned_instants(), data=st.data())
def test_cron_no_slot_lies_between_t_and_next_after(pm, expression, zone_t, data):
    zone, t = zone_t
    schedule, model = cron(pm, expression, zone)
    found = schedule.next_after(t)
    assert found > t
    assert model.is_slot(found), f"{found} is not a slot of {expression!r} in {zone}"
    assert not any(model.is_slot(m) for m in whole_steps(t, found, MINUTE, CRON_WINDOW))
    # the fast matcher agrees with croniter's own on the slot and on a few other minutes
    walls = [found.astimezone(model.zone).replace(tzinfo=None)]
    walls += data.draw(st.lists(st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)), max_size=2))
    for wall in walls:
        wall = wall.replace(second=0, microsecond=0)
        assert model.wall_matches(wall) == model.croniter_matches(wall), wall


@given(
    expression=cron_expressions(),
    zone_t=zoned_instants(),
    offset=st.one_of(st.integers(0, 6 * 3600), st.integers(0, 10**9)),
)
def test_cron_next_after_is_monotonic(pm, expression, zone_t, offset):
    zone, t1 = zone_t
    t2 = t1 + timedelta(seconds=offset)
    schedule, _ = cron(pm, expression, zone)
    assert t1 < schedule.next_after(t1) <= schedule.next_after(t2)


@given(expression=cron_expressions(), zone_t=zoned_instants())
def test_cron_last_at_or_before_is_the_previous_slot(pm, expression, zone_t):
    zone, t = zone_t
    schedule, _ = cron(pm, expression, zone)
    last = schedule.last_at_or_before(t)
    assert last is not None and last <= t
    assert schedule.next_after(last) > t


@given(expression=cron_expressions(), zone=st.sampled_from(ZONES), t=instants())
def test_cron_display_round_trips(pm, expression, zone, t):
    schedule, _ = cron(pm, expression, zone)
    slot = schedule.next_after(t)
    shown = schedule.display_next(slot)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", shown), shown
    assert schedule.parse_next(shown) == slot
    assert schedule.display_next(schedule.parse_next(shown)) == shown


# -- both: the catch-up rule ---------------------------------------------------------------


def check_due(schedule: Schedule, last_fired: datetime, now: datetime) -> None:
    due = schedule.due_slots(last_fired, now)
    first_due = schedule.next_after(last_fired)
    if first_due > now:
        assert due.fire is None and due.missed_from is None and due.next == first_due
        return
    assert due.fire == schedule.last_at_or_before(now)
    assert last_fired < due.fire <= now < due.next == schedule.next_after(now)
    assert due.missed_from == (first_due if first_due < due.fire else None)
    assert schedule.due_from(first_due, now) == due


@given(case=abaco_cases(), k=st.integers(0, 50), downtime=st.integers(0, 400 * 86400))
def test_abaco_one_catch_up_run_then_the_cadence(pm, case, k, downtime):
    schedule, model = abaco(pm, case)
    slots = model.slots()
    for _ in range(k):
        next(slots)
    last_fired = next(slots)
    check_due(schedule, last_fired, last_fired + timedelta(seconds=downtime))


@given(expression=cron_expressions(), zone_t=zoned_instants(), downtime=st.integers(0, 10**7))
def test_cron_one_catch_up_run_then_the_cadence(pm, expression, zone_t, downtime):
    zone, t = zone_t
    schedule, _ = cron(pm, expression, zone)
    last_fired = schedule.next_after(t)
    check_due(schedule, last_fired, last_fired + timedelta(seconds=downtime))


# -- anything at all -----------------------------------------------------------------------


@settings(max_examples=EXAMPLES * 3)
@given(text=arbitrary_text(), zone=arbitrary_zones(), now=instants())
def test_arbitrary_text_is_claimed_or_refused_with_invalid_schedule(pm, text, zone, now):
    try:
        schedule = parse_schedule(pm, text, zone, now)
    except InvalidSchedule as exc:
        assert exc.status == 400 and str(exc)
        return
    assert isinstance(schedule, Schedule)
    try:
        slot = schedule.first_slot(now)
        assert schedule.parse_next(schedule.display_next(slot)) == slot
        due = schedule.due_from(slot, now + timedelta(days=3))
        assert due.next > now
    except InvalidSchedule:
        pass  # e.g. no slot before year 9999


@pytest.mark.parametrize("value", [None, 5, 1.5, ["now + 1 hour"], {"a": 1}, b"now + 1 hour"])
def test_non_strings_are_refused(pm, value):
    with pytest.raises(InvalidSchedule, match="The cron is not in the correct format"):
        parse_schedule(pm, value, None, PARSE_NOW)
