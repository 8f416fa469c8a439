"""The event producer: hook implementations that turn status changes and completed
executions into stored deliveries. It writes and wakes the agent, nothing more, so the
worker that fired the hook goes on at once."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..errors import AbacoError, ActorNotFound
from ..hookspecs import hookimpl
from ..ids import new_id
from ..models import Actor, ActorStatus, Execution, ExecutionStatus
from ..records import ExitInfo
from ..targets import actor_id_of
from .model import (
    ACTOR_ERROR,
    ACTOR_READY,
    DELIVERY,
    EXECUTION_COMPLETE,
    LINK,
    WEBHOOK,
    build_event,
)

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["EventProducer"]

log = logging.getLogger(__name__)


class EventProducer:
    """Registered on the platform's plugin manager by the platform itself."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform

    @hookimpl
    def abaco_actor_status_changed(self, actor: Actor, previous: str) -> None:
        if actor.status == ActorStatus.READY:
            self.emit(actor, ACTOR_READY, status_message=actor.status_message)
        elif actor.status == ActorStatus.ERROR:
            self.emit(actor, ACTOR_ERROR, status_message=actor.status_message)

    @hookimpl
    def abaco_execution_finished(self, execution: Execution, exit_info: ExitInfo | None) -> None:
        if execution.status != ExecutionStatus.COMPLETE:
            return
        try:
            actor = self.p.store.get_actor(execution.tenant, execution.actor_id)
        except ActorNotFound:
            return
        except AbacoError as exc:
            log.error("event EXECUTION_COMPLETE of %s lost: %s", execution.id, exc)
            return
        self.emit(
            actor,
            EXECUTION_COMPLETE,
            execution_id=execution.id,
            status=execution.status.value,
            exit_code=execution.exit_code,
        )

    def emit(self, actor: Actor, event_type: str, **extra: Any) -> int:
        """Store one delivery per target of the actor (none without ``link``/``webhook``);
        return how many. A store failure is logged, never raised into the caller."""
        if not actor.link and not actor.webhook:
            return 0
        try:
            target = actor_id_of(self.p.store, actor.tenant, actor.link) if actor.link else None
            event = build_event(actor, event_type, target or "", self.p.clock(), **extra)
            targets: list[tuple[str, str]] = []
            if actor.link:
                targets.append((LINK, target or actor.link))
            if actor.webhook:
                targets.append((WEBHOOK, actor.webhook))
            now = time.time()
            for kind, to in targets:
                doc = {
                    "tenant": actor.tenant,
                    "event": event,
                    "target": kind,
                    "to": to,
                    "source": actor.id,
                    "attempts": 0,
                    "due": now,
                    "lease_owner": "",
                    "lease_until": 0.0,
                    "last_error": "",
                }
                self.p.store.create_object(actor.tenant, DELIVERY, f"{new_id()}-{kind}", doc)
        except AbacoError as exc:
            log.error("event %s of actor %s lost: %s", event_type, actor.id, exc)
            return 0
        self.p.events.wake()
        return len(targets)
