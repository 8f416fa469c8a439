"""Nonces (spec §3.6, §4.5, §5.10): the endpoints on actors and aliases, and redemption:
namespaces, levels, counters, the owner's identity, switching nonces off, use counting under
concurrent redemption through two API processes on one SQLite or PostgreSQL store, and (ours)
visibility by level and what a nonce may never do."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from abaco_core.ids import new_id
from tests.access.conftest import ADMIN, BASIC, AccessServer, denied, ok

IMAGE = "abaco-test/none:1"
TOO_MANY_USES = (
    "Invalid nonce description. The max_uses attribute must be at most 2147483647. "
    "The max uses parameter must be a positive integer or -1 (to denote unlimited uses)."
)


@pytest.fixture(scope="module")
def anonymous(server):
    return server.anonymous()


def new_actor(client) -> str:
    return ok(client.post("/actors", json={"image": IMAGE}))["id"]


def nonce_of(client, path: str, **fields) -> dict:
    return ok(client.post(f"{path}/nonces", json=fields))


def test_create_with_defaults(server, alice):
    actor_id = new_actor(alice)
    r = alice.post(f"/actors/{actor_id}/nonces", json={"description": "for the webhook"})
    assert r.json()["message"] == "Actor nonce created successfully."
    nonce = r.json()["result"]
    assert nonce["id"].startswith("local_") and nonce["id"].count("_") == 1
    assert {
        k: nonce[k]
        for k in (
            "actor_id",
            "owner",
            "roles",
            "level",
            "max_uses",
            "remaining_uses",
            "current_uses",
            "description",
            "last_use_time",
        )
    } == {
        "actor_id": actor_id,
        "owner": "alice",
        "roles": list(BASIC),
        "level": "EXECUTE",
        "max_uses": -1,
        "remaining_uses": -1,
        "current_uses": 0,
        "description": "for the webhook",
        "last_use_time": "None",
    }
    assert "alias" not in nonce
    assert nonce["_links"] == {
        "self": f"{server.url}/actors/v2/{actor_id}/nonces/{nonce['id']}",
        "owner": f"{server.url}/profiles/v2/alice",
        "actor": f"{server.url}/actors/v2/{actor_id}",
    }
    r = alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}")
    assert r.json()["message"] == "Actor nonce retrieved successfully." and r.json()["result"] == nonce
    r = alice.get(f"/actors/{actor_id}/nonces")
    assert r.json()["message"] == "Actor nonces retrieved successfully." and r.json()["result"] == [nonce]
    r = alice.delete(f"/actors/{actor_id}/nonces/{nonce['id']}")
    assert r.json()["message"] == "Actor nonce deleted successfully." and r.json()["result"] is None
    assert ok(alice.get(f"/actors/{actor_id}/nonces")) == []
    denied(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"), 404, "Nonce not found.")
    denied(alice.delete(f"/actors/{actor_id}/nonces/{nonce['id']}"), 404, "Nonce not found.")


def test_alias_nonces(server, alice):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "nonce.alias", "actor_id": actor_id}))
    r = alice.post("/actors/aliases/nonce.alias/nonces", json={"level": "READ", "max_uses": 2})
    assert r.json()["message"] == "Alias nonce created successfully."
    nonce = r.json()["result"]
    assert nonce["actor_id"] is None and nonce["alias"] == "nonce.alias"
    assert nonce["_links"]["self"] == f"{server.url}/actors/v2/None/nonces/{nonce['id']}"
    assert ok(alice.get("/actors/aliases/nonce.alias/nonces")) == [nonce]
    assert ok(alice.get(f"/actors/aliases/nonce.alias/nonces/{nonce['id']}")) == nonce
    # an alias nonce is not an actor nonce
    assert ok(alice.get(f"/actors/{actor_id}/nonces")) == []
    denied(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"), 404, "Nonce not found.")
    r = alice.delete(f"/actors/aliases/nonce.alias/nonces/{nonce['id']}")
    assert r.json()["message"] == "Alias nonce deleted successfully."
    denied(
        alice.post("/actors/aliases/nonce.alias/nonces", json={"level": "UPDATE"}),
        400,
        "Invalid nonce description. The level attribute must be one of: NONE, READ, EXECUTE.",
    )
    denied(alice.get("/actors/aliases/no.alias/nonces"), 404, "No alias found: no.alias.")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"level": "ALL"},
            "Invalid nonce description. The level attribute must be one of: NONE, READ, EXECUTE, UPDATE.",
        ),
        (
            {"max_uses": 0},
            "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).",
        ),
        (
            {"max_uses": -2},
            "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).",
        ),
        (
            {"max_uses": "many"},
            "Invalid nonce description. The max_uses attribute must be an integer. "
            "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).",
        ),
        ({"description": {"a": 1}}, "Invalid nonce description. The description attribute must be a string."),
        (
            {"max_uses": "--3"},
            "Invalid nonce description. The max_uses attribute must be an integer. "
            "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).",
        ),
        (["level", "READ"], "Invalid nonce description: the JSON body must be an object."),
        # one bound for the number and the string form
        ({"max_uses": 2**31}, TOO_MANY_USES),
        ({"max_uses": 10**29}, TOO_MANY_USES),
        ({"max_uses": str(2**31)}, TOO_MANY_USES),
        ({"max_uses": "1" * 19}, TOO_MANY_USES),
        ({"max_uses": "9" * 5000}, TOO_MANY_USES),
        (
            {"max_uses": 1.5},
            "Invalid nonce description. The max_uses attribute must be an integer. "
            "The max uses parameter must be a positive integer or -1 (to denote unlimited uses).",
        ),
    ],
)
def test_bad_nonce_bodies(alice, body, message):
    denied(alice.post(f"/actors/{new_actor(alice)}/nonces", json=body), 400, message)


@pytest.mark.parametrize("given", [2**31 - 1, str(2**31 - 1), " 7 ", 1, "-1"])
def test_max_uses_up_to_the_bound(alice, given):
    nonce = ok(alice.post(f"/actors/{new_actor(alice)}/nonces", json={"max_uses": given}))
    assert nonce["max_uses"] == int(given)


def test_unknown_actor(server, alice):
    admin = server.as_user("nonce-admin", ADMIN)
    missing = new_id()
    denied(
        admin.post(f"/actors/{missing}/nonces", json={}), 404, f"No actor found with identifier: {missing}."
    )


def test_counters_of_an_unlimited_nonce(alice, anonymous):
    """Every accepted request counts, whatever the method (spec §5.10)."""
    actor_id = new_actor(alice)
    nonce = nonce_of(alice, f"/actors/{actor_id}")
    for path in ("", "/messages", "/executions"):
        ok(anonymous.get(f"/actors/{actor_id}{path}", params={"x-nonce": nonce["id"]}))
    accepted = ok(
        anonymous.post(f"/actors/{actor_id}/messages", params={"x-nonce": nonce["id"]}, json={"message": "m"})
    )
    after = ok(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"))
    assert (after["current_uses"], after["remaining_uses"]) == (4, -1)
    assert after["last_use_time"] != "None"
    # the request ran as the nonce's owner
    execution = ok(alice.get(f"/actors/{actor_id}/executions/{accepted['execution_id']}"))
    assert execution["executor"] == "alice"


def test_a_limited_nonce_runs_out(alice, anonymous):
    actor_id = new_actor(alice)
    nonce = nonce_of(alice, f"/actors/{actor_id}", level="READ", max_uses=3)
    params = {"x-nonce": nonce["id"]}
    # too low a level is refused and consumes no use
    denied(
        anonymous.post(f"/actors/{actor_id}/messages", params=params, json={"message": "m"}),
        400,
        "Nonce does not have sufficient permissions level.",
    )
    denied(
        anonymous.delete(f"/actors/{actor_id}", params=params),
        400,
        "Nonce does not have sufficient permissions level.",
    )
    for _ in range(3):
        ok(anonymous.get(f"/actors/{actor_id}", params=params))
    denied(anonymous.get(f"/actors/{actor_id}", params=params), 400, "No remaining uses left for this nonce.")
    after = ok(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"))
    assert (after["current_uses"], after["remaining_uses"]) == (3, 0)


def test_namespaces(alice, anonymous):
    one, two = new_actor(alice), new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "ns.alias", "actor_id": one}))
    actor_nonce = nonce_of(alice, f"/actors/{one}", level="READ")["id"]
    alias_nonce = nonce_of(alice, "/actors/aliases/ns.alias", level="READ")["id"]
    ok(anonymous.get(f"/actors/{one}", params={"x-nonce": actor_nonce}))
    ok(anonymous.get("/actors/ns.alias", params={"x-nonce": alias_nonce}))
    for path, nonce in (
        (f"/actors/{two}", actor_nonce),
        ("/actors/ns.alias", actor_nonce),
        (f"/actors/{one}", alias_nonce),
    ):
        denied(anonymous.get(path, params={"x-nonce": nonce}), 400, "Nonce does not exist.")
    denied(
        anonymous.get(f"/actors/{one}", params={"x-nonce": f"local_{new_id()}"}), 400, "Nonce does not exist."
    )
    denied(anonymous.get(f"/actors/{one}", params={"x-nonce": "garbage"}), 400, "Nonce does not exist.")
    # a nonce of another tenant names that tenant: the actor is not there
    denied(
        anonymous.get(f"/actors/{one}", params={"x-nonce": f"OTHER_{actor_nonce.split('_')[1]}"}),
        400,
        "Nonce does not exist.",
    )


def test_only_actor_paths_take_a_nonce(alice, anonymous):
    nonce = nonce_of(alice, f"/actors/{new_actor(alice)}")["id"]
    denied(anonymous.get("/actors", params={"x-nonce": nonce}), 400, "Not authorized.")
    denied(
        anonymous.get("/actors/aliases", params={"x-nonce": nonce}),
        404,
        "Actor with identifier 'aliases' not found",
    )
    denied(anonymous.get("/actors"), 400, "No JWT or nonce provided.")


def test_the_request_runs_with_the_owners_rights(server, alice, anonymous):
    """The nonce bounds the level; the owner's permissions still apply (and an admin's
    nonce carries the admin role)."""
    actor_id = new_actor(alice)
    ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": "helper", "level": "READ"}))
    helper = server.as_user("helper", BASIC)
    denied(
        helper.post(f"/actors/{actor_id}/nonces", json={}),
        400,
        "Not authorized -- you do not have access to this actor.",
    )
    admin = server.as_user("nonce-root", ADMIN)
    nonce = nonce_of(admin, f"/actors/{actor_id}", level="UPDATE")
    assert nonce["roles"] == list(ADMIN)
    ok(anonymous.post(f"/actors/{actor_id}/workers", params={"x-nonce": nonce["id"]}, json={"num": 1}))
    basic_nonce = nonce_of(alice, f"/actors/{actor_id}", level="UPDATE")
    denied(
        anonymous.post(f"/actors/{actor_id}/workers", params={"x-nonce": basic_nonce["id"]}, json={"num": 1}),
        400,
        "Not authorized -- only admins are authorized to update workers.",
    )
    # when the owner loses access, so does the nonce
    ok(admin.post(f"/actors/{actor_id}/permissions", json={"user": "alice", "level": "NONE"}))
    denied(
        anonymous.get(f"/actors/{actor_id}", params={"x-nonce": basic_nonce["id"]}),
        400,
        "Not authorized -- you do not have access to this actor.",
    )


def test_a_recognised_caller_consumes_no_use(alice):
    actor_id = new_actor(alice)
    nonce = nonce_of(alice, f"/actors/{actor_id}", max_uses=1)
    ok(alice.get(f"/actors/{actor_id}", params={"x-nonce": nonce["id"]}))
    assert ok(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"))["remaining_uses"] == 1


def test_nonces_can_be_switched_off(tmp_path):
    """Q11: ABACO_ACCEPT_NONCE is a boolean."""
    srv = AccessServer(tmp_path / "no-nonce", {"ABACO_ACCEPT_NONCE": "False"}).start()
    try:
        alice = srv.as_user("alice", BASIC)
        actor_id = new_actor(alice)
        nonce = nonce_of(alice, f"/actors/{actor_id}")
        denied(
            srv.anonymous().get(f"/actors/{actor_id}", params={"x-nonce": nonce["id"]}),
            400,
            "No JWT or nonce provided.",
        )
    finally:
        srv.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_database(request, tmp_path) -> Iterator[str]:
    """The URL of one database two API processes share."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
        return
    from tests.queues.services import postgres_schema

    with postgres_schema() as url:
        yield url


