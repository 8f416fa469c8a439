"""Events, links and webhooks (spec §10): the producer records a delivery per target when an
actor with a ``link`` or a ``webhook`` becomes ``READY`` or ``ERROR`` or completes an
execution; the agent delivers them durably, off the execution path."""

from __future__ import annotations

from .agent import EventAgent
from .model import ACTOR_ERROR, ACTOR_READY, DELIVERY, EXECUTION_COMPLETE, EXECUTOR
from .producer import EventProducer
from .signing import WebhookSecrets
from .webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, verify

__all__ = [
    "ACTOR_ERROR",
    "ACTOR_READY",
    "DELIVERY",
    "DELIVERY_HEADER",
    "EXECUTION_COMPLETE",
    "EXECUTOR",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EventAgent",
    "EventProducer",
    "WebhookSecrets",
    "signature",
    "verify",
]
