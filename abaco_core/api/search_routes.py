"""Search over HTTP (spec §5.12): ``GET /actors/search/{type}``, and the searches that query
parameters turn ``GET /actors``, ``GET /actors/{id}/executions``, ``GET /actors/{id}/workers``
and ``GET .../executions/{eid}/logs`` into (with the actor / execution filter pre-applied).

A search gathers and evaluates its records in a worker thread, never on the event loop, and
its evaluation stops after :data:`SEARCH_TIME_BUDGET` seconds (a 400), so no search holds up
other requests.
"""

from __future__ import annotations

from collections.abc import Collection

from sanic import Request
from sanic.response import HTTPResponse

from ..casing import camelize_keys
from ..errors import InvalidRequest
from ..search import FIELDS, SEARCH_TYPES, parse_query
from ..search import search as run_search
from ..search.records import Scope
from .envelope import ok
from .requests import blocking, identity, query_lists
from .views import Views

__all__ = ["SEARCH_ROUTES", "SEARCH_TIME_BUDGET", "search", "search_response", "wants_search"]

#: seconds the evaluation of a search may take before it is a 400
SEARCH_TIME_BUDGET = 10.0

#: query parameters that never make a request a search
_NOT_SEARCH = frozenset({"x-nonce"})


def wants_search(request: Request, own: Collection[str] = ()) -> bool:
    """Whether a listing request is a search: it has a query parameter other than
    ``x-nonce`` and the endpoint's ``own`` parameters (spec §5.1, §5.5, §5.6, §5.8)."""
    return any(key not in _NOT_SEARCH and key not in own for key in request.args)


async def search_response(
    request: Request,
    kind: str,
    message: str,
    *,
    actor_id: str | None = None,
    execution_id: str | None = None,
) -> HTTPResponse:
    """Run the search the request's query parameters describe over the caller's ``kind``
    records (spec §4.9 envelope)."""
    platform = request.app.ctx.platform
    settings = platform.settings
    camel = settings.case == "camel"
    query = parse_query(query_lists(request), fields=FIELDS[kind], camel=camel, what=kind)
    who = identity(request)
    scope = Scope(who.tenant, who.username, actor_id=actor_id, execution_id=execution_id)
    views = Views(request.app.ctx.views.api, "snake")
    budget = SEARCH_TIME_BUDGET
    page = await blocking(request, lambda: run_search(platform, views, kind, scope, query, budget=budget))
    result = page.result(camel=camel)
    if camel:
        result["search"] = [camelize_keys(r) for r in page.records]
    return ok(settings.version, result, message)


async def search(request: Request, search_type: str) -> HTTPResponse:
    """``GET /actors/search/{type}``: ``actors``, ``workers``, ``executions`` or ``logs``,
    in any case."""
    kind = search_type.lower()
    if kind not in SEARCH_TYPES:
        raise InvalidRequest(
            f"Invalid search type: {search_type}. The search types are {', '.join(SEARCH_TYPES)}."
        )
    return await search_response(request, kind, "Search completed successfully.")


SEARCH_ROUTES = [("/search/<search_type:str>", {"GET": search})]
