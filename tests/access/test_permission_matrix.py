"""The permission matrix (issue 6): every endpoint of the ROUTES table × every role × every
permission level of the caller on the target, over real HTTP, asserting allowed or denied and,
for a denial, its status and exact message.

The cases are generated from ``abaco_core.api.routes.ROUTES``, so a new route cannot be
forgotten: it needs an entry in the product's policy (``abaco_core.api.policy.POLICY``) and
one in ``SPEC`` below, the expectation transcribed from spec §3.4/§5.0 (an oracle written
independently of the policy table), or ``test_every_route_has_a_policy`` fails.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from abaco_core.access import WORLD
from abaco_core.api.policy import POLICY, normalize, route_template
from abaco_core.api.routes import ROUTES
from abaco_core.ids import new_id
from tests.access.conftest import ADMIN, BASIC, PRIVILEGED, ok

ACTOR = "Not authorized -- you do not have access to this actor."
ALIAS = "Not authorized -- you do not have access to this alias."
ALIAS_ACTOR = "Not authorized -- you do not have access to this alias and actor."
CONFIG = "You do not have sufficient access to this actor config."
WORKERS = "Not authorized -- only admins are authorized to update workers."
ADMIN_ONLY = "Abaco Admin role required."
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


def granted_level(grant: str) -> int:
    return 0 if grant == "none" else LEVELS[grant.split(":")[-1]]


def expected_denial(checks: tuple[Check, ...], role: str, grant: str) -> str | None:
    """The message the request is refused with, ``None`` when it is allowed. The matrix
    grants the same level on the actor, the alias and the config."""
    level = granted_level(grant)
    for check in checks:
        if check.on == "anyone":
            continue
        if role == "admin" and check.admin_passes:
            continue
        if check.on == "admin" or level < LEVELS[check.level]:
            return check.message
    return None


@dataclass
class Targets:
    actor: str
    alias: str
    config: str
    extra: dict[str, str] = field(default_factory=dict)


def bodies(shape: str, method: str, t: Targets) -> dict | None:
    return {
        ("", "POST"): {"image": "abaco-test/none:1"},
        ("/{}", "PUT"): {"image": "abaco-test/none:1"},
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


def fill(suffix: str, t: Targets) -> str:
    """The request path of a route, its placeholders replaced by the targets (the ids of
    executions, workers and nonces need not exist: authorization runs before the handler)."""
    parts = []
    placeholders = iter(normalize_names(suffix))
    for part in suffix.split("/"):
        if part.startswith("<"):
            parts.append(next(placeholders))
        else:
            parts.append(part)
    values = {
        "actor": t.actor,
        "alias": t.alias,
        "config": t.config,
        "other": new_id(),
        "nonce": f"local_{new_id()}",
        "type": "actors",
    }
    return "/".join(values[p] if p in values else p for p in parts)


def normalize_names(suffix: str) -> list[str]:
    """What each placeholder of a route stands for, from the policy entry of its shape."""
    shape = route_template(("actors", *[p for p in suffix.split("/") if p]))
    template = next(path for (path, _m) in POLICY if normalize(path) == shape)
    names = [seg[1:-1] for seg in template.split("/") if seg.startswith("{")]
    meaning = {"id": "actor", "alias": "alias", "name": "config", "nid": "nonce", "type": "type"}
    return [meaning.get(n, "other") for n in names]


CASES = [
    pytest.param(suffix, shape, method, role, grant, id=f"{method} {shape or '/'} {role} {grant}")
    for (suffix, shape, method), role, grant in itertools.product(served(), ROLES, GRANTS)
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


def make_targets(owner, store, grantee: str | None, level: str | None) -> Targets:
    actor_id = ok(owner.post("/actors", json={"image": "abaco-test/none:1"}))["id"]
    alias = f"m{next(_counter)}.{actor_id.lower()}"
    ok(owner.post("/actors/aliases", json={"alias": alias, "actor_id": actor_id}))
    config = f"conf{next(_counter)}"
    # configs are created by their own endpoint (another part of the API); the matrix needs
    # only the document and its permissions
    store.create_object(
        "local", "config", config, {"name": config, "value": "v", "is_secret": False, "actors": actor_id}
    )
    store.set_permission("local", "config", config, "owner", "UPDATE")
    if grantee is not None:
        grant = {"user": grantee, "level": level}
        ok(owner.post(f"/actors/{actor_id}/permissions", json=grant))
        ok(owner.post(f"/actors/aliases/{alias}/permissions", json=grant))
        store.set_permission("local", "config", config, grantee, level)
    return Targets(actor_id, alias, config)


@pytest.mark.parametrize("suffix, shape, method, role, grant", CASES)
def test_matrix(server, owner, callers, store, suffix, shape, method, role, grant):
    caller = callers[role]
    if grant == "none":
        targets = make_targets(owner, store, None, None)
    elif grant.startswith("world:"):
        targets = make_targets(owner, store, WORLD, grant.split(":")[1])
    else:
        targets = make_targets(owner, store, f"{role}-user", grant)
    prefix = "/actors/v2" if role == "privileged" else "/actors"
    path = prefix + fill(suffix, targets)
    response = caller.request(method, path, json=bodies(shape, method, targets))
    message = expected_denial(SPEC[(shape, method)], role, grant)
    body = (
        response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    )
    if message is None:
        assert response.status_code < 500, response.text
        denials = {
            c.message.format(actor=targets.actor) for checks in SPEC.values() for c in checks if c.message
        }
        denials |= {f"Actor local_{targets.actor} does not exist"}
        assert not (response.status_code == 400 and body and body["message"] in denials), response.text
    else:
        assert response.status_code == 400, response.text
        assert body == {
            "message": message.format(actor=targets.actor),
            "result": None,
            "status": "error",
            "version": body["version"],
        }
