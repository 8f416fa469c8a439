"""The permission matrix (issue 6): every endpoint of the ROUTES table × every role × every
permission level of the caller on the target, over real HTTP, asserting allowed or denied and,
for a denial, its status and exact message; for an allowed request, its success (GETs: 200,
and the nonces a caller may see).

The levels on the actor, the alias and the config are set independently: the object a route
checks gets the level under test and the others a contrasting one (UPDATE against a lower
level, nothing against UPDATE), and routes that check two objects get both in every
combination, so a check made on the wrong object fails the matrix. Actor routes are also
addressed through an alias of the actor (``/actors/{alias}/...``), whose own permissions must
not count. A second, smaller matrix authenticates every actor route with a nonce.

The cases are generated from ``abaco_core.api.routes.ROUTES``, so a new route cannot be
forgotten: it needs an entry in the product's policy (``abaco_core.api.policy.POLICY``) and
one in ``SPEC`` below, the expectation transcribed from spec §3.4/§5.0 (an oracle written
independently of the policy table), or ``test_every_route_has_a_policy`` fails.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from abaco_core.access import WORLD, Identity, Level
from abaco_core.api.policy import POLICY, normalize, route_template
from abaco_core.api.routes import ROUTES
from abaco_core.ids import new_id
from abaco_core.models import Execution, ExecutionStatus, Message, Worker, WorkerStatus
from abaco_core.nonces import NonceFields, create_nonce
from tests.access.conftest import ADMIN, BASIC, PRIVILEGED, ok

ACTOR = "Not authorized -- you do not have access to this actor."
ALIAS = "Not authorized -- you do not have access to this alias."
ALIAS_ACTOR = "Not authorized -- you do not have access to this alias and actor."
CONFIG = "You do not have sufficient access to this actor config."
WORKERS = "Not authorized -- only admins are authorized to update workers."
ADMIN_ONLY = "Abaco Admin role required."
NONCE_FORBIDDEN = "Not authorized -- a nonce cannot be used to create nonces or change permissions."
NONCE_LEVEL = "Nonce does not have sufficient permissions level."
NONCE_NOT_FOUND = "Nonce not found."
LEVELS = {"NONE": 0, "READ": 1, "EXECUTE": 2, "UPDATE": 3}


@dataclass(frozen=True)
class Check:
    """One check a request must pass: on what (``actor``, ``alias``, ``alias+actor``,
    ``config``, ``admin``, or ``anyone``), at which level, with which denial message, and
    whether the admin role passes it."""

    on: str
    level: str = "NONE"
    message: str = ""
    admin_passes: bool = True


def anyone() -> tuple[Check, ...]:
    return (Check("anyone"),)


def on(what: str, level: str, message: str) -> tuple[Check, ...]:
    return (Check(what, level, message),)


def actor(level: str) -> tuple[Check, ...]:
    return on("actor", level, ACTOR)


#: spec §5.0's "Min. permission" column, §3.4's messages, and §5.11/§5.13's handler checks
#: (``{actor}`` is the target actor id). ``(path under /actors, method) -> checks in order``.
SPEC: dict[tuple[str, str], tuple[Check, ...]] = {
    ("", "GET"): anyone(),
    ("", "POST"): anyone(),
    ("/{}", "GET"): actor("READ"),
    ("/{}", "PUT"): actor("UPDATE"),
    ("/{}", "DELETE"): actor("UPDATE"),
    ("/{}/state", "GET"): actor("READ"),
    ("/{}/state", "POST"): actor("UPDATE"),
    ("/{}/messages", "GET"): actor("READ"),
    ("/{}/messages", "POST"): actor("EXECUTE"),
    ("/{}/messages", "DELETE"): actor("UPDATE"),
    ("/{}/executions", "GET"): actor("READ"),
    ("/{}/executions", "POST"): actor("UPDATE"),
    ("/{}/executions/{}", "GET"): actor("READ"),
    ("/{}/executions/{}", "DELETE"): actor("UPDATE"),
    ("/{}/executions/{}/logs", "GET"): actor("READ"),
    ("/{}/executions/{}/results", "GET"): actor("READ"),
    ("/{}/executions/{}/results", "POST"): actor("READ"),
    ("/{}/executions/{}/redrive", "POST"): actor("UPDATE"),
    ("/{}/workers", "GET"): actor("READ"),
    ("/{}/workers", "POST"): (Check("admin", message=WORKERS),),
    ("/{}/workers/{}", "GET"): actor("READ"),
    ("/{}/workers/{}", "DELETE"): actor("UPDATE"),
    ("/{}/permissions", "GET"): actor("READ"),
    ("/{}/permissions", "POST"): actor("UPDATE"),
    ("/{}/nonces", "GET"): actor("READ"),
    ("/{}/nonces", "POST"): actor("UPDATE"),
    ("/{}/nonces/{}", "GET"): actor("READ"),
    ("/{}/nonces/{}", "DELETE"): actor("UPDATE"),
    # ours: the webhook signing secret lets its holder sign in the actor's name
    ("/{}/webhook/secret", "GET"): actor("UPDATE"),
    ("/{}/webhook/secret", "POST"): actor("UPDATE"),
    ("/aliases", "GET"): anyone(),
    ("/aliases", "POST"): (
        Check("actor", "UPDATE", "Not authorized -- you do not have access to {actor}.", admin_passes=False),
    ),
    ("/aliases/{}", "GET"): on("alias", "READ", ALIAS),
    ("/aliases/{}", "PUT"): (
        Check("alias", "UPDATE", ALIAS),
        Check(
            "actor",
            "UPDATE",
            "Not authorized -- you do not have UPDATE access to the actor you want to associate with this alias.",
            admin_passes=False,
        ),
    ),
    ("/aliases/{}", "DELETE"): on("alias", "UPDATE", ALIAS),
    ("/aliases/{}/permissions", "GET"): on("alias", "READ", ALIAS),
    ("/aliases/{}/permissions", "POST"): on("alias", "UPDATE", ALIAS),
    ("/aliases/{}/nonces", "GET"): on("alias+actor", "READ", ALIAS_ACTOR),
    ("/aliases/{}/nonces", "POST"): on("alias+actor", "UPDATE", ALIAS_ACTOR),
    ("/aliases/{}/nonces/{}", "GET"): on("alias+actor", "READ", ALIAS_ACTOR),
    ("/aliases/{}/nonces/{}", "DELETE"): on("alias+actor", "UPDATE", ALIAS_ACTOR),
    ("/configs", "GET"): anyone(),
    ("/configs", "POST"): (Check("actor", "UPDATE", "Not authorized -- you do not have access to {actor}."),),
    ("/configs/{}", "GET"): on("config", "READ", CONFIG),
    ("/configs/{}", "PUT"): (
        Check("config", "UPDATE", CONFIG),
        Check("actor", "UPDATE", "Not authorized -- you do not have access to {actor}."),
    ),
    ("/configs/{}", "DELETE"): on("config", "UPDATE", CONFIG),
    ("/configs/{}/permissions", "GET"): on("config", "READ", CONFIG),
    ("/configs/{}/permissions", "POST"): on("config", "UPDATE", CONFIG),
    ("/search/{}", "GET"): anyone(),
    ("/utilization", "GET"): anyone(),
    ("/admin", "GET"): on("admin", "NONE", ADMIN_ONLY),
    ("/admin/workers", "GET"): on("admin", "NONE", ADMIN_ONLY),
    ("/admin/executions", "GET"): on("admin", "NONE", ADMIN_ONLY),
}


def served() -> list[tuple[str, str, str]]:
    """``(suffix, shape, method)`` of every handled (route, method) of the app."""
    out = []
    for suffix, handlers in ROUTES:
        shape = route_template(("actors", *[p for p in suffix.split("/") if p]))
        assert shape is not None
        out.extend((suffix, shape, method) for method in handlers)
    return out


def test_every_route_has_a_policy_and_an_expectation():
    policy_shapes = {(normalize(path), method) for path, method in POLICY}
    missing_policy = [(s, m) for _suffix, s, m in served() if (s, m) not in policy_shapes]
    missing_spec = [(s, m) for _suffix, s, m in served() if (s, m) not in SPEC]
    assert not missing_policy, f"routes without an entry in abaco_core.api.policy.POLICY: {missing_policy}"
    assert not missing_spec, f"routes without an expectation in SPEC: {missing_spec}"
    # and the policy covers every endpoint of spec §5.0, served on this branch or not
    assert set(SPEC) <= policy_shapes, set(SPEC) - policy_shapes


ROLES = {"admin": ADMIN, "privileged": PRIVILEGED, "basic": BASIC}
#: the caller's own entry (``none``: no entry at all) or an ABACO_WORLD entry
GRANTS = ["none", "NONE", "READ", "EXECUTE", "UPDATE", "world:READ", "world:EXECUTE", "world:UPDATE"]
OBJECTS = ("actor", "alias", "config")


def granted_level(grant: str) -> int:
    return 0 if grant == "none" else LEVELS[grant.split(":")[-1]]


def contrast(grant: str) -> str:
    """A level on the objects a route does not check that would flip its outcome if it did."""
    return "none" if granted_level(grant) == LEVELS["UPDATE"] else "UPDATE"


@dataclass(frozen=True)
class Profile:
    """The caller's grant on each object."""

    actor: str
    alias: str
    config: str

    def level(self, on: str) -> int:
        if on == "alias+actor":
            return min(granted_level(self.alias), granted_level(self.actor))
        return granted_level(getattr(self, on))

    @property
    def label(self) -> str:
        return f"actor={self.actor} alias={self.alias} config={self.config}"