def test_concurrent_redemption_never_exceeds_max_uses(tmp_path, shared_database):
    """Two API processes on one store (one SQLite file, or PostgreSQL), many clients at once:
    exactly max_uses requests get through."""
    env = {"ABACO_DATABASE_URL": shared_database}
    first = AccessServer(tmp_path / "one", env).start()
    second = AccessServer(tmp_path / "two", env).start()
    try:
        alice = first.as_user("alice", BASIC)
        actor_id = new_actor(alice)
        max_uses, attempts = 7, 48
        nonce = nonce_of(alice, f"/actors/{actor_id}", level="READ", max_uses=max_uses)
        clients = [srv.anonymous() for srv in (first, second) for _ in range(8)]
        pairs = list(zip(itertools.cycle(clients), range(attempts), strict=False))
        with ThreadPoolExecutor(len(clients)) as pool:
            responses = list(
                pool.map(
                    lambda pair: pair[0].get(f"/actors/{actor_id}/state", params={"x-nonce": nonce["id"]}),
                    pairs,
                )
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * max_uses + [400] * (attempts - max_uses), [
            r.text for r in responses if r.status_code not in (200, 400)
        ]
        refusals = {r.json()["message"] for r in responses if r.status_code == 400}
        assert refusals == {"No remaining uses left for this nonce."}
        after = ok(second.as_user("alice", BASIC).get(f"/actors/{actor_id}/nonces/{nonce['id']}"))
        assert (after["current_uses"], after["remaining_uses"]) == (max_uses, 0)
    finally:
        first.stop()
        second.stop()


# -- ours: nonces never raise a caller's level ------------------------------------------------

NONCE_FORBIDDEN = "Not authorized -- a nonce cannot be used to create nonces or change permissions."
LEVELS = ["NONE", "READ", "EXECUTE", "UPDATE"]


def test_a_caller_sees_only_nonces_at_or_below_their_level(server, alice):
    """A READ holder may list an actor's nonces (spec §5.10) but never learns the id of a
    nonce above READ, so cannot redeem the owner's UPDATE nonce to take the actor over."""
    actor_id = new_actor(alice)
    made = {level: nonce_of(alice, f"/actors/{actor_id}", level=level)["id"] for level in LEVELS}
    admin = server.as_user("nonce-overseer", ADMIN)
    for level in ("READ", "EXECUTE", "UPDATE"):
        user = f"viewer-{level.lower()}"
        ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": user, "level": level}))
        viewer = server.as_user(user, BASIC)
        seen = LEVELS[: LEVELS.index(level) + 1]
        assert [n["id"] for n in ok(viewer.get(f"/actors/{actor_id}/nonces"))] == [made[lv] for lv in seen]
        for other, nonce_id in made.items():
            r = viewer.get(f"/actors/{actor_id}/nonces/{nonce_id}")
            if other in seen:
                assert ok(r)["level"] == other
            else:
                denied(r, 404, "Nonce not found.")
    # the escalation: the READ holder cannot name the UPDATE nonce, and guessing its id is 404
    reader = server.as_user("viewer-read", BASIC)
    denied(reader.get(f"/actors/{actor_id}/nonces/{made['UPDATE']}"), 404, "Nonce not found.")
    # an UPDATE holder (who may delete nonces) sees them all; admins see them all
    assert len(ok(server.as_user("viewer-update", BASIC).get(f"/actors/{actor_id}/nonces"))) == 4
    assert len(ok(admin.get(f"/actors/{actor_id}/nonces"))) == 4
    # the same through an alias of the actor: the actor's nonces, the caller's level on the actor
    ok(alice.post("/actors/aliases", json={"alias": "seen.alias", "actor_id": actor_id}))
    assert [n["id"] for n in ok(reader.get("/actors/seen.alias/nonces"))] == [made["NONE"], made["READ"]]


def test_alias_nonces_are_seen_up_to_the_lower_of_alias_and_actor_levels(server, alice):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "low.alias", "actor_id": actor_id}))
    made = {lv: nonce_of(alice, "/actors/aliases/low.alias", level=lv)["id"] for lv in LEVELS[:3]}
    carol = server.as_user("carol", BASIC)
    ok(alice.post("/actors/aliases/low.alias/permissions", json={"user": "carol", "level": "UPDATE"}))
    ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": "carol", "level": "READ"}))
    assert [n["id"] for n in ok(carol.get("/actors/aliases/low.alias/nonces"))] == [
        made["NONE"],
        made["READ"],
    ]
    denied(carol.get(f"/actors/aliases/low.alias/nonces/{made['EXECUTE']}"), 404, "Nonce not found.")
    ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": "carol", "level": "UPDATE"}))
    ok(alice.post("/actors/aliases/low.alias/permissions", json={"user": "carol", "level": "READ"}))
    assert len(ok(carol.get("/actors/aliases/low.alias/nonces"))) == 2
    ok(alice.post("/actors/aliases/low.alias/permissions", json={"user": "carol", "level": "EXECUTE"}))
    assert len(ok(carol.get("/actors/aliases/low.alias/nonces"))) == 3


