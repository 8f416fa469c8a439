"""The authorization policy, as data: one entry per (route, method) of the API (spec §3.4,
§5.0, with Q14 and Q16).

A route is named by its path under ``/actors`` with ``{name}`` placeholders (``/{id}/nonces``,
``/aliases/{alias}``); the placeholder *names* say what the path segment is (``id`` an actor id
or alias, ``alias`` an alias, ``name`` a config), whatever the handler calls its parameter, so
the table stays true when another module registers the route. :func:`rule_for` finds the
entry of a matched Sanic route; :mod:`abaco_core.api.authz` enforces it.

A route that a handler serves but that has no entry here is a bug the permission-matrix test
catches; at run time such a request is refused to everyone but admins (fail closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from sanic import Request

from ..access import Level

__all__ = [
    "ADMIN_PREFIX",
    "POLICY",
    "Guard",
    "Rule",
    "normalize",
    "route_template",
    "rule_for",
    "under_admin",
]


class Guard(StrEnum):
    """What a rule checks (besides the admin short-cut, which passes every guard)."""

    #: any authenticated caller
    ANYONE = "anyone"
    #: the admin role (``/actors/admin...``, Q16)
    ADMIN = "admin"
    #: the admin role, with the workers message (POST/PUT on workers)
    WORKERS_ADMIN = "workers-admin"
    #: ``level`` on the actor the ``{id}`` segment names (an alias there means its actor)
    ACTOR = "actor"
    #: ``level`` on the alias object ``{alias}``
    ALIAS = "alias"
    #: ``level`` on the alias ``{alias}`` *and* on the actor it points to
    ALIAS_AND_ACTOR = "alias-and-actor"
    #: ``level`` on the config ``{name}`` (Q14: no fall-through into an actor check)
    CONFIG = "config"


@dataclass(frozen=True)
class Rule:
    guard: Guard
    level: Level = Level.NONE
    #: the restricted registration fields (§3.5) are checked in the body first
    restricted: bool = False
    #: ours: a request authenticated by a nonce may make it (``False``: creating nonces and
    #: changing permissions, so a nonce never mints credentials or grants rights)
    by_nonce: bool = True


ANYONE = Rule(Guard.ANYONE)
ADMIN = Rule(Guard.ADMIN)
RESTRICTED = Rule(Guard.ANYONE, restricted=True)


def _actor(level: Level, restricted: bool = False, by_nonce: bool = True) -> Rule:
    return Rule(Guard.ACTOR, level, restricted, by_nonce)


READ, EXECUTE, UPDATE = Level.READ, Level.EXECUTE, Level.UPDATE

#: ``(path under /actors, method) -> Rule`` for every endpoint of spec §5.0 (and ours).
POLICY: dict[tuple[str, str], Rule] = {
    # actors collection (§5.1): the listing filters by READ itself
    ("", "GET"): ANYONE,
    ("", "POST"): RESTRICTED,
    # one actor and its sub-resources (§5.2-5.10): GET READ, DELETE UPDATE, message POST
    # EXECUTE, any other POST/PUT the restricted fields then UPDATE
    ("/{id}", "GET"): _actor(READ),
    ("/{id}", "PUT"): _actor(UPDATE, restricted=True),
    ("/{id}", "DELETE"): _actor(UPDATE),
    ("/{id}/state", "GET"): _actor(READ),
    ("/{id}/state", "POST"): _actor(UPDATE, restricted=True),
    ("/{id}/messages", "GET"): _actor(READ),
    ("/{id}/messages", "POST"): _actor(EXECUTE),
    ("/{id}/messages", "DELETE"): _actor(UPDATE),
    ("/{id}/executions", "GET"): _actor(READ),
    ("/{id}/executions", "POST"): _actor(UPDATE, restricted=True),
    ("/{id}/executions/{eid}", "GET"): _actor(READ),
    ("/{id}/executions/{eid}", "DELETE"): _actor(UPDATE),
    ("/{id}/executions/{eid}/logs", "GET"): _actor(READ),
    ("/{id}/executions/{eid}/results", "GET"): _actor(READ),
    # ours: the seed document fetches results with ``curl -d``; the same read as GET
    ("/{id}/executions/{eid}/results", "POST"): _actor(READ),
    # ours: queue a dead-lettered execution again
    ("/{id}/executions/{eid}/redrive", "POST"): _actor(UPDATE, restricted=True),
    ("/{id}/workers", "GET"): _actor(READ),
    ("/{id}/workers", "POST"): Rule(Guard.WORKERS_ADMIN),
    ("/{id}/workers/{wid}", "GET"): _actor(READ),
    ("/{id}/workers/{wid}", "DELETE"): _actor(UPDATE),
    ("/{id}/permissions", "GET"): _actor(READ),
    ("/{id}/permissions", "POST"): _actor(UPDATE, restricted=True, by_nonce=False),
    # ours: a caller sees only the nonces at or below their own level (the handlers filter)
    ("/{id}/nonces", "GET"): _actor(READ),
    ("/{id}/nonces", "POST"): _actor(UPDATE, restricted=True, by_nonce=False),
    ("/{id}/nonces/{nid}", "GET"): _actor(READ),
    ("/{id}/nonces/{nid}", "DELETE"): _actor(UPDATE),
    # ours: the actor's webhook signing secret, read and rotated; it signs in the actor's name
    ("/{id}/webhook/secret", "GET"): _actor(UPDATE),
    ("/{id}/webhook/secret", "POST"): _actor(UPDATE),
    # aliases (§5.11); creation checks UPDATE on the target actor in the handler
    ("/aliases", "GET"): ANYONE,
    ("/aliases", "POST"): ANYONE,
    ("/aliases/{alias}", "GET"): Rule(Guard.ALIAS, READ),
    ("/aliases/{alias}", "PUT"): Rule(Guard.ALIAS, UPDATE),
    ("/aliases/{alias}", "DELETE"): Rule(Guard.ALIAS, UPDATE),
    ("/aliases/{alias}/permissions", "GET"): Rule(Guard.ALIAS, READ),
    ("/aliases/{alias}/permissions", "POST"): Rule(Guard.ALIAS, UPDATE, by_nonce=False),
    ("/aliases/{alias}/nonces", "GET"): Rule(Guard.ALIAS_AND_ACTOR, READ),
    ("/aliases/{alias}/nonces", "POST"): Rule(Guard.ALIAS_AND_ACTOR, UPDATE, by_nonce=False),
    ("/aliases/{alias}/nonces/{nid}", "GET"): Rule(Guard.ALIAS_AND_ACTOR, READ),
    ("/aliases/{alias}/nonces/{nid}", "DELETE"): Rule(Guard.ALIAS_AND_ACTOR, UPDATE),
    # actor configs (§5.13, Q13, Q14); the handlers filter the list and check listed actors
    ("/configs", "GET"): ANYONE,
    ("/configs", "POST"): ANYONE,
    ("/configs/{name}", "GET"): Rule(Guard.CONFIG, READ),
    ("/configs/{name}", "PUT"): Rule(Guard.CONFIG, UPDATE),
    ("/configs/{name}", "DELETE"): Rule(Guard.CONFIG, UPDATE),
    ("/configs/{name}/permissions", "GET"): Rule(Guard.CONFIG, READ),
    ("/configs/{name}/permissions", "POST"): Rule(Guard.CONFIG, UPDATE, by_nonce=False),
    # search, utilization (§5.12, §5.14): any user; results are filtered by the handlers
    ("/search/{type}", "GET"): ANYONE,
    ("/utilization", "GET"): ANYONE,
    # admin views (§5.14, Q16)
    ("/admin", "GET"): ADMIN,
    ("/admin/workers", "GET"): ADMIN,
    ("/admin/executions", "GET"): ADMIN,
}

#: every path under it needs the admin role, whatever the method (Q16)
ADMIN_PREFIX = "/admin"


def under_admin(request: Request) -> bool:
    """Whether the request's path (percent-decoded) is ``/actors[/v2]/admin`` or under it,
    whatever route matched it: ``/actors/admin/messages`` is matched by ``/{id}/messages``
    but is an admin path all the same (Q16)."""
    path = unquote(request.path).rstrip("/")
    for prefix in ("/actors/v2", "/actors"):
        if path == prefix + ADMIN_PREFIX or path.startswith(prefix + ADMIN_PREFIX + "/"):
            return True
    return False


_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_PARAM = re.compile(r"^<[^>]*>$")
_PREFIXES = (("actors", "v2"), ("actors",))


def normalize(template: str) -> str:
    """``/{id}/nonces/{nid}`` → ``/{}/nonces/{}`` (placeholder names dropped)."""
    return _PLACEHOLDER.sub("{}", template)


_BY_SHAPE: dict[tuple[str, str], tuple[str, Rule]] = {
    (normalize(path), method): (path, rule) for (path, method), rule in POLICY.items()
}


def route_template(parts: tuple[str, ...]) -> str | None:
    """The path under ``/actors`` of a route's segments, placeholders as ``{}``:
    ``("actors", "v2", "<actor_id:str>", "messages")`` → ``/{}/messages``; ``None`` for a
    route outside ``/actors``."""
    for prefix in _PREFIXES:
        if parts[: len(prefix)] == prefix:
            rest = parts[len(prefix) :]
            return "".join("/{}" if _PARAM.match(p) else f"/{p}" for p in rest if p)
    return None


def rule_for(request: Request) -> tuple[str | None, Rule | None, dict[str, str]]:
    """``(template, rule, params)`` of a matched request: the table's path (``/{id}/nonces``
    or, without an entry, the normalised shape), its rule (``None``: no entry) and the
    path values under the table's placeholder names (``{"id": "..."}``)."""
    route = request.route
    if route is None:
        return None, None, {}
    shape = route_template(tuple(route.parts))
    if shape is None:
        return None, None, {}
    found = _BY_SHAPE.get((shape, request.method.upper()))
    if found is None:
        # the placeholder names of any entry of the same path (for nonce namespaces ...)
        names = next((path for (s, _m), (path, _r) in _BY_SHAPE.items() if s == shape), None)
        return names or shape, None, _params(route, names or shape, request)
    path, rule = found
    return path, rule, _params(route, path, request)


def _params(route, template: str, request: Request) -> dict[str, str]:
    names = [m.group(0)[1:-1] for m in _PLACEHOLDER.finditer(template)]
    ordered = [route.defined_params[i].name for i in sorted(route.defined_params)]
    values = [request.match_info.get(name, "") for name in ordered]
    return {name or str(i): value for i, (name, value) in enumerate(zip(names, values, strict=False))}
