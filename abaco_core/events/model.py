"""What an event is (spec §10.1) and how a pending delivery is stored.

A delivery is a stored object of kind :data:`DELIVERY` in the source actor's tenant, one per
target of one event, inserted in emission order::

    {"tenant": <tenant>, "event": {...}, "target": "link" | "webhook", "to": <actor id> | <url>,
     "source": <source actor id>, "attempts": 0, "due": <epoch s>,
     "lease_owner": "", "lease_until": 0.0, "last_error": ""}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Actor
from ..timefmt import display

__all__ = [
    "ACTOR_ERROR",
    "ACTOR_READY",
    "DELIVERY",
    "EXECUTION_COMPLETE",
    "EXECUTOR",
    "LINK",
    "WEBHOOK",
    "build_event",
]

ACTOR_READY = "ACTOR_READY"
ACTOR_ERROR = "ACTOR_ERROR"
EXECUTION_COMPLETE = "EXECUTION_COMPLETE"

DELIVERY = "event"
LINK = "link"
WEBHOOK = "webhook"
#: ``executor`` of link executions and ``_abaco_username`` of every delivery (spec §10.2)
EXECUTOR = "Abaco Event"


def build_event(
    actor: Actor, event_type: str, link_target: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    """The fields every event carries, then the type's own (``status_message``, or
    ``execution_id``/``status``/``exit_code``)."""
    shown = display(now)
    return {
        "event_type": event_type,
        "tenant_id": actor.tenant,
        "actor_id": actor.id,
        "actor_dbid": actor.dbid,
        "event_time_utc": shown,
        "event_time_display": shown,
        "_abaco_link": link_target,
        "_abaco_webhook": actor.webhook or "",
        **extra,
    }