def test_a_request_made_with_a_nonce_sees_no_nonce_above_it(server, alice, anonymous):
    """The nonce's level caps what its request may see, even when its owner (here an admin)
    could see more."""
    actor_id = new_actor(alice)
    update = nonce_of(alice, f"/actors/{actor_id}", level="UPDATE")["id"]
    read = nonce_of(alice, f"/actors/{actor_id}", level="READ")["id"]
    admin_read = nonce_of(server.as_user("nonce-boss", ADMIN), f"/actors/{actor_id}", level="READ")["id"]
    for nonce in (read, admin_read):
        listed = ok(anonymous.get(f"/actors/{actor_id}/nonces", params={"x-nonce": nonce}))
        assert {n["id"] for n in listed} == {read, admin_read}
        denied(
            anonymous.get(f"/actors/{actor_id}/nonces/{update}", params={"x-nonce": nonce}),
            404,
            "Nonce not found.",
        )
    listed = ok(anonymous.get(f"/actors/{actor_id}/nonces", params={"x-nonce": update}))
    assert {n["id"] for n in listed} == {update, read, admin_read}


@pytest.mark.parametrize("roles", [BASIC, ADMIN], ids=["basic-owner", "admin-owner"])
def test_a_nonce_cannot_create_nonces_or_change_permissions(server, anonymous, roles):
    """Refused before redemption: the attempts use nothing up."""
    owner = server.as_user("nonce-minter", roles)
    actor_id = new_actor(owner)
    ok(owner.post("/actors/aliases", json={"alias": f"mint.{actor_id.lower()}", "actor_id": actor_id}))
    nonce = nonce_of(owner, f"/actors/{actor_id}", level="UPDATE", max_uses=2)["id"]
    alias_nonce = nonce_of(owner, f"/actors/aliases/mint.{actor_id.lower()}", level="EXECUTE")["id"]
    params = {"x-nonce": nonce}
    attempts = [
        (f"/actors/{actor_id}/nonces", {"level": "UPDATE"}),
        (f"/actors/{actor_id}/permissions", {"user": "mallory", "level": "UPDATE"}),
        (f"/actors/v2/{actor_id}/permissions", {"user": "mallory", "level": "UPDATE"}),
    ]
    for path, body in attempts:
        denied(anonymous.post(path, params=params, json=body), 400, NONCE_FORBIDDEN)
    denied(
        anonymous.post(f"/actors/mint.{actor_id.lower()}/nonces", params={"x-nonce": alias_nonce}, json={}),
        400,
        NONCE_FORBIDDEN,
    )
    after = ok(owner.get(f"/actors/{actor_id}/nonces/{nonce}"))
    assert (after["current_uses"], after["remaining_uses"]) == (0, 2)
    assert "mallory" not in ok(owner.get(f"/actors/{actor_id}/permissions"))
    assert len(ok(owner.get(f"/actors/{actor_id}/nonces"))) == 1
    # what a nonce may do still works, and counts
    ok(anonymous.get(f"/actors/{actor_id}/permissions", params=params))
    assert ok(owner.get(f"/actors/{actor_id}/nonces/{nonce}"))["remaining_uses"] == 1
