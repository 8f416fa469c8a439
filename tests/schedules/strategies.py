"""Hypothesis strategies: valid Abaco expressions, valid five-field cron expressions built
from field ranges, instants (biased towards DST transitions), and arbitrary text."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import strategies as st

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",  # half-hour DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",
    "America/Sao_Paulo",
]
UNITS = ["hour", "hours", "day", "days", "week", "weeks", "month", "months"]
MAX_COUNT = {"hour": 72, "day": 60, "week": 12, "month": 30}


def _transitions(zone_name: str, first_year: int = 2020, last_year: int = 2030) -> list[datetime]:
    """UTC instants at which the zone's offset changes, found day by day then by bisection."""
    zone = ZoneInfo(zone_name)
    out = []
    day = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year, 12, 31, tzinfo=UTC)
    while day < end:
        nxt = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = day, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid -= timedelta(seconds=mid.second, microseconds=mid.microsecond)
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        day = nxt
    return out


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}
ALL_TRANSITIONS = sorted({t for ts in TRANSITIONS.values() for t in ts})


def instants(
    first_year: int = 2000, last_year: int = 2099, zone: str | None = None
) -> st.SearchStrategy[datetime]:
    """Aware UTC instants: anywhere, on whole minutes and hours, or within five hours of a
    DST change (of ``zone``, or of any zone in :data:`ZONES`)."""
    anywhere = st.datetimes(datetime(first_year, 1, 1), datetime(last_year, 12, 31), timezones=st.just(UTC))
    whole = anywhere.map(lambda t: t.replace(second=0, microsecond=0))
    changes = TRANSITIONS[zone] if zone else ALL_TRANSITIONS
    if not changes:
        return st.one_of(anywhere, whole, whole.map(lambda t: t.replace(minute=0)))
    near_change = st.builds(
        lambda base, minutes, seconds: base + timedelta(minutes=minutes, seconds=seconds),
        st.sampled_from(changes),
        st.integers(-300, 300),
        st.sampled_from([0, 0, 0, 1, 30, 59]),
    )
    return st.one_of(anywhere, whole, whole.map(lambda t: t.replace(minute=0)), near_change, near_change)


def zoned_instants() -> st.SearchStrategy[tuple[str, datetime]]:
    """A zone from :data:`ZONES` and an instant, often close to one of that zone's DST changes."""
    return st.sampled_from(ZONES).flatmap(lambda zone: st.tuples(st.just(zone), instants(zone=zone)))


# -- Abaco's grammar -------------------------------------------------------------------


@dataclass(frozen=True)
class AbacoCase:
    expression: str
    now: datetime
    start: datetime
    count: int
    unit: str  # singular


def _blank(draw) -> str:
    return draw(st.sampled_from([" ", " ", " ", "  ", "\t", " \t "]))


def _number(draw, value: int) -> str:
    return draw(st.sampled_from([str(value), f"{value:02d}"]))


@st.composite
def abaco_cases(draw) -> AbacoCase:
    """A valid Abaco expression and a ``now`` it is valid at, with the start it means."""
    year = draw(st.integers(1999, 2105))
    month = draw(st.integers(1, 12))
    day = draw(st.one_of(st.integers(1, 28), st.sampled_from([29, 30, 31])))
    day = min(day, calendar.monthrange(year, month)[1])
    start = datetime(year, month, day, draw(st.integers(0, 23)), tzinfo=UTC)
    # now: up to three years before the start, or within the start's own hour
    now = start - timedelta(seconds=draw(st.integers(-3599, 3 * 365 * 86400)))
    unit_word = draw(st.sampled_from(UNITS))
    unit = unit_word.rstrip("s")
    count = draw(st.integers(1, MAX_COUNT[unit]))
    if draw(st.booleans()):
        start_text = draw(st.sampled_from(["now", "Now"]))
        start = now.replace(minute=0, second=0, microsecond=0)
    else:
        start_text = (
            f"{year}-{_number(draw, month)}-{_number(draw, day)}{_blank(draw)}{_number(draw, start.hour)}"
        )
    count_text = draw(st.sampled_from([str(count), f"0{count}"]))
    plus = f"{_blank(draw)}+{_blank(draw)}"
    edges = draw(st.sampled_from(["", "", " ", "\n"]))
    expression = f"{edges}{start_text}{plus}{count_text}{_blank(draw)}{unit_word}{edges}"
    return AbacoCase(expression, now, start, count, unit)


# -- standard cron -----------------------------------------------------------------------


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    span = st.tuples(value, value).filter(lambda ab: ab[0] != ab[1]).map(sorted)
    step = st.integers(1, high - low + 1)
    item = st.one_of(
        value.map(str),
        span.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        step.map(lambda s: f"*/{s}"),
        st.tuples(span, step).map(lambda x: f"{x[0][0]}-{x[0][1]}/{x[1]}"),
    )
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=3).map(",".join))


MACRO_WORDS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@Hourly"]


def _fires(expression: str) -> bool:
    """Some day of the expression's months exists (Feb 29 counts)."""
    expanded, _ = croniter.expand(expression)
    days, months, weekdays = expanded[2], expanded[3], expanded[4]
    if days == ["*"] or weekdays != ["*"]:
        return True
    longest = {m: calendar.monthrange(2024, m)[1] for m in range(1, 13)}
    return any(d <= longest[m] for m in (range(1, 13) if months == ["*"] else months) for d in days)


@st.composite
def cron_expressions(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(MACRO_WORDS))
    fields = [
        draw(_field(0, 59)),
        draw(_field(0, 23)),
        draw(_field(1, 31)),
        draw(_field(1, 12)),
        draw(_field(0, 7)),
    ]
    expression = " ".join(fields)
    if not _fires(expression):
        fields[3] = "*"
        expression = " ".join(fields)
    return expression


# -- anything at all ---------------------------------------------------------------------

TOKENS = [
    "now", "Now", "NOW", "+", "-", "1", "0", "01", "-1", "1.5", "99999999999", "٣", "hour", "hours", "day",
    "weeks", "month", "fortnight", "2024-01-31", "2024-02-30", "1955-11-05", "05", "24", "*", "*/5", "0-59",
    "5-5", "1,2", "@hourly", "@every", "5m", "mon-fri", "JAN", "L", "W", "H", "R", "?", "#", "1#2", "15W",
    "60", "32", "13", "8", "*/0", "", " ", "\t", "\n", "\x00", "9" * 5000,
]  # fmt: skip


def arbitrary_text() -> st.SearchStrategy[str]:
    soup = st.lists(st.sampled_from(TOKENS), max_size=9).flatmap(
        lambda parts: st.lists(
            st.sampled_from([" ", "  ", "\t", ""]), min_size=len(parts), max_size=len(parts)
        ).map(lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True)))
    )
    return st.one_of(st.text(), st.text(alphabet="0123456789 +-*/,@now hourdaysmk\t"), soup)


def arbitrary_zones() -> st.SearchStrategy[str | None]:
    odd = ["", "Mars/Base", "../etc", "/etc/passwd", "America", "utc", "Europe/Paris\x00", "EST5EDT"]
    return st.one_of(st.none(), st.sampled_from(ZONES + odd), st.text(max_size=20))
