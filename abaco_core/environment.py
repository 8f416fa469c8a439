"""The container environment of one execution (spec §8.2–8.4).

Values are rendered the way Abaco's Docker client rendered Python objects, because actor
images parse them: strings verbatim, numbers in decimal, booleans ``True``/``False``, dicts
and lists as Python literals (``repr``), and ``None`` as an empty value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import Actor, Execution, Message, Worker

__all__ = ["BINARY", "JSON", "TEXT", "build_environment", "format_value"]

TEXT = "str"
JSON = "application/json"
BINARY = "application/octet-stream"


def format_value(value: Any) -> str | None:
    """One environment value as an actor image expects it (spec §8.4)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return repr(value)


def build_environment(
    *,
    actor: Actor,
    execution: Execution,
    message: Message,
    worker: Worker,
    access_token: str = "",
    actor_configs: Mapping[str, Any] | None = None,
) -> dict[str, str | None]:
    """Environment in the precedence order of spec §8.3 (later entries win)."""
    env: dict[str, str | None] = {}
    for key, value in (actor.default_environment or {}).items():
        env[str(key)] = format_value(value)
    # message metadata: query parameters, then the server metadata (already merged in
    # that order when the message was accepted)
    for key, value in message.metadata.items():
        env[str(key)] = format_value(value)
    env.update(
        {
            "_abaco_execution_id": execution.id,
            "_abaco_Content_Type": message.content_type,
            "_abaco_access_token": access_token,
            "_abaco_actor_dbid": actor.dbid,
            "_abaco_actor_id": actor.id,
            "_abaco_worker_id": worker.id,
            "_abaco_container_repo": actor.image,
            "_abaco_actor_state": repr(actor.state),
            "_abaco_actor_name": str(actor.name),
            "_actor_configs": repr(dict(actor_configs or {})),
        }
    )
    if message.content_type == BINARY:
        env.pop("MSG", None)
    else:
        env["MSG"] = format_value(message.payload) or ""
    return env
