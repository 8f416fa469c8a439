"""Standard cron (our extension): fields, macros, time zones and DST, refusals, display."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from abaco_core.builtin.cron_standard import CronSchedule, parse_cron
from abaco_core.errors import InvalidSchedule
from abaco_core.schedules import parse_schedule

NOW = datetime(2024, 5, 1, 13, 27, 12, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fires(
    pm, expression: str, zone: str | None = None, now: datetime = NOW, count: int = 3
) -> list[datetime]:
    return parse_schedule(pm, expression, zone, now).upcoming(now, count)


def refusal(pm, expression: str, zone: str | None = None) -> str:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule(pm, expression, zone, NOW)
    assert caught.value.status == 400
    return str(caught.value)


def test_five_fields_in_utc(pm):
    assert fires(pm, "*/15 * * * *") == [
        utc(2024, 5, 1, 13, 30),
        utc(2024, 5, 1, 13, 45),
        utc(2024, 5, 1, 14),
    ]
    assert fires(pm, "0 9 * * 1-5", count=4) == [
        utc(2024, 5, 2, 9),
        utc(2024, 5, 3, 9),
        utc(2024, 5, 6, 9),  # skips the weekend
        utc(2024, 5, 7, 9),
    ]
    assert fires(pm, "0 9 * jan,may mon-fri", count=1) == [utc(2024, 5, 2, 9)]


@pytest.mark.parametrize(
    ("macro", "first"),
    [
        ("@hourly", utc(2024, 5, 1, 14)),
        ("@daily", utc(2024, 5, 2)),
        ("@midnight", utc(2024, 5, 2)),
        ("@weekly", utc(2024, 5, 5)),  # Sunday
        ("@monthly", utc(2024, 6, 1)),
        ("@yearly", utc(2025, 1, 1)),
        ("@annually", utc(2025, 1, 1)),
        ("@HOURLY", utc(2024, 5, 1, 14)),
    ],
)
def test_macros(pm, macro, first):
    assert fires(pm, macro, count=1) == [first]


def test_a_registration_runs_first_at_the_next_whole_minute_slot(pm):
    assert fires(pm, "* * * * *", now=utc(2024, 5, 1, 12, 0, 30), count=1) == [utc(2024, 5, 1, 12, 1)]
    assert fires(pm, "* * * * *", now=utc(2024, 5, 1, 12, 0), count=1) == [utc(2024, 5, 1, 12, 0)]


def test_the_time_zone_moves_wall_clock_slots_with_dst(pm):
    # Paris moves to summer time on 2024-03-31: 09:00 local is 08:00 UTC, then 07:00 UTC
    assert fires(pm, "0 9 * * mon-fri", "Europe/Paris", now=utc(2024, 3, 28, 12)) == [
        utc(2024, 3, 29, 8),
        utc(2024, 4, 1, 7),
        utc(2024, 4, 2, 7),
    ]


def test_a_wall_time_skipped_by_dst_fires_once_at_the_jump(pm):
    # New York, 2024-03-10: 02:00 EST jumps to 03:00 EDT, so 02:30 never happens
    assert fires(pm, "30 2 * * *", "America/New_York", now=utc(2024, 3, 9, 12)) == [
        utc(2024, 3, 10, 7),  # 03:00 EDT
        utc(2024, 3, 11, 6, 30),
        utc(2024, 3, 12, 6, 30),
    ]
    # Lord Howe's half-hour jump, 2024-10-06: 02:00 becomes 02:30
    assert fires(pm, "15 2 * * *", "Australia/Lord_Howe", now=utc(2024, 10, 5, 12), count=2) == [
        utc(2024, 10, 5, 15, 30),  # 02:30 +11
        utc(2024, 10, 6, 15, 15),
    ]


def test_a_wall_time_repeated_by_dst_fires_on_each_pass(pm):
    # New York, 2024-11-03: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice
    assert fires(pm, "30 1 * * *", "America/New_York", now=utc(2024, 11, 2, 12)) == [
        utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 3, 6, 30),
        utc(2024, 11, 4, 6, 30),
    ]


def test_no_time_zone_means_utc(pm):
    assert fires(pm, "0 9 * * *", None) == fires(pm, "0 9 * * *", "") == fires(pm, "0 9 * * *", "UTC")


def test_a_one_value_range_is_that_value(pm):
    # croniter alone reads 5-5 as the whole field
    assert fires(pm, "5-5 * * * *", count=2) == [utc(2024, 5, 1, 14, 5), utc(2024, 5, 1, 15, 5)]
    assert fires(pm, "0 0 5-5/3 * *", count=2) == [utc(2024, 5, 5), utc(2024, 6, 5)]


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["* * * * * *", "0 0 12 * * ? 2025"])
def test_seconds_and_years_fields_are_refused(pm, expression):
    fields = len(expression.split())
    assert refusal(pm, expression) == (
        f"The cron schedule {expression!r} has {fields} fields; standard cron takes five "
        "(minute hour day-of-month month day-of-week): seconds and years are not supported"
    )


@pytest.mark.parametrize(
    "expression", ["61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "x * * * *"]
)
def test_out_of_range_fields_are_refused_with_croniters_reason(pm, expression):
    assert refusal(pm, expression).startswith(f"The cron schedule {expression!r} is not valid: ")


def test_an_expression_that_never_fires_is_refused(pm):
    assert refusal(pm, "0 0 31 2 *") == "The cron schedule '0 0 31 2 *' never fires"
    assert fires(pm, "0 0 29 2 *", count=2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


@pytest.mark.parametrize("expression", ["H * * * *", "R 0 * * *", "0 H(0-5) * * *", "H/15 * * * *"])
def test_hashed_and_random_fields_are_refused(pm, expression):
    assert (
        refusal(pm, expression)
        == f"The cron schedule {expression!r} uses H or R fields, which are not supported"
    )


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", "/etc/localtime", "America", "utc "])
def test_unknown_time_zones_are_refused(pm, zone):
    assert (
        refusal(pm, "0 9 * * *", zone)
        == f"{zone!r} is not a known IANA time zone (such as 'UTC' or 'Europe/Paris')"
    )


@pytest.mark.parametrize(
    "expression",
    ["@every 5m", "@reboot", "* * * *", "every day at noon", "run this job every single day", "now+1 hour"],
)
def test_strings_that_are_not_plausibly_cron_are_left_to_other_grammars(pm, expression):
    assert parse_cron(expression) is None
    assert refusal(pm, expression) == "The cron is not in the correct format"


# -- display -----------------------------------------------------------------------------------


def test_next_execution_is_shown_in_the_api_time_format(pm):
    schedule = parse_schedule(pm, "30 1 * * *", "America/New_York", NOW)
    assert isinstance(schedule, CronSchedule)
    slot = schedule.first_slot(NOW)
    assert schedule.display_next(slot) == "2024-05-02T05:30:00.000Z"
    assert schedule.parse_next("2024-05-02T05:30:00.000Z") == slot
    with pytest.raises(InvalidSchedule):
        schedule.parse_next("2024-5-2 5")
