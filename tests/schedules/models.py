"""Reference models the grammars are checked against, written without the code under test:
calendar arithmetic for Abaco's grammar, croniter's own field expansion and matcher for
standard cron."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
HOURS_PER = {"hour": 1, "day": 24, "week": 24 * 7}


class AbacoModel:
    """The slots of ``start + k·count·unit``, by walking the calendar one slot at a time."""

    def __init__(self, start: datetime, count: int, unit: str) -> None:
        self.start, self.count, self.unit = start, count, unit

    def slots(self):
        if self.unit != "month":
            step = timedelta(hours=self.count * HOURS_PER[self.unit])
            slot = self.start
            while True:
                yield slot
                slot += step
        year, month = self.start.year, self.start.month
        while year <= 9999:
            last_day = calendar.monthrange(year, month)[1]
            yield self.start.replace(year=year, month=month, day=min(self.start.day, last_day))
            month += self.count
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1

    def is_slot(self, t: datetime) -> bool:
        """Predicate form: whole hour, on the cadence, the start's day or the month's last."""
        if t < self.start or t.minute or t.second or t.microsecond:
            return False
        if self.unit != "month":
            hours = (t - self.start) // HOUR
            return hours % (self.count * HOURS_PER[self.unit]) == 0
        months = (t.year - self.start.year) * 12 + t.month - self.start.month
        last_day = calendar.monthrange(t.year, t.month)[1]
        return (
            months % self.count == 0 and t.hour == self.start.hour and t.day == min(self.start.day, last_day)
        )

    def next_after(self, t: datetime) -> datetime:
        for slot in self.slots():
            if slot > t:
                return slot
        raise AssertionError("no slot")


class CronModel:
    """A UTC minute is a slot when its wall time in the zone matches the expression, or when
    it ends a forward DST jump that skipped a matching wall time."""

    def __init__(self, expression: str, zone: str) -> None:
        self.expression = expression
        self.zone = ZoneInfo(zone)
        expanded, _ = croniter.expand(expression)
        self.sets = [None if field == ["*"] else set(field) for field in expanded]
        self.day_or = self.sets[2] is not None and self.sets[4] is not None

    def wall_matches(self, wall: datetime) -> bool:
        minutes, hours, days, months, weekdays = self.sets
        if minutes is not None and wall.minute not in minutes:
            return False
        if hours is not None and wall.hour not in hours:
            return False
        if months is not None and wall.month not in months:
            return False
        day_ok = days is None or wall.day in days
        weekday_ok = weekdays is None or (wall.weekday() + 1) % 7 in weekdays
        return (day_ok or weekday_ok) if self.day_or else (day_ok and weekday_ok)

    def croniter_matches(self, wall: datetime) -> bool:
        """croniter's own matcher (slow: used to check :meth:`wall_matches` on samples)."""
        return croniter.match(self.expression, wall)

    def is_slot(self, t: datetime) -> bool:
        if t.second or t.microsecond:
            return False
        local = t.astimezone(self.zone)
        wall = local.replace(tzinfo=None)
        if self.wall_matches(wall):
            return True
        jump = local.utcoffset() - (t - MINUTE).astimezone(self.zone).utcoffset()
        skipped = int(jump // MINUTE)
        return any(self.wall_matches(wall - k * MINUTE) for k in range(1, skipped + 1))


def whole_steps(after: datetime, before: datetime, step: timedelta, limit: int):
    """The instants on whole ``step`` boundaries strictly between ``after`` and ``before``,
    at most ``limit`` of them (the bounded brute-force window)."""
    epoch = datetime(1970, 1, 1, tzinfo=after.tzinfo)
    t = after - (after - epoch) % step + step
    for _ in range(limit):
        if t >= before:
            return
        yield t
        t += step
