"""The events agent: delivers the stored deliveries (spec §10.2, ours at least once).

A component like the cron agent: the embedded platform starts it, a scheduler process can
run it alone. Each pass lists the pending deliveries oldest first and

* delivers **link** deliveries itself, in emission order per source actor: an execution of
  the target with the event as its JSON message, whose id derives from the delivery, so a
  redelivery after a crash never runs it twice; a worker is ensured (Q30);
* hands **webhook** deliveries to a small thread pool (``ABACO_WEBHOOK_CONCURRENCY``), taking
  one only when a thread is free, each POST bounded by ``ABACO_WEBHOOK_TIMEOUT`` in all
  (:mod:`.transport`); a failed attempt (any error) is retried after
  ``ABACO_WEBHOOK_RETRY_BASE * 2^(n-1)`` seconds (capped by ``ABACO_WEBHOOK_RETRY_MAX``) up to
  ``ABACO_WEBHOOK_MAX_ATTEMPTS`` attempts, then dropped with a warning.

Several agents (several schedulers) may run: a delivery is leased through an atomic update
before it is worked on, and a lease that outlives its holder expires.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hashids import Hashids

from ..crypto import SecretsUnavailable
from ..errors import AbacoError, ActorNotFound, ConfigError, ObjectNotFound
from ..links import loops_back
from .model import DELIVERY, LINK, WEBHOOK
from .webhooks import WebhookFailed, body_of, post, redact

if TYPE_CHECKING:
    from ..platform import Platform

__all__ = ["EventAgent", "link_execution_id"]

log = logging.getLogger(__name__)

_IDS = Hashids(salt="eJa5wZlEX4eWU")
#: how long a link delivery may take before another agent may take it over (seconds)
LINK_LEASE = 30.0
#: a webhook delivery's lease outlasts its POST's deadline (``ABACO_WEBHOOK_TIMEOUT``) by this
#: much: name resolution, which the deadline cannot interrupt, and scheduling
WEBHOOK_LEASE_MARGIN = 30.0


def link_execution_id(tenant: str, delivery_key: str) -> str:
    """The id of the execution a link delivery creates: the same on every attempt."""
    digest = hashlib.sha256(f"{tenant}/event/{delivery_key}".encode()).digest()
    return _IDS.encode(int.from_bytes(digest[:7], "big"))


class _Leased(Exception):
    """Another agent holds the delivery."""


class EventAgent:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.name = f"events-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._said_unsigned = False

    # -- the loop ----------------------------------------------------------------------------

    def wake(self) -> None:
        """A new delivery was stored: run a pass now rather than at the next interval."""
        self._wake.set()

    @property
    def _concurrency(self) -> int:
        return max(1, self.p.settings.webhook_concurrency)

    def start(self, interval: float) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="events", daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except AbacoError as exc:
                log.warning("events pass failed: %s", exc)
            except Exception:  # a bug must not end the thread: the next pass tries again
                log.exception("events pass failed unexpectedly")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            # a POST in flight ends by its timeout; its delivery stays stored until then
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- one pass ------------------------------------------------------------------------------

    def tick(self) -> int:
        """Deliver what is due; return how many deliveries were completed or handed to the
        webhook pool. Without a started pool, webhooks are posted inline (tests, one-shot)."""
        now = time.time()
        done = 0
        blocked: set[tuple[str, str]] = set()  # sources whose older link delivery is pending
        for key, doc in self._pending():
            tenant = doc["_tenant"]
            if doc.get("target") == LINK:
                lane = (tenant, str(doc.get("source")))
                if lane in blocked:
                    continue
                if doc.get("due", 0) > now or not self._lease(tenant, key, now, LINK_LEASE):
                    blocked.add(lane)
                    continue
                if self._deliver_link(tenant, key, doc):
                    done += 1
                else:
                    blocked.add(lane)
            elif doc.get("target") == WEBHOOK:
                with self._lock:
                    # a delivery is leased only when a pool thread is free to start it, so its
                    # lease never runs out while it waits in the pool's queue
                    full = self._pool is not None and len(self._inflight) >= self._concurrency
                    if full or (tenant, key) in self._inflight:
                        continue
                lease = self.p.settings.webhook_timeout + WEBHOOK_LEASE_MARGIN
                if doc.get("due", 0) > now or not self._lease(tenant, key, now, lease):
                    continue
                done += 1
                with self._lock:
                    self._inflight.add((tenant, key))
                if self._pool is None:
                    self._run_webhook(tenant, key, doc)
                    continue
                try:
                    self._pool.submit(self._run_webhook, tenant, key, doc)
                except RuntimeError:  # stopping
                    with self._lock:
                        self._inflight.discard((tenant, key))
                    return done
            else:
                log.warning("dropping event delivery %s with unknown target %r", key, doc.get("target"))
                self.p.store.delete_object(tenant, DELIVERY, key)
        return done

    def _pending(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored delivery of every tenant, oldest first (each carries its tenant)."""
        return [
            (key, {**doc, "_tenant": str(doc.get("tenant", ""))})
            for key, doc in self.p.store.list_objects(None, DELIVERY)
        ]

    def _lease(self, tenant: str, key: str, now: float, seconds: float) -> bool:
        """Take the delivery for ``seconds``, unless another agent holds a live lease."""

        def take(doc: dict[str, Any]) -> dict[str, Any]:
            if doc.get("lease_until", 0) > now and doc.get("lease_owner") not in ("", self.name):
                raise _Leased
            return {**doc, "lease_owner": self.name, "lease_until": now + seconds}

        try:
            self.p.store.update_object(tenant, DELIVERY, key, take)
            return True
        except (_Leased, ObjectNotFound):
            return False

    def _retry_later(self, tenant: str, key: str, delay: float, reason: str) -> int:
        """Count a failed attempt and release the lease until ``delay`` from now."""

        def fail(doc: dict[str, Any]) -> dict[str, Any]:
            return {
                **doc,
                "attempts": int(doc.get("attempts", 0)) + 1,
                "due": time.time() + delay,
                "lease_owner": "",
                "lease_until": 0.0,
                "last_error": reason,
            }

        try:
            return int(self.p.store.update_object(tenant, DELIVERY, key, fail)["attempts"])
        except ObjectNotFound:
            return 0

    # -- links ----------------------------------------------------------------------------------

    def _deliver_link(self, tenant: str, key: str, doc: dict[str, Any]) -> bool:
        event = doc.get("event", {})
        try:
            target = self.p.store.get_actor(tenant, str(doc.get("to")))
        except AbacoError:
            target = None
        try:
            if target is None:
                log.warning(
                    "event %s of actor %s: the linked actor %s no longer exists; dropped",
                    event.get("event_type"),
                    doc.get("source"),
                    doc.get("to"),
                )
            elif loops_back(self.p.store, tenant, str(doc.get("source")), target.id):
                log.warning(
                    "event %s of actor %s: its links to actor %s come back to it (a loop of links "
                    "written by concurrent updates, say); dropped, fix the links",
                    event.get("event_type"),
                    doc.get("source"),
                    target.id,
                )
            else:
                self.p.send_event_message(target, event, link_execution_id(tenant, key))
            self.p.store.delete_object(tenant, DELIVERY, key)
            return True
        except AbacoError as exc:
            log.warning("event delivery %s to actor %s failed, will retry: %s", key, doc.get("to"), exc)
            self._retry_later(tenant, key, min(self.p.settings.webhook_retry_max, 5.0), str(exc))
            return False

    # -- webhooks -------------------------------------------------------------------------------

    def _run_webhook(self, tenant: str, key: str, doc: dict[str, Any]) -> None:
        """One webhook attempt, as the pool runs it: an exception nobody expected is logged
        and counts as a failed attempt, rather than vanishing into the task's future."""
        try:
            self._deliver_webhook(tenant, key, doc)
        except Exception as exc:
            log.exception("webhook delivery %s failed unexpectedly; it will be retried", key)
            try:
                self._attempt_failed(tenant, key, doc, f"internal error: {type(exc).__name__}")
            except Exception:
                log.exception("webhook delivery %s: cannot record the failed attempt", key)
        finally:
            with self._lock:
                self._inflight.discard((tenant, key))
            self._wake.set()

    def _deliver_webhook(self, tenant: str, key: str, doc: dict[str, Any]) -> None:
        settings = self.p.settings
        url = str(doc.get("to"))
        payload = {
            **doc.get("event", {}),
            "_abaco_Content_Type": "application/json",
            "_abaco_username": "Abaco Event",
            "_abaco_api_server": settings.resolved_api_server,
        }
        try:
            try:
                secret = self._secret_of(tenant, str(doc.get("source")))
            except ActorNotFound:
                log.info(
                    "webhook delivery %s: actor %s was deleted, and its secret; dropped",
                    key,
                    doc.get("source"),
                )
                self.p.store.delete_object(tenant, DELIVERY, key)
                return
            except ConfigError as exc:
                self._attempt_failed(tenant, key, doc, exc.message)
                return
            try:
                post(
                    url,
                    body_of(payload),
                    delivery_id=key,
                    secret=secret,
                    deadline=settings.webhook_timeout,
                    agent=f"abaco/{settings.version}",
                    allow_private=settings.webhook_private_allowed,
                )
            except WebhookFailed as exc:
                self._attempt_failed(tenant, key, doc, str(exc))
                return
            self.p.store.delete_object(tenant, DELIVERY, key)
        except AbacoError as exc:
            log.warning("webhook delivery %s: the store failed (%s); it will be retried", key, exc)

    def _secret_of(self, tenant: str, actor_id: str) -> str | None:
        """The source actor's signing secret; ``None`` (unsigned) on a deployment without an
        encryption key, which is said once in the log."""
        try:
            return self.p.webhook_secrets.get(tenant, actor_id)
        except SecretsUnavailable:
            if not self._said_unsigned:
                self._said_unsigned = True
                log.warning(
                    "webhooks are sent unsigned: signing secrets need ABACO_ENCRYPTION_KEY on this deployment"
                )
            return None

    def _attempt_failed(self, tenant: str, key: str, doc: dict[str, Any], reason: str) -> None:
        """Retry after the backoff of this attempt, or drop the delivery after the last one."""
        settings = self.p.settings
        url = redact(str(doc.get("to")))
        attempts = int(doc.get("attempts", 0)) + 1
        if attempts >= settings.webhook_max_attempts:
            log.warning(
                "webhook %s: attempt %d failed (%s); giving up on delivery %s", url, attempts, reason, key
            )
            self.p.store.delete_object(tenant, DELIVERY, key)
            return
        delay = min(settings.webhook_retry_max, settings.webhook_retry_base * 2 ** (attempts - 1))
        log.info("webhook %s: attempt %d failed (%s); retrying in %.1f s", url, attempts, reason, delay)
        self._retry_later(tenant, key, delay, reason)
