"""Abaco's schedule grammar (spec §9): ``<yyyy-mm-dd hh | now> + <n> <unit>``, in UTC.

Claim rule: a string with a ``+`` between blanks is an attempt at this grammar. It is
claimed, and a malformed one is refused with upstream's messages; any other string is
passed on to the other grammars. This plugin is tried first.

Slots are ``start + k·n·unit`` for k = 0, 1, 2...: hours, days and weeks as fixed
durations; months as calendar months counted from the start, keeping the start's day of
the month where the month has it and the month's last day where it does not
(``2024-01-31 5 + 1 month``: Jan 31, Feb 29, Mar 31, Apr 30...). Counting from the start,
not from the previous slot, keeps a short month from dragging later slots to the 29th.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from ..errors import InvalidSchedule
from ..hookspecs import hookimpl
from ..schedules import NOT_A_SCHEDULE, Schedule, as_utc

__all__ = ["AbacoSchedule", "parse_abaco"]

# singular and plural, lower case only, as upstream
_UNITS = {"hour": "hour", "hours": "hour", "day": "day", "days": "day"}
_UNITS |= {"week": "week", "weeks": "week", "month": "month", "months": "month"}
_HOURS_PER = {"hour": 1, "day": 24, "week": 168}
_UTC_NAMES = {None, "", "UTC", "Etc/UTC"}
# more digits than this cannot be a usable increment (and int() refuses very long strings)
_MAX_COUNT_DIGITS = 9

_CLAIM = re.compile(r"[ \t]\+[ \t]")
_INCREMENT = re.compile(r"(?P<count>\S++)[ \t]++(?P<unit>.+)")
_DATE = re.compile(r"([0-9]++)-([0-9]++)-([0-9]++)[ \t]++([0-9]++)")
_SHOWN = re.compile(r"\s*([0-9]{1,4})-([0-9]{1,2})-([0-9]{1,2})\s+([0-9]{1,2})\s*")


def _add_months(start: datetime, months: int) -> datetime:
    """``start`` moved by calendar months, clamped to the end of a shorter month."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return start.replace(year=year, month=month0 + 1, day=day)


def _months_between(a: datetime, b: datetime) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