def checked_objects(checks: tuple[Check, ...]) -> tuple[str, ...]:
    found: list[str] = []
    for check in checks:
        found.extend(("alias", "actor") if check.on == "alias+actor" else (check.on,))
    return tuple(o for o in dict.fromkeys(found) if o in OBJECTS)


def profiles(checks: tuple[Check, ...]) -> list[Profile]:
    """The grant profiles a route is tried with: each grant on the object it checks, the
    contrast on the others; for two checked objects, each of them at the grant with the
    other at the grant and at the contrast. A route that checks no object: a few grants on
    everything."""
    checked = checked_objects(checks)
    if not checked:
        return [Profile(g, g, g) for g in ("none", "READ", "world:UPDATE")]
    found: list[Profile] = []
    for grant in GRANTS:
        other = contrast(grant)
        base = dict.fromkeys(OBJECTS, other)
        variants = [{**base, **dict.fromkeys(checked, grant)}]
        if len(checked) > 1:
            variants += [{**base, o: grant} for o in checked]
        found.extend(Profile(**v) for v in variants)
    return list(dict.fromkeys(found))


def expected_denial(checks: tuple[Check, ...], role: str, profile: Profile) -> str | None:
    """The message the request is refused with, ``None`` when it is allowed."""
    for check in checks:
        if check.on == "anyone":
            continue
        if role == "admin" and check.admin_passes:
            continue
        if check.on == "admin" or profile.level(check.on) < LEVELS[check.level]:
            return check.message
    return None


