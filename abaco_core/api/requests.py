"""Reading what a request carries: JSON body, query string, form (spec §2.3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sanic import Request

from ..access import Identity
from ..actor_fields import FieldSource
from ..errors import InvalidRequest
from ..messages import loads_json

__all__ = ["Identity", "blocking", "field_source", "identity", "json_body", "query_lists"]

T = TypeVar("T")


async def blocking(request: Request, fn: Callable[[], T]) -> T:
    """Run ``fn`` (store and queue calls, which block) on the API's thread pool, so the event
    loop goes on reading and answering other requests meanwhile (and SQLite, which releases
    the GIL while it works, overlaps with the loop)."""
    return await asyncio.get_running_loop().run_in_executor(request.app.ctx.blocking, fn)


def identity(request: Request) -> Identity:
    """Who calls: the identity the authentication step put on the request
    (``abaco_core.api.authn``)."""
    who = getattr(request.ctx, "identity", None)
    if who is None:  # a handler reached without the middleware (never in the app)
        raise RuntimeError("the request was not authenticated")
    return who


def _is_json(request: Request) -> bool:
    media = (request.content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def json_body(request: Request) -> Any:
    """The parsed JSON body, ``None`` if the request is not JSON or has no body; invalid JSON
    with a JSON content type is a 400 (Q37)."""
    if not request.body or not _is_json(request):
        return None
    try:
        return loads_json(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"Invalid JSON in the request body: {exc}") from None


def query_lists(request: Request) -> dict[str, list[str]]:
    return {k: list(v) for k, v in request.get_args(keep_blank_values=True).items()}


def form_lists(request: Request) -> dict[str, list[str]] | None:
    media = (request.content_type or "").split(";", 1)[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    return {k: list(v) for k, v in request.get_form(keep_blank_values=True).items()}


def field_source(request: Request) -> FieldSource:
    body = json_body(request)
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest("Invalid actor description: the JSON body must be an object.")
    return FieldSource(json=body, query=query_lists(request), form=form_lists(request))
