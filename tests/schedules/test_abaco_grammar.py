"""Abaco's grammar (spec §9, seed document "Cron Schedule"): examples, messages, calendar."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from abaco_core.builtin.cron_abaco import AbacoSchedule, parse_abaco
from abaco_core.errors import InvalidRequest, InvalidSchedule
from abaco_core.schedules import parse_schedule

NOW = datetime(2024, 5, 1, 13, 27, 12, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def run(pm, expression: str, now: datetime = NOW, count: int = 4) -> list[str]:
    schedule = parse_schedule(pm, expression, None, now)
    return [schedule.display_next(slot) for slot in schedule.upcoming(now, count)]


def refusal(pm, expression: str, now: datetime = NOW, timezone: str | None = None) -> str:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule(pm, expression, timezone, now)
    assert isinstance(caught.value, InvalidRequest) and caught.value.status == 400
    return str(caught.value)


# -- the seed document's and the spec's examples ---------------------------------------------


def test_seed_hourly_example(pm):
    assert run(pm, "2020-09-28 16 + 1 hour", now=utc(2020, 9, 28, 15, 5)) == [
        "2020-9-28 16",
        "2020-9-28 17",
        "2020-9-28 18",
        "2020-9-28 19",
    ]


def test_seed_every_three_days_from_december_11th_at_4pm(pm):
    # "executed again 3 days later on the 14th, at 4pm, and then 3 days after that"
    assert run(pm, "2020-12-11 16 + 3 days", now=utc(2020, 12, 1)) == [
        "2020-12-11 16",
        "2020-12-14 16",
        "2020-12-17 16",
        "2020-12-20 16",
    ]


def test_now_means_the_current_hour_then_the_top_of_every_hour(pm):
    assert run(pm, "now + 1 hour") == ["2024-5-1 13", "2024-5-1 14", "2024-5-1 15", "2024-5-1 16"]
    assert run(pm, "Now + 1 hour") == run(pm, "now + 1 hour")


def test_spec_examples(pm):
    assert run(pm, "2078-09-6 20 + 3 months", count=3) == ["2078-9-6 20", "2078-12-6 20", "2079-3-6 20"]
    assert run(pm, "now + 2 weeks", count=3) == ["2024-5-1 13", "2024-5-15 13", "2024-5-29 13"]


def test_singular_and_plural_units_mean_the_same(pm):
    for singular, plural in [("hour", "hours"), ("day", "days"), ("week", "weeks"), ("month", "months")]:
        assert run(pm, f"now + 1 {singular}") == run(pm, f"now + 1 {plural}")
        assert run(pm, f"now + 3 {singular}") == run(pm, f"now + 3 {plural}")


def test_blanks_leading_zeros_and_padding_are_tolerated(pm):
    expected = run(pm, "2024-05-01 16 + 1 hour")
    for variant in ["2024-5-1 16 + 1 hour", "2024-05-01  16  +  01 hour", "\t2024-05-01\t16\t+\t1\thour \n"]:
        assert run(pm, variant) == expected


def test_a_start_in_the_current_hour_is_not_old(pm):
    assert run(pm, "2024-05-01 13 + 1 day", count=2) == ["2024-5-1 13", "2024-5-2 13"]


# -- months: calendar arithmetic from the start, clamped to short months ---------------------------


def test_month_end_cadence_keeps_the_31st_where_the_month_has_it(pm):
    shown = run(pm, "2024-01-31 05 + 1 month", now=utc(2024, 1, 30), count=8)
    assert shown == [
        "2024-1-31 5",
        "2024-2-29 5",  # leap year
        "2024-3-31 5",  # back to the 31st: counted from the start, not from Feb 29
        "2024-4-30 5",
        "2024-5-31 5",
        "2024-6-30 5",
        "2024-7-31 5",
        "2024-8-31 5",
    ]


def test_month_end_in_a_common_year_and_every_other_month(pm):
    assert run(pm, "2023-01-31 0 + 1 month", now=utc(2023, 1, 1), count=3) == [
        "2023-1-31 0",
        "2023-2-28 0",
        "2023-3-31 0",
    ]
    assert run(pm, "2024-12-31 0 + 2 months", now=utc(2024, 1, 1), count=3) == [
        "2024-12-31 0",
        "2025-2-28 0",
        "2025-4-30 0",
    ]


def test_february_29th_yearly_follows_leap_years_and_2100_is_not_one(pm):
    assert run(pm, "2024-02-29 12 + 12 months", now=utc(2024, 1, 1), count=5) == [
        "2024-2-29 12",
        "2025-2-28 12",
        "2026-2-28 12",
        "2027-2-28 12",
        "2028-2-29 12",
    ]
    assert run(pm, "2096-02-29 0 + 48 months", now=utc(2024, 1, 1), count=4) == [
        "2096-2-29 0",
        "2100-2-28 0",  # divisible by 100, not by 400
        "2104-2-29 0",
        "2108-2-29 0",
    ]
    assert run(pm, "1999-02-28 0 + 12 months", now=utc(1999, 1, 1), count=3)[1] == "2000-2-28 0"


def test_days_and_weeks_are_fixed_durations_across_month_and_year_ends(pm):
    assert run(pm, "2024-02-28 23 + 1 day", now=utc(2024, 1, 1), count=3) == [
        "2024-2-28 23",
        "2024-2-29 23",
        "2024-3-1 23",
    ]
    assert run(pm, "2024-12-25 6 + 1 week", now=utc(2024, 1, 1), count=2) == ["2024-12-25 6", "2025-1-1 6"]
    assert run(pm, "2024-12-31 22 + 3 hours", now=utc(2024, 1, 1), count=2) == ["2024-12-31 22", "2025-1-1 1"]


# -- validation: upstream's messages, always 400 ----------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["now+1 hour", "now + 1", "now +", "tomorrow", "", "   ", "2020-09-28 16 +1 hour", "now\n+ 1 hour"],
)
def test_not_of_the_form_start_plus_n_unit(pm, expression):
    assert refusal(pm, expression) == "The cron is not in the correct format"


@pytest.mark.parametrize(
    ("expression", "start"),
    [
        ("NOW + 1 hour", "NOW"),
        ("2020/09/28 16 + 1 hour", "2020/09/28 16"),
        ("2020-09-28T16 + 1 hour", "2020-09-28T16"),
        ("2020-09-28 + 1 hour", "2020-09-28"),
        ("2020-09-28 16:00 + 1 hour", "2020-09-28 16:00"),
        ("yesterday + 1 hour", "yesterday"),
    ],
)
def test_start_neither_now_nor_y_m_d_h(pm, expression, start):
    assert refusal(pm, expression) == f"The starting date {start} is not in the correct format"


def test_start_in_the_past_names_the_current_utc_hour(pm):
    message = "The starting datetime is old. The current UTC time is 2024-05-01 13:00:00"
    assert refusal(pm, "1955-11-05 6 + 1 day") == message
    assert refusal(pm, "2024-05-01 12 + 1 hour") == message
    # checked before the unit, as upstream
    assert refusal(pm, "2020-09-28 16 + 2 fortnights") == message


@pytest.mark.parametrize("unit", ["fortnights", "Hour", "minutes", "years", "hour extra", "hrs"])
def test_unknown_unit(pm, unit):
    assert refusal(pm, f"now + 2 {unit}") == f"{unit} is an invalid unit of time"


@pytest.mark.parametrize("count", ["0", "00", "-1", "1.5", "x", "+1", "٣"])
def test_count_must_be_a_whole_number_of_at_least_one(pm, count):
    assert (
        refusal(pm, f"now + {count} hours")
        == f"The cron increment {count} is not a whole number of at least 1"
    )


@pytest.mark.parametrize("count", ["99999999999", "1" * 5000])
def test_absurd_counts_are_refused(pm, count):
    assert refusal(pm, f"now + {count} hours") == f"The increment {count} hours is too large"
    assert refusal(pm, "2024-05-01 13 + 100000 months") == "The increment 100000 months is too large"


@pytest.mark.parametrize(
    "start", ["2024-13-01 5", "2023-02-29 5", "2024-04-31 5", "2024-01-01 24", "0-1-1 0", "9" * 30 + "-1-1 0"]
)
def test_impossible_dates(pm, start):
    assert refusal(pm, f"{start} + 1 day") == f"The starting date {start} is not a valid date"


def test_abaco_schedules_are_utc_only(pm):
    expected = parse_schedule(pm, "now + 1 hour", None, NOW).upcoming(NOW, 3)
    for zone in ["UTC", "Etc/UTC", ""]:
        assert parse_schedule(pm, "now + 1 hour", zone, NOW).upcoming(NOW, 3) == expected
    assert refusal(pm, "now + 1 hour", timezone="Europe/Paris") == (
        "Schedules of the form '<start> + <n> <unit>' are in UTC; "
        "the time zone Europe/Paris applies to standard cron expressions only"
    )


# -- claiming, resolving, showing ------------------------------------------------------------------


def test_only_strings_with_a_blank_plus_blank_are_claimed():
    for other in ["* * * * *", "@hourly", "@every 5m", "tomorrow", "now+1 hour", "+ 1 hour"]:
        assert parse_abaco(other) is None
    assert isinstance(parse_abaco("now + 1 hour"), AbacoSchedule)
    with pytest.raises(InvalidSchedule, match="not in the correct format"):
        parse_abaco("0 * * * * + 5")


def test_now_is_resolved_against_the_injected_clock(clock, pm):
    first = parse_schedule(pm, "now + 1 day", None, clock())
    clock.advance(timedelta(days=365))
    later = parse_schedule(pm, "now + 1 day", None, clock())
    assert first.start == utc(2024, 5, 1, 13) and later.start == utc(2025, 5, 1, 13)
    unresolved = parse_abaco("now + 1 day")
    assert unresolved.start is None
    with pytest.raises(InvalidSchedule):
        unresolved.next_after(NOW)


def test_a_stored_schedule_is_reread_without_the_past_check(pm):
    schedule = parse_schedule(pm, "2020-09-28 16 + 3 days", None, NOW, check_past=False)
    assert schedule.start == utc(2020, 9, 28, 16)
    assert schedule.first_slot(NOW) == utc(2024, 5, 1, 16)  # 1311 days on: the original cadence
    # a 'now' schedule is re-anchored at the pending slot the agent stored
    pending = schedule.parse_next("2024-5-1 16")
    assert parse_schedule(pm, "now + 3 days", None, pending, check_past=False).next_after(pending) == utc(
        2024, 5, 4, 16
    )


def test_next_execution_is_shown_without_zero_padding_and_read_back_with_it(pm):
    schedule = parse_schedule(pm, "2078-09-06 05 + 1 day", None, NOW)
    assert schedule.display_next(schedule.first_slot(NOW)) == "2078-9-6 5"
    assert schedule.parse_next("2078-09-06 05") == schedule.parse_next("2078-9-6 5") == utc(2078, 9, 6, 5)
    for bad in ["2078-9-6", "2078-9-6T5", "2078-13-6 5", "", "soon"]:
        with pytest.raises(InvalidSchedule):
            schedule.parse_next(bad)


def test_slots_run_out_at_year_9999(pm):
    schedule = parse_schedule(pm, "9999-12-01 0 + 1 week", None, NOW)
    assert schedule.next_after(utc(9999, 12, 20)) == utc(9999, 12, 22)
    assert schedule.next_after(utc(9999, 12, 22)) == utc(9999, 12, 29)
    with pytest.raises(InvalidSchedule, match="no execution after"):
        schedule.next_after(utc(9999, 12, 29))


@pytest.mark.parametrize(
    "text",
    [
        "a + 1" + " " * 50000 + "x\ny",
        "a + b c " * 5000 + "\nx",
        "2024-1-1" + " " * 50000 + "x + 1 hour",
        "1 " * 50000,
        "* " * 25000 + "\n",
    ],
)
def test_long_strings_are_answered_at_once(pm, text):
    started = time.perf_counter()
    refusal(pm, text)
    assert time.perf_counter() - started < 0.5  # a backtracking pattern took 15 s on the first