@dataclass
class Targets:
    actor: str
    alias: str
    config: str
    execution: str
    worker: str
    #: the actor's nonces and the alias's: id -> level
    actor_nonces: dict[str, str]
    alias_nonces: dict[str, str]

    def nonce_at(self, level: str, *, of_alias: bool) -> str:
        made = self.alias_nonces if of_alias else self.actor_nonces
        return next(nid for nid, lv in made.items() if lv == level)


def bodies(shape: str, method: str, t: Targets) -> dict | None:
    return {
        ("", "POST"): {"image": "abaco-test/none:1"},
        ("/{}", "PUT"): {"image": "abaco-test/none:1", "stateless": False},
        ("/{}/state", "POST"): {"a": 1},
        ("/{}/messages", "POST"): {"message": "hello"},
        ("/{}/permissions", "POST"): {"user": "third", "level": "READ"},
        ("/aliases/{}/permissions", "POST"): {"user": "third", "level": "READ"},
        ("/configs/{}/permissions", "POST"): {"user": "third", "level": "READ"},
        ("/{}/workers", "POST"): {"num": 1},
        ("/aliases", "POST"): {"alias": f"new-{new_id().lower()}", "actor_id": t.actor},
        ("/aliases/{}", "PUT"): {"actor_id": t.actor},
        ("/configs", "POST"): {"name": f"c{new_id()}", "value": "v", "is_secret": False, "actors": t.actor},
        ("/configs/{}", "PUT"): {"value": "v2", "is_secret": False, "actors": t.actor},
    }.get((shape, method))