class AbacoSchedule(Schedule):
    """``start + k·count·unit``; ``start`` is ``None`` until a ``now`` start is resolved."""

    grammar = "abaco"
    granularity = timedelta(hours=1)

    def __init__(
        self, expression: str, *, start: datetime | None, count: int, unit: str, problem: str | None = None
    ) -> None:
        super().__init__(expression, None)
        self.start = start
        self.count = count
        self.unit = unit
        # an invalid unit or count is reported only after the start-in-the-past check,
        # in upstream's order (spec §9.2)
        self.problem = problem

    @property
    def origin(self) -> datetime | None:
        return self.start

    def resolve(self, now: datetime, *, check_past: bool = True) -> AbacoSchedule:
        current_hour = self.floor(now)
        start = self.start
        if start is None:
            start = current_hour
        elif check_past and start < current_hour:
            shown = current_hour.replace(tzinfo=None)
            raise InvalidSchedule(f"The starting datetime is old. The current UTC time is {shown}")
        if self.problem:
            raise InvalidSchedule(self.problem)
        resolved = AbacoSchedule(self.expression, start=start, count=self.count, unit=self.unit)
        try:
            resolved._slot(1)
        except (OverflowError, ValueError):
            raise InvalidSchedule(f"The increment {self.count} {self.unit}s is too large") from None
        return resolved

    # -- slots ---------------------------------------------------------------------------

    def _anchor(self) -> datetime:
        if self.problem:
            raise InvalidSchedule(self.problem)
        if self.start is None:
            raise InvalidSchedule("A schedule starting 'now' must be resolved against the current time first")
        return self.start

    def _slot(self, k: int) -> datetime:
        start = self._anchor()
        if self.unit == "month":
            return _add_months(start, k * self.count)
        return start + timedelta(hours=k * self.count * _HOURS_PER[self.unit])

    def _index_at_or_before(self, t: datetime) -> int:
        """The index of the latest slot at or before ``t``; -1 before the start."""
        start = self._anchor()
        if t < start:
            return -1
        if self.unit == "month":
            k = _months_between(start, t) // self.count
            return k - 1 if self._slot(k) > t else k
        return (t - start) // timedelta(hours=self.count * _HOURS_PER[self.unit])

    def next_after(self, t: datetime) -> datetime:
        t = as_utc(t)
        try:
            return self._slot(self._index_at_or_before(t) + 1)
        except (OverflowError, ValueError):
            raise InvalidSchedule(f"The cron schedule has no execution after {t:%Y-%m-%d %H:%M}") from None

    def last_at_or_before(self, t: datetime) -> datetime | None:
        try:
            k = self._index_at_or_before(as_utc(t))
            return None if k < 0 else self._slot(k)
        except (OverflowError, ValueError):
            raise InvalidSchedule(f"The increment {self.count} {self.unit}s is too large") from None

    def first_slot(self, now: datetime) -> datetime:
        # "now" means the current hour, and a start in the current hour is not old
        return self.first_at_or_after(self.floor(now))

    # -- display: ``Y-M-D H``, not zero padded (spec §4.1) -------------------------------

    def display_next(self, slot: datetime) -> str:
        slot = as_utc(slot)
        return f"{slot.year}-{slot.month}-{slot.day} {slot.hour}"

    def parse_next(self, text: str) -> datetime:
        match = _SHOWN.fullmatch(text) if isinstance(text, str) else None
        try:
            if match is None:
                raise ValueError(text)
            return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
        except ValueError:
            raise InvalidSchedule(f"{text!r} is not a next execution time") from None


def _parse_start(text: str) -> datetime | None:
    if text in ("now", "Now"):
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        raise InvalidSchedule(f"The starting date {text} is not in the correct format")
    try:
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
    except (OverflowError, ValueError):
        raise InvalidSchedule(f"The starting date {text} is not a valid date") from None


def parse_abaco(expression: str, timezone: str | None = None) -> AbacoSchedule | None:
    """Claim ``expression`` if it is an attempt at Abaco's grammar (see the module doc)."""
    text = expression.strip()
    plus = _CLAIM.search(text)
    if plus is None:
        return None
    # split at the first " + ", as upstream's parse("{} + {} {}"); by hand, not by a
    # backtracking pattern, which takes seconds on long strings
    start_text = text[: plus.start()].rstrip(" \t")
    form = _INCREMENT.fullmatch(text[plus.end() :].lstrip(" \t"))
    if form is None or "\n" in start_text:
        raise InvalidSchedule(NOT_A_SCHEDULE)
    start = _parse_start(start_text)
    if timezone not in _UTC_NAMES:
        raise InvalidSchedule(
            f"Schedules of the form '<start> + <n> <unit>' are in UTC; the time zone {timezone} "
            "applies to standard cron expressions only"
        )
    unit = _UNITS.get(form["unit"], "")
    count_text = form["count"]
    digits = count_text.isascii() and count_text.isdigit()
    significant = count_text.lstrip("0") if digits else ""
    count = int(significant) if 0 < len(significant) <= _MAX_COUNT_DIGITS else 0
    problem = None
    if not unit:
        problem = f"{form['unit']} is an invalid unit of time"
    elif not significant:
        problem = f"The cron increment {count_text} is not a whole number of at least 1"
    elif not count:
        problem = f"The increment {count_text} {unit}s is too large"
    return AbacoSchedule(expression, start=start, count=count, unit=unit or "hour", problem=problem)


@hookimpl(tryfirst=True)
def abaco_parse_schedule(expression: str, timezone: str | None) -> AbacoSchedule | None:
    return parse_abaco(expression, timezone)
