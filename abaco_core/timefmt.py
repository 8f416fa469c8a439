"""How times are shown: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` everywhere (spec §2.7, Q23)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["display", "display_or_none", "parse_engine_time"]


def display(value: datetime | None) -> str | None:
    """``2021-05-17T12:34:56.789Z``; ``None`` stays ``None`` (JSON ``null``)."""
    if value is None:
        return None
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def display_or_none(value: datetime | None) -> str:
    """Like :func:`display`, but the literal string ``"None"`` when unset, as upstream shows
    unset times on actors and workers."""
    shown = display(value)
    return "None" if shown is None else shown


def parse_engine_time(value: str | None) -> datetime | None:
    """An RFC 3339 time from a container engine (nanoseconds allowed); year 1 → ``None``."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.strip().replace("Z", "+00:00")
    # datetime accepts at most 6 fractional digits
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