def fill(suffix: str, t: Targets, via: str = "id") -> str:
    """The request path of a route, its placeholders replaced by the targets (``{id}`` by
    the actor's id, or by its alias when ``via`` is ``alias``)."""
    alias_route = suffix.startswith("/aliases/")
    values = {
        "actor": t.alias if via == "alias" else t.actor,
        "alias": t.alias,
        "config": t.config,
        "execution": t.execution,
        "worker": t.worker,
        "nonce": t.nonce_at("EXECUTE", of_alias=True)
        if alias_route
        else t.nonce_at("UPDATE", of_alias=False),
        "type": "actors",
    }
    placeholders = iter(normalize_names(suffix))
    parts = [values[next(placeholders)] if part.startswith("<") else part for part in suffix.split("/")]
    return "/".join(parts)


def normalize_names(suffix: str) -> list[str]:
    """What each placeholder of a route stands for, from the policy entry of its shape."""
    shape = route_template(("actors", *[p for p in suffix.split("/") if p]))
    template = next(path for (path, _m) in POLICY if normalize(path) == shape)
    names = [seg[1:-1] for seg in template.split("/") if seg.startswith("{")]
    meaning = {
        "id": "actor",
        "alias": "alias",
        "name": "config",
        "eid": "execution",
        "wid": "worker",
        "nid": "nonce",
        "type": "type",
    }
    return [meaning[n] for n in names]


def vias(shape: str) -> tuple[str, ...]:
    return ("id", "alias") if shape.startswith("/{}") else ("id",)


CASES = [
    pytest.param(
        suffix,
        shape,
        method,
        role,
        profile,
        via,
        id=f"{method} {shape or '/'} {role} {profile.label} via {via}",
    )
    for (suffix, shape, method), role in itertools.product(served(), ROLES)
    for profile in profiles(SPEC[(shape, method)])
    for via in vias(shape)
]

_counter = itertools.count()


@pytest.fixture(scope="module")
def owner(server):
    return server.as_user("owner", BASIC)


@pytest.fixture(scope="module")
def callers(server):
    return {role: server.as_user(f"{role}-user", roles) for role, roles in ROLES.items()}


@pytest.fixture(scope="module")
def store(server):
    from abaco_peewee.store import PeeweeStore

    s = PeeweeStore(f"sqlite:///{server.data_dir}/abaco.db")
    yield s
    s.close()


def _grant(store, kind: str, key: str, grantee: str, grant: str) -> None:
    if grant == "none":
        return
    if grant.startswith("world:"):
        store.set_permission("local", kind, key, WORLD, grant.split(":")[1])
    else:
        store.set_permission("local", kind, key, grantee, grant)


def add_nonce(store, actor_id: str | None, alias: str | None, level: str) -> str:
    """A nonce of the owner (a basic user) on the actor or the alias, unlimited."""
    who = Identity("local", "owner", BASIC)
    fields = NonceFields(Level[level], -1, "")
    now = datetime.now(UTC)
    return create_nonce(store, who, fields, actor_id=actor_id, alias=alias, api_server="", now=now)["id"]


