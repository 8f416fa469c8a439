"""Standard cron (our extension): five fields or a macro, in an IANA time zone, via croniter.

Claim rule: a string is claimed when it is one of the macros (``@yearly @annually
@monthly @weekly @daily @midnight @hourly``, any case), or when it is five to seven
blank-separated fields written in the cron alphabet (digits, letters for month and day
names, ``* , - / ? # ( )``) with at least one digit or ``*``. Anything else, including
unknown ``@`` words, is passed on so another grammar may take it; this plugin is tried
last. A claimed string that croniter refuses, a six- or seven-field string (seconds and
years are not offered: the granularity is the minute), hashed or random fields (``H``,
``R``: they would change from one parse to the next), an expression that never fires and
an unknown time zone are answered with ``InvalidSchedule``.

Daylight saving time is croniter's: a wall time skipped by a forward jump fires once at
the jump, a wall time repeated by a backward jump fires on each pass. One departure from
croniter: a one-value range (``5-5``, ``5-5/3``) means that value, as in cron, where
croniter reads it as the whole field.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, CroniterError, croniter

from ..errors import InvalidSchedule
from ..hookspecs import hookimpl
from ..schedules import Schedule, as_utc

__all__ = ["MACROS", "CronSchedule", "parse_cron"]

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
FIELDS = "minute hour day-of-month month day-of-week"

_SEPARATOR = re.compile(r"[ \t]+")
_FIELD = re.compile(r"[0-9A-Za-z*?,/#()-]+")
_HASHED = re.compile(r"[HhRr](?:$|[(/])")
_RANGE = re.compile(r"([0-9]+)-([0-9]+)(?:/[0-9]+)?")
# croniter's failures, and what its arithmetic lets escape on odd input
_LIBRARY_ERRORS = (CroniterError, ValueError, TypeError, KeyError, IndexError, OverflowError)
# a fixed point from which to check that an expression fires at all (croniter looks 50 years ahead)
_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


def _claims(text: str) -> bool:
    if text.startswith("@"):
        return text.lower() in MACROS
    fields = _SEPARATOR.split(text)
    return (
        5 <= len(fields) <= 7
        and all(_FIELD.fullmatch(field) for field in fields)
        and any(ch.isdigit() or ch == "*" for ch in text)
    )


def _collapse(item: str) -> str:
    """``5-5`` (or ``5-5/3``) is minute 5 alone in cron; croniter reads it as the whole field."""
    match = _RANGE.fullmatch(item)
    if match and match[1].lstrip("0") == match[2].lstrip("0"):
        return match[1]
    return item


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError, TypeError):  # ZoneInfoNotFoundError is a KeyError
        raise InvalidSchedule(
            f"{name!r} is not a known IANA time zone (such as 'UTC' or 'Europe/Paris')"
        ) from None


class CronSchedule(Schedule):
    """A cron expression evaluated in ``zone``; slots are whole UTC minutes."""

    grammar = "cron"
    granularity = timedelta(minutes=1)

    def __init__(self, expression: str, timezone: str | None, *, zone: tzinfo, iterator: croniter) -> None:
        super().__init__(expression, timezone)
        self.zone = zone
        self._iterator = iterator
        # croniter keeps its position in the object: one caller at a time
        self._lock = threading.Lock()

    def _step(self, t: datetime, *, forward: bool) -> datetime:
        local = as_utc(t).astimezone(self.zone)
        with self._lock:
            if forward:
                found = self._iterator.get_next(datetime, start_time=local)
            else:
                found = self._iterator.get_prev(datetime, start_time=local)
        return as_utc(found)

    def next_after(self, t: datetime) -> datetime:
        try:
            return self._step(t, forward=True)
        except _LIBRARY_ERRORS:
            shown = as_utc(t)
            raise InvalidSchedule(
                f"The cron schedule has no execution after {shown:%Y-%m-%d %H:%M}"
            ) from None

    def last_at_or_before(self, t: datetime) -> datetime | None:
        try:
            # croniter's previous is strictly before its start, and slots are whole minutes
            return self._step(as_utc(t) + timedelta(microseconds=1), forward=False)
        except _LIBRARY_ERRORS:
            return None


def parse_cron(expression: str, timezone: str | None = None) -> CronSchedule | None:
    """Claim ``expression`` if it is plausibly cron (see the module doc)."""
    text = expression.strip()
    if not _claims(text):
        return None
    fields = [] if text.startswith("@") else _SEPARATOR.split(text)
    if len(fields) > 5:
        raise InvalidSchedule(
            f"The cron schedule {text!r} has {len(fields)} fields; standard cron takes five "
            f"({FIELDS}): seconds and years are not supported"
        )
    if any(_HASHED.match(part) for field in fields for part in field.split(",")):
        raise InvalidSchedule(f"The cron schedule {text!r} uses H or R fields, which are not supported")
    zone = _zone(timezone)
    source = (
        " ".join(",".join(_collapse(item) for item in field.split(",")) for field in fields) or text.lower()
    )
    try:
        iterator = croniter(source, _PROBE.astimezone(zone), ret_type=datetime)
        iterator.get_next(datetime)
    except CroniterBadDateError:
        raise InvalidSchedule(f"The cron schedule {text!r} never fires") from None
    except _LIBRARY_ERRORS as exc:
        raise InvalidSchedule(f"The cron schedule {text!r} is not valid: {exc}") from None
    return CronSchedule(expression, timezone, zone=zone, iterator=iterator)


@hookimpl(trylast=True)
def abaco_parse_schedule(expression: str, timezone: str | None) -> CronSchedule | None:
    return parse_cron(expression, timezone)
