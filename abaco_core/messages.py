"""Turning a ``POST /actors/{id}/messages`` request into a message (spec §6.1–6.2)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .environment import BINARY, JSON, TEXT
from .errors import InvalidRequest, PayloadTooLarge

__all__ = ["ParsedMessage", "check_environment", "loads_json", "parse_message", "query_metadata"]

#: query parameters that never reach the container (Q17)
_NOT_METADATA = frozenset({"message", "_abaco_synchronous", "x-nonce"})


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_json(body: bytes | str) -> Any:
    """Strict JSON: ``NaN``/``Infinity`` and absurdly deep nesting are errors (``ValueError``)."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def check_environment(names_values: Mapping[str, Any], what: str) -> None:
    """Refuse what no container engine accepts in an environment, before anything is queued:
    an empty name, ``=`` or NUL in a name, NUL in a value."""
    for name, value in names_values.items():
        if not name or "=" in name or "\x00" in name:
            raise InvalidRequest(f"Invalid {what}: {name!r} cannot be an environment variable name.")
        if isinstance(value, str) and "\x00" in value:
            raise InvalidRequest(f"Invalid {what}: the value of {name!r} contains a NUL character.")


@dataclass(frozen=True)
class ParsedMessage:
    payload: Any
    content_type: str

    @property
    def shown(self) -> Any:
        """What the API answers as ``msg``."""
        return "binary - omitted" if self.content_type == BINARY else self.payload


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_message(
    *,
    content_type: str | None,
    content_length: str | None,
    body: bytes,
    query: Mapping[str, list[str]],
    form: Mapping[str, list[str]] | None,
    max_content_length: int,
) -> ParsedMessage:
    """Decide the message and its ``_abaco_Content_Type`` in the order of spec §6.1."""
    media = _media_type(content_type)
    parsed_json: Any = None
    json_ok = False
    if body and media != BINARY:
        try:
            parsed_json = loads_json(body)
            json_ok = True
        except (ValueError, UnicodeDecodeError):
            json_ok = False

    # 1. a non-empty `message` field, in a form, a JSON object or the query string
    candidates: list[Any] = []
    if form and form.get("message"):
        candidates.append(form["message"][0])
    if json_ok and isinstance(parsed_json, dict) and "message" in parsed_json:
        candidates.append(parsed_json["message"])
    if query.get("message"):
        candidates.append(query["message"][0])
    for value in candidates:
        if value not in (None, ""):
            text = value if isinstance(value, str) else str(value)
            if "\x00" in text:
                raise InvalidRequest("Invalid message: it contains a NUL character, which cannot reach MSG.")
            return ParsedMessage(text, TEXT)

    # 2. binary: exactly application/octet-stream, no parameters
    if (content_type or "").strip().lower() == BINARY:
        if content_length is None:
            raise InvalidRequest("Content Length required for application/octet-stream.")
        try:
            length = int(content_length)
        except ValueError:
            raise InvalidRequest("Content Length must be an integer.") from None
        if length > max_content_length or len(body) > max_content_length:
            raise PayloadTooLarge(f"Message exceeds max content length of: {max_content_length}")
        return ParsedMessage(bytes(body), BINARY)

    # 3./4. a JSON body
    if json_ok:
        if media == JSON and parsed_json:
            return ParsedMessage(parsed_json, JSON)
        return ParsedMessage(parsed_json, TEXT)
    raise InvalidRequest(
        "message POST body could not be serialized. Pass JSON data or use the message attribute."
    )


def query_metadata(query: Mapping[str, list[str]]) -> dict[str, str]:
    """Query parameters that become container environment variables (first value wins)."""
    metadata = {k: v[0] for k, v in query.items() if k not in _NOT_METADATA and v}
    check_environment(metadata, "query parameter")
    return metadata
