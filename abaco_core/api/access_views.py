"""How aliases (§4.6) and nonces (§4.5) are shown, with their ``_links`` (§2.8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..timefmt import display_or_none
from .views import Views

__all__ = ["alias_view", "nonce_view"]


def alias_view(views: Views, doc: dict[str, Any]) -> dict[str, Any]:
    return views._case(
        {
            "alias": doc["alias"],
            "actor_id": doc["actor_id"],
            "owner": doc["owner"],
            "_links": {
                # percent-encoded: an alias may hold ``%`` or non-ASCII letters
                "self": f"{views.api}/actors/v2/aliases/{quote(doc['alias'], safe='')}",
                "owner": views.profile_url(doc["owner"]),
                "actor": views.actor_url(doc["actor_id"]),
            },
        }
    )


def _time(value: str | None) -> str:
    return display_or_none(datetime.fromisoformat(value) if value else None)


def nonce_view(views: Views, doc: dict[str, Any]) -> dict[str, Any]:
    """Alias nonces show ``actor_id: null`` and carry the literal ``None`` in their links (a
    quirk clients know, §2.8)."""
    actor_url = views.actor_url(doc["actor_id"] if doc["actor_id"] is not None else "None")
    shown: dict[str, Any] = {
        "id": doc["id"],
        "actor_id": doc["actor_id"],
        "owner": doc["owner"],
        "roles": doc["roles"],
        "api_server": doc["api_server"],
        "level": doc["level"],
        "max_uses": doc["max_uses"],
        "remaining_uses": doc["remaining_uses"],
        "current_uses": doc["current_uses"],
        "description": doc["description"],
        "create_time": _time(doc["create_time"]),
        "last_use_time": _time(doc["last_use_time"]),
        "_links": {
            "self": f"{actor_url}/nonces/{doc['id']}",
            "owner": views.profile_url(doc["owner"]),
            "actor": actor_url,
        },
    }
    if "alias" in doc:
        shown["alias"] = doc["alias"]
    return views._case(shown)
