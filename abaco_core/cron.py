"""The cron agent: turns due schedule slots into messages (spec §9.4, Q29, Q30).

Every slot of an actor's schedule fires at most once: the execution a slot creates has an
id derived from the actor and the slot, so a second scheduler racing for the same slot
gets a conflict from the store instead of a second execution; and each handled slot is
recorded, so the next pass moves on. After downtime only the latest missed slot runs (one
catch-up execution), then the normal cadence resumes. While ``cron_on`` is false slots are
recorded without running, so switching it back on resumes the cadence without a burst.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hashids import Hashids

from .errors import AbacoError, Conflict
from .models import Actor, ActorStatus
from .schedules import Schedule, parse_schedule

if TYPE_CHECKING:
    from .platform import Platform

__all__ = ["CRON_MESSAGE", "CronAgent", "cron_execution_id"]

log = logging.getLogger(__name__)

CRON_MESSAGE = "This is your cron execution"
_IDS = Hashids(salt="eJa5wZlEX4eWU")
_TICK = timedelta(microseconds=1)


def cron_execution_id(tenant: str, actor_id: str, slot: datetime) -> str:
    """The id of the execution a slot creates: the same for every scheduler."""
    digest = hashlib.sha256(f"{tenant}/{actor_id}/{slot.isoformat()}".encode()).digest()
    return _IDS.encode(int.from_bytes(digest[:7], "big"))


class CronAgent:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def schedule_of(self, actor: Actor) -> Schedule | None:
        """The actor's schedule, anchored where it was registered; ``None`` without one."""
        if not actor.cron_schedule:
            return None
        anchor = actor.cron_anchor or actor.last_update_time or self.p.clock()
        return parse_schedule(self.p.pm, actor.cron_schedule, actor.cron_timezone, anchor, check_past=False)

    def _last_fired(self, actor: Actor, schedule: Schedule) -> datetime | None:
        """The last slot handled under the current schedule (slots of an older schedule, from
        before the last change, do not count)."""
        anchor = actor.cron_anchor or actor.create_time or self.p.clock()
        last = self.p.store.last_cron_slot(actor.tenant, actor.id)
        if last is not None and last >= schedule.floor(anchor):
            return last
        # nothing ran yet: an anchored schedule starts at its origin; an unanchored one
        # counts from its registration, so a slot missed while the agent was down still runs
        return None if schedule.origin is not None else anchor - _TICK

    def next_fire(self, actor: Actor) -> str | None:
        """What ``cron_next_ex`` shows: the next slot that has not fired yet."""
        try:
            schedule = self.schedule_of(actor)
        except AbacoError:
            return None
        if schedule is None:
            return None
        last = self._last_fired(actor, schedule)
        if last is None:
            pending = schedule.first_at_or_after(schedule.origin or self.p.clock())
        else:
            pending = schedule.next_after(last)
        return schedule.display_next(pending)

    def tick(self, now: datetime | None = None) -> int:
        """One pass over every actor with a schedule; returns how many executions it queued."""
        now = now or self.p.clock()
        queued = 0
        for actor in self.p.store.list_actors(None):
            if not actor.cron_schedule or actor.status == ActorStatus.SHUTTING_DOWN:
                continue
            try:
                queued += self._tick_actor(actor, now)
            except AbacoError as exc:
                log.warning("cron pass for actor %s failed: %s", actor.id, exc)
        return queued

    def _tick_actor(self, actor: Actor, now: datetime) -> int:
        schedule = self.schedule_of(actor)
        assert schedule is not None
        due = schedule.due_slots(self._last_fired(actor, schedule), now)
        if due.fire is None:
            return 0
        if due.missed_from is not None:
            log.info(
                "actor %s: cron slots from %s missed; running %s once", actor.id, due.missed_from, due.fire
            )
        queued = 0
        if actor.cron_on:
            try:
                self.p.send_cron_message(actor, cron_execution_id(actor.tenant, actor.id, due.fire))
                queued = 1
            except Conflict:
                pass  # another scheduler ran this slot
        self.p.store.record_cron_slot(actor.tenant, actor.id, due.fire, now)
        return queued

    # -- the loop ----------------------------------------------------------------------------

    def start(self, interval: float) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="cron", daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.tick()
            except AbacoError as exc:
                log.warning("cron pass failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