def make_targets(owner: httpx.Client, store, grantee: str, profile: Profile) -> Targets:
    """An actor (registered over HTTP), and, written to the store directly, its alias, a
    config naming it, an execution, a worker, nonces, and the caller's grants."""
    tenant = "local"
    # stateful, so that its state can be set
    actor_id = ok(owner.post("/actors", json={"image": "abaco-test/none:1", "stateless": False}))["id"]
    alias = f"m{next(_counter)}.{actor_id.lower()}"
    store.create_object(tenant, "alias", alias, {"alias": alias, "actor_id": actor_id, "owner": "owner"})
    store.set_permission(tenant, "alias", alias, "owner", "UPDATE")
    config = f"conf{next(_counter)}"
    store.create_object(
        tenant, "config", config, {"name": config, "value": "v", "is_secret": False, "actors": actor_id}
    )
    store.set_permission(tenant, "config", config, "owner", "UPDATE")
    now = datetime.now(UTC)
    execution = Execution(
        tenant, actor_id, new_id(), "owner", status=ExecutionStatus.COMPLETE, message_received_time=now
    )
    store.create_execution(execution, Message(tenant, actor_id, execution.id, "m", "application/json"))
    worker = Worker(tenant, actor_id, new_id(), status=WorkerStatus.READY, create_time=now)
    assert store.add_worker(worker)
    actor_nonces = {add_nonce(store, actor_id, None, lv): lv for lv in ("READ", "UPDATE")}
    alias_nonces = {add_nonce(store, None, alias, lv): lv for lv in ("READ", "EXECUTE")}
    _grant(store, "actor", actor_id, grantee, profile.actor)
    _grant(store, "alias", alias, grantee, profile.alias)
    _grant(store, "config", config, grantee, profile.config)
    return Targets(actor_id, alias, config, execution.id, worker.id, actor_nonces, alias_nonces)


@pytest.fixture(scope="module")
def read_targets(owner, store):
    """Targets shared by the requests that change nothing (GETs), per caller and profile."""
    made: dict[tuple[str, Profile], Targets] = {}

    def get(grantee: str, profile: Profile) -> Targets:
        key = (grantee, profile)
        if key not in made:
            made[key] = make_targets(owner, store, grantee, profile)
        return made[key]

    return get


#: what an allowed request answers when it is not a plain 200: the handler's own refusal,
#: which shows the request got past authorization (``{execution}``: the target execution)
ALLOWED_OUTCOMES: dict[tuple[str, str], tuple[int, str]] = {
    ("/{}/executions/{}", "DELETE"): (
        400,
        "Cannot force quit an execution not in RUNNING status. Execution was found in status: COMPLETE",
    ),
    ("/{}/executions/{}/redrive", "POST"): (
        400,
        "Execution {execution} is not dead-lettered (status COMPLETE); only dead-lettered executions "
        "can be redriven.",
    ),
}


def nonce_ceiling(shape: str, role: str, profile: Profile) -> int:
    """The highest nonce level the caller sees (ours: their level on the object; admins all)."""
    if role == "admin":
        return LEVELS["UPDATE"]
    return profile.level("alias+actor" if shape.startswith("/aliases/") else "actor")


def check_allowed(shape: str, method: str, ceiling: int, t: Targets, r: httpx.Response) -> None:
    """An allowed request succeeded (``ceiling``: the highest nonce level the caller sees)."""
    denials = {c.message.format(actor=t.actor) for checks in SPEC.values() for c in checks if c.message}
    denials |= {f"Actor local_{t.actor} does not exist", NONCE_FORBIDDEN}
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
    assert not (body and body.get("message") in denials), r.text
    if shape in ("/{}/nonces", "/aliases/{}/nonces") and method == "GET":
        made = t.alias_nonces if shape.startswith("/aliases/") else t.actor_nonces
        assert r.status_code == 200, r.text
        shown = {n["id"] for n in r.json()["result"]}
        assert shown == {nid for nid, level in made.items() if LEVELS[level] <= ceiling}, (ceiling, r.text)
        return
    if shape in ("/{}/nonces/{}", "/aliases/{}/nonces/{}"):
        needed = LEVELS["EXECUTE" if shape.startswith("/aliases/") else "UPDATE"]
        if ceiling < needed:
            assert r.status_code == 404 and body and body["message"] == NONCE_NOT_FOUND, r.text
            return
    expected = ALLOWED_OUTCOMES.get((shape, method), (200, None))
    assert r.status_code == expected[0], r.text
    if expected[1] is not None:
        assert body and body["message"] == expected[1].format(execution=t.execution), r.text
    elif body is not None:
        assert body["status"] == "success", r.text


