"""snake_case ↔ camelCase for field names (spec §2.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["camelize_keys", "to_camel"]


def to_camel(name: str) -> str:
    """``execution_id`` → ``executionId``; a leading underscore is kept (``_links``)."""
    lead = "_" if name.startswith("_") else ""
    words = name.lstrip("_").split("_")
    return lead + words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


def camelize_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Convert only the top-level keys; nested objects keep theirs."""
    return {to_camel(k): v for k, v in obj.items()}
