"""Schedules: what a schedule grammar hands back, and the catch-up rule of the cron agent.

A grammar is a plugin implementing ``abaco_parse_schedule``: it claims a string it
understands by returning a :class:`Schedule` and passes (``None``) on any other. The
built-in grammars are Abaco's ``<start> + <n> <unit>`` (``builtin/cron_abaco.py``, tried
first) and standard five-field cron (``builtin/cron_standard.py``, tried last).

Every time here is an aware UTC ``datetime``; "now" always comes in as an argument
(STYLE.md, rule 6), so the agent and the tests drive schedules with any clock they like.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .errors import AbacoError, InvalidSchedule, PluginError
from .timefmt import display

__all__ = ["NOT_A_SCHEDULE", "Due", "Schedule", "as_utc", "parse_schedule", "reload_schedule"]

log = logging.getLogger(__name__)

#: Upstream's answer to a string that no grammar understands (spec §9.2).
NOT_A_SCHEDULE = "The cron is not in the correct format"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# datetimes have microsecond resolution, so "at or after t" is "after t - 1 µs"
_TICK = timedelta(microseconds=1)


def as_utc(t: datetime) -> datetime:
    """``t`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class Due:
    """What the cron agent does at one tick (see :meth:`Schedule.due_slots`)."""

    #: the slot to run now (the latest due one), or ``None`` when nothing is due
    fire: datetime | None
    #: the first slot after now: the new ``cron_next_ex``
    next: datetime
    #: the earliest slot skipped, when more than one slot was due (for the log)
    missed_from: datetime | None = None


class Schedule(ABC):
    """A parsed schedule: a strictly increasing series of UTC instants ("slots").

    A grammar subclasses this and implements :meth:`next_after` and
    :meth:`last_at_or_before`; everything else is derived. Call :meth:`resolve` (or
    :func:`parse_schedule`, which does) before using a freshly claimed schedule.
    """

    #: short name of the grammar, e.g. ``"abaco"`` or ``"cron"``
    grammar: ClassVar[str] = "?"
    #: slots fall on whole multiples of this (UTC)
    granularity: ClassVar[timedelta] = timedelta(minutes=1)

    def __init__(self, expression: str, timezone: str | None = None) -> None:
        self.expression = expression
        self.timezone = timezone

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.expression!r} tz={self.timezone!r}>"

    # -- what a grammar implements -------------------------------------------------------

    @abstractmethod
    def next_after(self, t: datetime) -> datetime:
        """The first slot strictly after ``t``. Raises ``InvalidSchedule`` when there is none."""

    @abstractmethod
    def last_at_or_before(self, t: datetime) -> datetime | None:
        """The latest slot at or before ``t``, or ``None`` when there is none."""

    @property
    def origin(self) -> datetime | None:
        """The first slot of an anchored schedule (Abaco's start); ``None`` when the
        series has no beginning (standard cron)."""
        return None

    def resolve(self, now: datetime, *, check_past: bool = True) -> Schedule:
        """Validate against ``now`` and fix whatever depends on it; returns the schedule
        to use. ``check_past=False`` is for re-reading a stored schedule."""
        return self

    # -- derived -------------------------------------------------------------------------

    def floor(self, t: datetime) -> datetime:
        """``t`` truncated to the grammar's granularity."""
        t = as_utc(t)
        return t - (t - _EPOCH) % self.granularity

    def first_at_or_after(self, t: datetime) -> datetime:
        return self.next_after(as_utc(t) - _TICK)

    def first_slot(self, now: datetime) -> datetime:
        """The slot a schedule registered at ``now`` runs first: what ``cron_next_ex``
        shows after a POST or PUT."""
        return self.first_at_or_after(now)

    def upcoming(self, now: datetime, count: int) -> list[datetime]:
        """The next ``count`` fire times from ``now`` (the first is :meth:`first_slot`)."""
        out: list[datetime] = []
        for _ in range(count):
            out.append(self.next_after(out[-1]) if out else self.first_slot(now))
        return out

    def display_next(self, slot: datetime) -> str:
        """How the API shows a slot in ``cron_next_ex``: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
        return display(as_utc(slot)) or ""

    def parse_next(self, text: str) -> datetime:
        """The inverse of :meth:`display_next`, for reading a stored ``cron_next_ex``."""
        try:
            return as_utc(datetime.fromisoformat(text.strip()))
        except (AttributeError, TypeError, ValueError):
            raise InvalidSchedule(f"{text!r} is not a next execution time") from None

    def due_slots(self, last_fired: datetime | None, now: datetime) -> Due:
        """The catch-up rule (spec §9.4, Q29): of the slots after ``last_fired`` and at or
        before ``now``, run only the latest, once, then follow the normal cadence from the
        first slot after ``now``.

        ``last_fired`` is the last slot that ran; any instant from it up to (excluding) the
        next slot means the same. ``None`` means nothing ran yet: an anchored schedule is
        due from its origin, an unanchored one from ``now`` (no backlog).
        """
        now = as_utc(now)
        if last_fired is not None:
            candidate = self.next_after(last_fired)
        elif self.origin is not None:
            candidate = self.first_at_or_after(self.origin)
        else:
            candidate = self.first_at_or_after(now)
        if candidate > now:
            return Due(fire=None, next=candidate)
        fire = self.last_at_or_before(now) or candidate
        return Due(fire=fire, next=self.next_after(now), missed_from=candidate if candidate < fire else None)

    def due_from(self, pending: datetime, now: datetime) -> Due:
        """:meth:`due_slots` for the agent, which stores the pending slot (``cron_next_ex``)
        rather than the last one fired."""
        return self.due_slots(as_utc(pending) - _TICK, now)


def parse_schedule(
    pm_or_hook: Any, expression: Any, timezone: str | None, now: datetime, *, check_past: bool = True
) -> Schedule:
    """Ask the grammars (``abaco_parse_schedule``, first claim wins) for ``expression`` and
    resolve the result against ``now`` (the injected clock).

    Raises ``InvalidSchedule`` (HTTP 400) when no grammar claims the string or the claiming
    grammar rejects it, and ``PluginError`` when a grammar plugin misbehaves.
    ``check_past=False`` skips the "start already past" check, for a stored schedule.
    """
    return _claim(pm_or_hook, expression, timezone).resolve(as_utc(now), check_past=check_past)


def reload_schedule(
    pm_or_hook: Any, expression: Any, timezone: str | None, shown_next: str
) -> tuple[Schedule, datetime]:
    """The cron agent's view of a stored actor: its schedule and pending slot, read back from
    ``cron_schedule`` and ``cron_next_ex``. A relative start (``now + ...``) is anchored at
    the pending slot, so the cadence carries on from where it was."""
    claimed = _claim(pm_or_hook, expression, timezone)
    pending = claimed.parse_next(shown_next)
    return claimed.resolve(pending, check_past=False), pending


def _claim(pm_or_hook: Any, expression: Any, timezone: str | None) -> Schedule:
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidSchedule(NOT_A_SCHEDULE)
    if timezone is not None and not isinstance(timezone, str):
        raise InvalidSchedule("The time zone must be a string naming an IANA zone, such as 'Europe/Paris'")
    hook = getattr(pm_or_hook, "hook", pm_or_hook)
    try:
        schedule = hook.abaco_parse_schedule(expression=expression, timezone=timezone or None)
    except AbacoError:
        raise
    except Exception as exc:  # a grammar plugin's bug, not the user's input
        log.exception("a schedule grammar plugin failed on %r", expression)
        raise PluginError(f"a schedule grammar plugin failed: {exc!r}") from exc
    if schedule is None:
        raise InvalidSchedule(NOT_A_SCHEDULE)
    if not isinstance(schedule, Schedule):
        raise PluginError(f"a schedule grammar returned {type(schedule).__name__}, not an abaco Schedule")
    return schedule