@pytest.mark.parametrize("suffix, shape, method, role, profile, via", CASES)
def test_matrix(server, owner, callers, store, read_targets, suffix, shape, method, role, profile, via):
    caller = callers[role]
    grantee = f"{role}-user"
    if method == "GET":
        targets = read_targets(grantee, profile)
    else:
        targets = make_targets(owner, store, grantee, profile)
    prefix = "/actors/v2" if role == "privileged" else "/actors"
    path = prefix + fill(suffix, targets, via)
    response = caller.request(method, path, json=bodies(shape, method, targets))
    message = expected_denial(SPEC[(shape, method)], role, profile)
    if message is None:
        check_allowed(shape, method, nonce_ceiling(shape, role, profile), targets, response)
    else:
        assert response.status_code == 400, response.text
        body = response.json()
        assert body == {
            "message": message.format(actor=targets.actor),
            "result": None,
            "status": "error",
            "version": body["version"],
        }


# -- requests authenticated by a nonce ------------------------------------------------------------

#: ours: what a nonce may never do, whatever its level (refused before it is redeemed)
NOT_BY_NONCE = {("/{}/nonces", "POST"), ("/{}/permissions", "POST")}


def nonce_needs(shape: str, method: str) -> str:
    """Spec §3.6: GET needs READ, a message POST EXECUTE, anything else UPDATE."""
    if method == "GET":
        return "READ"
    return "EXECUTE" if (shape, method) == ("/{}/messages", "POST") else "UPDATE"


NONCE_CASES = [
    pytest.param(suffix, shape, method, level, via, id=f"{method} {shape} {level} nonce via {via}")
    for suffix, shape, method in served()
    if shape.startswith("/{}")
    for via in ("id", "alias")
    for level in ("READ", "EXECUTE", "UPDATE")
    if not (via == "alias" and level == "UPDATE")  # alias nonces go up to EXECUTE
]


@pytest.mark.parametrize("suffix, shape, method, level, via", NONCE_CASES)
def test_nonce_matrix(server, owner, store, suffix, shape, method, level, via):
    """Every actor route, authenticated by a nonce of the actor's owner (a basic user with
    UPDATE), made on the actor or on its alias, at each level."""
    targets = make_targets(owner, store, "nobody", Profile("none", "none", "none"))
    of_alias = via == "alias"
    nonce = add_nonce(store, None if of_alias else targets.actor, targets.alias if of_alias else None, level)
    (targets.alias_nonces if of_alias else targets.actor_nonces)[nonce] = level
    path = "/actors" + fill(suffix, targets, via)
    response = server.anonymous().request(
        method, path, params={"x-nonce": nonce}, json=bodies(shape, method, targets)
    )
    if (shape, method) in NOT_BY_NONCE:
        message = NONCE_FORBIDDEN
    elif LEVELS[level] < LEVELS[nonce_needs(shape, method)]:
        message = NONCE_LEVEL
    else:
        message = expected_denial(SPEC[(shape, method)], "basic", Profile("UPDATE", "UPDATE", "UPDATE"))
    if message is None:
        check_allowed(shape, method, LEVELS[level], targets, response)
    else:
        assert response.status_code == 400 and response.json()["message"] == message, response.text
    if (shape, method, message) == ("/{}", "DELETE", None):
        return  # the actor is gone, and its nonces with it (Q35)
    used = store.get_object("local", "nonce", nonce)["current_uses"]
    assert used == (0 if message in (NONCE_FORBIDDEN, NONCE_LEVEL) else 1)
