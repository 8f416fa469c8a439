"""Events, links and webhooks (spec §10): the producer records a delivery per target when an
actor with a ``link`` or a ``webhook`` becomes ``READY`` or ``ERROR`` or completes an
execution; the agent delivers them durably, off the execution path."""

from __future__ import annotations

from .agent import EventAgent
from .model import ACTOR_ERROR, ACTOR_READY, DELIVERY, EXECUTION_COMPLETE, EXECUTOR
from .producer import EventProducer
from .webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, verify

__all__ = [
    "ACTOR_ERROR",
    "ACTOR_READY",
    "DELIVERY",
    "EXECUTION_COMPLETE",
    "EXECUTOR",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EventAgent",
    "EventProducer",
    "signature",
    "verify",
]
