"""Identifiers: Hashids of time-based UUIDs, like Abaco's (spec §2.6)."""

from __future__ import annotations

import functools
import uuid

from hashids import Hashids

__all__ = ["is_hashid", "new_id"]

_HASHIDS = Hashids(salt="eJa5wZlEX4eWU")


def new_id() -> str:
    """A new 12–13 character id from the upper 64 bits of a UUID1."""
    return _HASHIDS.encode(uuid.uuid1().int >> 64)


@functools.lru_cache(maxsize=4096)
def is_hashid(value: str) -> bool:
    """Whether ``value`` decodes as one of our ids (then it is an actor id, not an alias).
    Cached: every request decodes its actor id, and decoding costs about 0.1 ms."""
    if not value or len(value) > 32:  # ours are 12-13 characters; decoding is quadratic
        return False
    try:
        return bool(_HASHIDS.decode(value))
    except Exception:  # hashids raises assorted errors on odd input
        return False
