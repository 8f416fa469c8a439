"""Typing of search values (spec §5.12): what the text after ``=`` means.

In order: ``true``/``false`` → boolean; ``none`` → null; on a time field an ISO-8601 prefix
→ a :class:`TimeRange`; a decimal number → float; valid JSON → that value; anything else →
the string itself. Pure functions; a value that cannot be typed raises :class:`ValueError`
with the text the API shows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "NUMBER",
    "TIME_KEYS",
    "TimeRange",
    "is_time_field",
    "parse_display_time",
    "parse_time_prefix",
    "type_value",
]

#: a field whose name contains one of these holds a time (spec §5.12)
TIME_KEYS = (
    "start_time",
    "message_received_time",
    "last_execution_time",
    "last_update_time",
    "StartedAt",
    "FinishedAt",
    "create_time",
    "last_health_check_time",
    "finish_time",
)

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TIME = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2})"
    r"(?::(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,6}))?)?)?"
    # a '+' in a query string arrives as a space: " 05:00" is "+05:00"
    r"(?P<offset>Z|[+\- ]\d{2}:?\d{2})?)?)?)?"
)


def is_time_field(path: tuple[str, ...]) -> bool:
    """Whether the last segment of a dotted path names a time (``final_state.StartedAt``)."""
    return any(key in path[-1] for key in TIME_KEYS)


@dataclass(frozen=True)
class TimeRange:
    """The interval ``[start, end)`` an ISO-8601 prefix denotes: ``2000`` is the whole
    year 2000, ``2000-01-01T01:00`` one minute, ``...:00.123Z`` one millisecond."""

    start: datetime
    end: datetime
    text: str

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _next_month(year: int, month: int) -> datetime:
    return datetime(year + month // 12, month % 12 + 1, 1)


def parse_time_prefix(text: str) -> TimeRange:
    """``2000``, ``2000-05``, ``2000-01-01T01:00``, ``2000-01-01T01:00:00.000Z``, with an
    optional ``Z`` or ``±HH:MM`` offset (UTC when none) → the interval it covers."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError(
            f"Invalid datetime value: {text!r}. Use an ISO-8601 date or a prefix of one, e.g. 2021, "
            "2021-05, 2021-05-17T12:34 or 2021-05-17T12:34:56.789Z."
        )
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    try:
        year = int(g["year"])
        if "month" not in g:
            start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
        elif "day" not in g:
            start = datetime(year, int(g["month"]), 1)
            end = _next_month(year, int(g["month"]))
        else:
            fraction = g.get("fraction", "")
            start = datetime(
                year,
                int(g["month"]),
                int(g["day"]),
                int(g.get("hour", 0)),
                int(g.get("minute", 0)),
                int(g.get("second", 0)),
                int(fraction.ljust(6, "0")) if fraction else 0,
            )
            if fraction:
                step = timedelta(microseconds=10 ** (6 - len(fraction)))
            elif "second" in g:
                step = timedelta(seconds=1)
            elif "minute" in g:
                step = timedelta(minutes=1)
            elif "hour" in g:
                step = timedelta(hours=1)
            else:
                step = timedelta(days=1)
            end = start + step
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"Invalid datetime value: {text!r} ({exc}).") from None
    zone = _zone(g.get("offset"))
    return TimeRange(
        start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC), text
    )


def _zone(offset: str | None) -> timezone:
    if not offset or offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"Invalid datetime value: the offset {offset.strip()!r} is out of range.")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_display_time(value: Any) -> datetime | None:
    """A time as the API shows it (``2021-05-17T12:34:56.789Z``) → an aware datetime;
    ``None`` for unset times (``null`` or the literal ``"None"``) and for non-times."""
    if not isinstance(value, str) or value in ("", "None"):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def type_value(text: str, *, time_field: bool) -> Any:
    """The typed value of one query value (spec §5.12)."""
    lowered = text.strip().lower()
    if lowered == "none":
        return None
    if time_field:
        return parse_time_prefix(text)
    if lowered in ("true", "false"):
        return lowered == "true"
    if NUMBER.fullmatch(text.strip()):
        return float(text)
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError:
        return text


def _no_constants(name: str) -> Any:
    raise ValueError(name)
