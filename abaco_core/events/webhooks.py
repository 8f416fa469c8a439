"""Webhook deliveries: one signed HTTP POST per attempt (our extension of spec §10.2).

Headers of every POST:

* ``X-Abaco-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Abaco-Signature``: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` with the
  ``ABACO_WEBHOOK_SECRET`` (absent when no secret is configured);
* ``X-Abaco-Delivery``: the delivery's id, the same on every retry (deduplicate on it:
  delivery is at least once).

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares it in
constant time, and refuses timestamps too far from its clock (replays). :func:`verify` does it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DELIVERY_HEADER",
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


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Abaco-Signature`` value of a body signed at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str, body: bytes, header: str, *, tolerance: float = 300, now: float | None = None
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    expected = signature(secret, timestamp, body).encode()
    # bytes: a header with non-ASCII characters is a mismatch, not a TypeError
    return age <= tolerance and hmac.compare_digest(expected, header.encode("utf-8", "backslashreplace"))


def redact(url: str) -> str:
    """The URL without its query string and credentials, for logs (a webhook URL may carry a
    nonce, spec §10.4)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def check_webhook(url: str) -> None:
    """A webhook must be an absolute http(s) URL (checked at registration and update)."""
    from ..errors import InvalidRequest

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidRequest("Invalid webhook parameter: the webhook must be an absolute http or https URL.")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is a failed attempt: the body is never re-sent elsewhere


_OPENER = urllib.request.build_opener(_NoRedirect)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post(url: str, body: bytes, *, delivery_id: str, secret: str | None, timeout: float, agent: str) -> int:
    """POST once; the status on 2xx, else :class:`WebhookFailed` with the reason."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": agent,
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookFailed(f"{type(exc).__name__}: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}")
    return status
