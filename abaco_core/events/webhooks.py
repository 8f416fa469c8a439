"""Webhook deliveries: one signed HTTP POST per attempt (our extension of spec §10.2).

Headers of every POST:

* ``X-Abaco-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Abaco-Delivery``: the delivery's id, the same on every retry (deduplicate on it:
  delivery is at least once);
* ``X-Abaco-Signature``: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery>." + body)>``
  with the source actor's own secret (:mod:`.signing`); absent only when the deployment has
  no encryption key to keep such secrets.

A receiver recomputes the HMAC over the timestamp, the delivery id and the raw body, compares
it in constant time, refuses timestamps too far from its clock (replays) and delivery ids it
has already processed. :func:`verify` does the first three.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidRequest
from .transport import AttemptFailed, Resolver, is_public, resolve, send

__all__ = [
    "DELIVERY_HEADER",
    "INVALID_PORT",
    "INVALID_URL",
    "NOT_PUBLIC",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookFailed",
    "check_webhook",
    "post",
    "redact",
    "signature",
    "verify",
]

SIGNATURE_HEADER = "X-Abaco-Signature"
TIMESTAMP_HEADER = "X-Abaco-Timestamp"
DELIVERY_HEADER = "X-Abaco-Delivery"


class WebhookFailed(Exception):
    """An attempt failed: no connection, a timeout, or a status other than 2xx."""


def signature(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """The ``X-Abaco-Signature`` value of a delivery's body signed at ``timestamp``."""
    signed = f"{timestamp}.{delivery_id}.".encode() + body
    return f"sha256={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    delivery_id: str,
    body: bytes,
    header: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
        expected = signature(secret, timestamp, delivery_id, body).encode()
    except (ValueError, UnicodeEncodeError):  # not a number; a header no sender could have made
        return False
    # bytes: a header with non-ASCII characters is a mismatch, not a TypeError
    return age <= tolerance and hmac.compare_digest(expected, header.encode("utf-8", "backslashreplace"))


def redact(url: str) -> str:
    """``scheme://host[:port]`` of a URL, for logs: its path and query may carry a nonce or
    a token (spec §10.4), its user part a password. Never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return f"{shown}/..." if parts.path.strip("/") or parts.query else shown


INVALID_URL = "Invalid webhook parameter: the webhook must be an absolute http or https URL."
INVALID_PORT = "Invalid webhook parameter: the port of the webhook must be a number from 1 to 65535."
NOT_PUBLIC = (
    "Invalid webhook parameter: this server does not send webhooks to loopback, link-local, private or "
    "multicast addresses."
)


def check_webhook(url: str, *, allow_private: bool = True) -> None:
    """A webhook must be an absolute http(s) URL with a valid port and no whitespace or
    control characters (checked at registration and update). Without ``allow_private``, an
    address literal or ``localhost`` that is not public is refused here already; other names
    are checked when they are resolved, at every delivery."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidRequest(INVALID_URL)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        raise InvalidRequest(INVALID_URL) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(INVALID_URL)
    try:
        port = parts.port
    except ValueError:
        raise InvalidRequest(INVALID_PORT) from None
    if port == 0:
        raise InvalidRequest(INVALID_PORT)
    if not allow_private and _names_no_public_address(parts.hostname):
        raise InvalidRequest(NOT_PUBLIC)


def _names_no_public_address(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not is_public(host)
    except ValueError:  # a name
        return False


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post(
    url: str,
    body: bytes,
    *,
    delivery_id: str,
    secret: str | None,
    deadline: float,
    agent: str,
    allow_private: bool,
    resolver: Resolver = resolve,
) -> int:
    """POST once, within ``deadline`` seconds in all; the status on 2xx, else
    :class:`WebhookFailed` with a reason that shows no part of the URL beyond its host."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": agent,
        "Connection": "close",
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, delivery_id, body)
    failure: str | None = None
    status = 0
    try:
        status = send(url, body, headers, deadline=deadline, allow_private=allow_private, resolver=resolver)
    except AttemptFailed as exc:
        failure = str(exc)
    except Exception as exc:  # any failure of this attempt (BadStatusLine, InvalidURL ...) is one
        failure = _reason(exc, url)
    # raised outside the handler: the original exception, which may quote the URL, stays behind
    if failure is not None:
        raise WebhookFailed(failure)
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}")
    return status


def _reason(exc: Exception, url: str) -> str:
    """What went wrong, for logs and ``last_error``: the exception without any part of the URL
    beyond its host (the path and query may carry a nonce or a token)."""
    text = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    hidden = [url]
    try:
        parts = urlsplit(url)
        hidden += [parts.path, parts.query, parts.fragment, parts.netloc.rpartition("@")[0]]
    except ValueError:
        hidden += [url.partition("//")[2]]
    for part in sorted((p for p in hidden if len(p) > 1), key=len, reverse=True):
        text = text.replace(part, "<redacted>")
    return text[:300]
