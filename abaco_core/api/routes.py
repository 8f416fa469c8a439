"""The handlers of the actors API (spec §5.1–5.8). Thin: parse, call the platform, render."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse, raw

from ..access import Level, readable_keys
from ..actor_fields import parse_actor_fields
from ..errors import ExecutionNotFound, InvalidRequest, MethodNotAllowed, NotFound, WorkerNotFound
from ..messages import loads_json, parse_message, query_metadata
from ..models import Actor, ActorStatus, Execution, ExecutionStatus
from ..platform import Platform
from ..settings import parse_bool
from .access_routes import ACCESS_ROUTES
from .admin_routes import ADMIN_ROUTES
from .config_routes import CONFIG_ROUTES
from .envelope import error, ok
from .errors import WRONG_METHOD
from .requests import Identity, blocking, field_source, form_lists, identity, query_lists
from .search_routes import SEARCH_ROUTES, search_response, wants_search
from .webhook_routes import WEBHOOK_ROUTES

__all__ = ["ROUTES"]

Handler = Callable[..., Awaitable[HTTPResponse]]


def _platform(request: Request) -> Platform:
    return request.app.ctx.platform


def _ok(request: Request, result: object, message: str = "The request was successful") -> HTTPResponse:
    return ok(_platform(request).settings.version, result, message)


def _actor(request: Request, actor_id: str) -> Actor:
    return _platform(request).resolve(identity(request).tenant, actor_id)


def _execution(request: Request, actor: Actor, execution_id: str) -> Execution:
    try:
        return _platform(request).store.get_execution(actor.tenant, actor.id, execution_id)
    except ExecutionNotFound:
        raise ExecutionNotFound(
            f"No executions found with actor id of {actor.id} and execution id of {execution_id}."
        ) from None


def _actor_view(request: Request, actor: Actor) -> dict:
    """An actor as shown, with the next cron slot computed now (never stored, so a
    scheduler and a PUT cannot overwrite each other)."""
    next_ex = _platform(request).cron.next_fire(actor) if actor.cron_schedule else None
    return request.app.ctx.views.actor(actor, cron_next_ex=next_ex)


async def not_allowed(request: Request, **_: str) -> HTTPResponse:
    raise MethodNotAllowed(WRONG_METHOD)


# -- actors -------------------------------------------------------------------------------------


async def list_actors(request: Request) -> HTTPResponse:
    """The caller's readable actors: an own entry or ``ABACO_WORLD`` at READ or more; the
    admin role does not widen the list (spec §5.1)."""
    if wants_search(request):
        return await search_response(request, "actors", "Actors search completed successfully.")
    p = _platform(request)
    who = identity(request)
    readable = readable_keys(p.store, who.tenant, "actor", who.username)
    actors = [a for a in p.store.list_actors(who.tenant) if a.id in readable]
    return _ok(request, [_actor_view(request, a) for a in actors], "Actors retrieved successfully.")


async def create_actor(request: Request) -> HTTPResponse:
    p = _platform(request)
    who = identity(request)
    fields = parse_actor_fields(
        field_source(request), case=p.settings.case, host_queues=p.settings.actor_queues
    )
    actor = p.register_actor(fields, tenant=who.tenant, owner=who.username, who=who)
    return _ok(request, _actor_view(request, actor), "Actor created successfully.")


async def get_actor(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    return _ok(request, _actor_view(request, actor), "Actor retrieved successfully.")


async def update_actor(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = _actor(request, actor_id)
    fields = parse_actor_fields(
        field_source(request), case=p.settings.case, host_queues=p.settings.actor_queues, update=True
    )
    who = identity(request)
    updated = p.update_actor(actor, fields, who=who)
    if who.username != actor.owner:
        # whoever updates someone else's actor is (re)granted UPDATE (spec §5.2)
        p.store.set_permission(actor.tenant, "actor", actor.id, who.username, Level.UPDATE.name)
    return _ok(request, _actor_view(request, updated), "Actor updated successfully.")


async def delete_actor(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    _platform(request).delete_actor(actor)
    return _ok(request, None, "Actor deleted successfully.")


# -- messages -----------------------------------------------------------------------------------


async def get_messages(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    count = _platform(request).message_count(actor)
    return _ok(request, request.app.ctx.views.message_count(actor, count))


def sender_metadata(who: Identity, api_server: str) -> dict[str, str]:
    """What the container learns of the sender (spec §8.2): the caller (the nonce owner for a
    nonce call) and, for a JWT call, the header the JWT came in."""
    metadata = {"_abaco_username": who.username, "_abaco_api_server": api_server}
    if who.jwt_header_name:
        metadata["_abaco_jwt_header_name"] = who.jwt_header_name
    return metadata


async def send_message(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    who = identity(request)
    actor = _actor(request, actor_id)
    query = query_lists(request)
    parsed = parse_message(
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        body=request.body or b"",
        query=query,
        form=form_lists(request),
        max_content_length=p.settings.max_content_length,
    )
    synchronous = _is_true(query.get("_abaco_synchronous", [""])[0])
    if synchronous and p.message_count(actor) > p.settings.sync_max_queued:
        raise InvalidRequest("Cannot issue synchronous execution when actor message queue > 0.")
    execution = p.send_message(
        actor,
        parsed,
        executor=who.username,
        query_metadata=query_metadata(query),
        server_metadata=sender_metadata(who, p.settings.resolved_api_server),
    )
    if synchronous:
        return await _wait_synchronous(p, actor, execution)
    return _ok(request, request.app.ctx.views.message_accepted(actor, execution, parsed.shown))


def _is_true(value: str) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        return False


async def _wait_synchronous(p: Platform, actor: Actor, execution: Execution) -> HTTPResponse:
    """Block until the execution's first result, or its end (spec §6.5, Q6)."""
    eid = execution.id
    wake = p.signals.register(eid)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + p.settings.sync_timeout
    try:
        while True:
            wake.clear()
            data = p.pop_result(actor, execution)
            if data is not None:
                return raw(data, content_type="application/octet-stream")
            current = p.store.get_execution(actor.tenant, actor.id, eid)
            if current.status == ExecutionStatus.COMPLETE:
                data = p.pop_result(actor, execution)
                if data is not None:
                    return raw(data, content_type="application/octet-stream")
                logs = p.store.get_logs(actor.tenant, actor.id, eid, p.clock())
                return raw(logs.encode(), content_type="text/html; charset=utf-8")
            if current.status == ExecutionStatus.SUBMITTED:
                holder = p.store.get_actor(actor.tenant, actor.id)
                if holder.status == ActorStatus.ERROR:
                    return error(
                        p.settings.version,
                        f"Actor {actor.id} is in ERROR ({holder.status_message.strip()}); execution {eid} "
                        "stays queued and runs once the actor is repaired.",
                        500,
                    )
            if current.status == ExecutionStatus.ERROR:
                return error(
                    p.settings.version,
                    f"Execution {eid} of actor {actor.id} ended in ERROR: {current.status_message}",
                    500,
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                return error(
                    p.settings.version,
                    f"Execution {eid} of actor {actor.id} did not complete within {p.settings.sync_timeout:g} "
                    f"seconds; it is still {current.status.value}. Poll /actors/v2/{actor.id}/executions/{eid}.",
                    504,
                )
            try:
                await asyncio.wait_for(wake.wait(), timeout=min(0.1, remaining))
            except TimeoutError:
                pass
    finally:
        p.signals.unregister(eid, wake)


async def purge_messages(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    _platform(request).purge_messages(actor)
    result = request.app.ctx.views.message_count(actor, 0)
    result.pop("messages")
    return _ok(request, {"msg": "Actor mailbox purged.", **result})


# -- executions ---------------------------------------------------------------------------------


#: the summary's own filters (our extension); any other query parameter, ``skip`` and
#: ``limit`` included, makes the request a search (spec §5.5, §5.12)
SUMMARY_FILTERS = ("status", "dead_lettered")


async def list_executions(request: Request, actor_id: str) -> HTTPResponse:
    """The summary (spec §4.3); ``?status=`` (repeatable) and ``?dead_lettered=true|false``
    filter it. Other parameters make it a search (``?skip=&limit=`` pages it, spec §5.12).
    Runs off the event loop: a long listing must not hold up other requests."""
    p = _platform(request)
    if wants_search(request, own=SUMMARY_FILTERS):
        actor = _actor(request, actor_id)
        return await search_response(
            request, "executions", "Executions search completed successfully.", actor_id=actor.id
        )
    query = query_lists(request)
    statuses = None
    if "status" in query:
        try:
            statuses = [ExecutionStatus(s.strip().upper()) for s in query["status"]]
        except ValueError:
            raise InvalidRequest(
                f"Invalid status filter {query['status']}; use {', '.join(s.value for s in ExecutionStatus)}."
            ) from None
    dead_lettered: bool | None = None
    if "dead_lettered" in query:
        try:
            dead_lettered = parse_bool(query["dead_lettered"][0])
        except ValueError:
            raise InvalidRequest("Invalid dead_lettered filter; use true or false.") from None

    def listing() -> dict:
        actor = _actor(request, actor_id)
        executions = p.store.list_executions(actor.tenant, actor.id, statuses=statuses)
        if dead_lettered is not None:  # not a column: filtered here (dead letters are few)
            executions = [e for e in executions if e.dead_lettered is dead_lettered]
        return request.app.ctx.views.executions_summary(actor, executions, p.totals(actor))

    summary = await blocking(request, listing)
    return _ok(request, summary, "Actor executions retrieved successfully.")


async def redrive_execution(request: Request, actor_id: str, execution_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    execution = _execution(request, actor, execution_id)
    again = _platform(request).redrive(actor, execution)
    return _ok(request, request.app.ctx.views.execution(again), f"Execution {execution_id} queued again.")


async def get_execution(request: Request, actor_id: str, execution_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    execution = _execution(request, actor, execution_id)
    return _ok(request, request.app.ctx.views.execution(execution), "Actor execution retrieved successfully.")


async def halt_execution(request: Request, actor_id: str, execution_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    execution = _execution(request, actor, execution_id)
    _platform(request).halt_execution(actor, execution)
    return _ok(request, None, f"Issued force quit command for execution {execution_id}.")


async def get_logs(request: Request, actor_id: str, execution_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = _actor(request, actor_id)
    execution = _execution(request, actor, execution_id)
    if wants_search(request):
        return await search_response(
            request,
            "logs",
            "Log search completed successfully.",
            actor_id=actor.id,
            execution_id=execution.id,
        )
    logs = p.store.get_logs(actor.tenant, actor.id, execution.id, p.clock())
    return _ok(request, request.app.ctx.views.logs(actor, execution.id, logs), "Logs retrieved successfully.")


async def get_result(request: Request, actor_id: str, execution_id: str) -> HTTPResponse:
    """Pop one result; an empty body when there is none (spec §5.7)."""
    p = _platform(request)
    actor = _actor(request, actor_id)
    execution = _execution(request, actor, execution_id)
    data = p.pop_result(actor, execution)
    return raw(data or b"", content_type="application/octet-stream")


# -- state --------------------------------------------------------------------------------------


async def get_state(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    return _ok(request, {"state": actor.state}, "Actor state retrieved successfully.")


async def set_state(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = _actor(request, actor_id)
    if actor.stateless:
        raise NotFound("actor is stateless.")
    try:
        state = loads_json(request.body) if request.body else _NO_STATE
    except (ValueError, UnicodeDecodeError):
        state = _NO_STATE
    if state is _NO_STATE:
        raise InvalidRequest("Invalid actor state description: state must be JSON serializable.")
    updated = p.set_state(actor, state)
    return _ok(request, _actor_view(request, updated), "State updated successfully.")


_NO_STATE = object()


# -- workers ------------------------------------------------------------------------------------


async def list_workers(request: Request, actor_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    if wants_search(request):
        return await search_response(
            request, "workers", "Workers search completed successfully.", actor_id=actor.id
        )
    workers = _platform(request).workers(actor)
    return _ok(request, [request.app.ctx.views.worker(w) for w in workers], "Workers retrieved successfully.")


async def add_workers(request: Request, actor_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = _actor(request, actor_id)
    raw = field_source(request).get("num", default=None)
    try:
        num = 1 if raw in (None, "", 0, "0") else int(raw)
        if isinstance(raw, bool) or num < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidRequest("Invalid worker description: num must be a positive integer.") from None
    requested, before = p.add_workers(actor, num)
    if requested == 0:
        return _ok(request, None, f"Actor {actor.id} already had {num} worker(s).")
    return _ok(
        request,
        None,
        f"Scheduled {requested} new worker(s) to start. Previously, there were {before} workers.",
    )


async def delete_worker(request: Request, actor_id: str, worker_id: str) -> HTTPResponse:
    p = _platform(request)
    actor = _actor(request, actor_id)
    try:
        worker = p.store.get_worker(actor.tenant, actor.id, worker_id)
    except WorkerNotFound:
        raise WorkerNotFound("Worker not found.") from None
    p.stop_worker(worker)
    return _ok(request, None, "Worker scheduled to be stopped.")


async def get_worker(request: Request, actor_id: str, worker_id: str) -> HTTPResponse:
    actor = _actor(request, actor_id)
    try:
        worker = _platform(request).store.get_worker(actor.tenant, actor.id, worker_id)
    except WorkerNotFound:
        raise WorkerNotFound("Worker not found.") from None
    return _ok(request, request.app.ctx.views.worker(worker), "Worker retrieved successfully.")


#: (path under /actors, {method: handler}); every other method answers 405
ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("", {"GET": list_actors, "POST": create_actor}),
    ("/<actor_id:str>", {"GET": get_actor, "PUT": update_actor, "DELETE": delete_actor}),
    ("/<actor_id:str>/messages", {"GET": get_messages, "POST": send_message, "DELETE": purge_messages}),
    ("/<actor_id:str>/executions", {"GET": list_executions}),
    ("/<actor_id:str>/executions/<execution_id:str>", {"GET": get_execution, "DELETE": halt_execution}),
    ("/<actor_id:str>/executions/<execution_id:str>/logs", {"GET": get_logs}),
    # POST too: the seed document's curl example sends its request with -d
    ("/<actor_id:str>/executions/<execution_id:str>/results", {"GET": get_result, "POST": get_result}),
    ("/<actor_id:str>/state", {"GET": get_state, "POST": set_state}),
    ("/<actor_id:str>/executions/<execution_id:str>/redrive", {"POST": redrive_execution}),
    ("/<actor_id:str>/workers", {"GET": list_workers, "POST": add_workers}),
    ("/<actor_id:str>/workers/<worker_id:str>", {"GET": get_worker, "DELETE": delete_worker}),
    # permissions, nonces, aliases (spec §5.9-5.11)
    *ACCESS_ROUTES,
    *SEARCH_ROUTES,
    *ADMIN_ROUTES,
    *WEBHOOK_ROUTES,
]
# the other parts of the API, each in its own module
ROUTES += CONFIG_ROUTES
