"""Aliases (spec §5.11, Q34, Q35): creation checks in order, names, uniqueness under
concurrency, re-pointing, deletion and its cascade, and aliases (dotted ones included) used
wherever an actor id is."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from abaco_core.aliases import FORBIDDEN_CHARACTERS
from abaco_core.ids import new_id
from tests.access.conftest import ADMIN, BASIC, denied, ok

IMAGE = "abaco-test/none:1"


def new_actor(client) -> str:
    return ok(client.post("/actors", json={"image": IMAGE}))["id"]


def test_create_get_list(server, alice, bob):
    actor_id = new_actor(alice)
    r = alice.post("/actors/aliases", json={"alias": "my.dotted.alias", "actor_id": actor_id})
    assert r.json()["message"] == "Actor alias created successfully."
    alias = r.json()["result"]
    assert alias == {
        "alias": "my.dotted.alias",
        "actor_id": actor_id,
        "owner": "alice",
        "_links": {
            "self": f"{server.url}/actors/v2/aliases/my.dotted.alias",
            "owner": f"{server.url}/profiles/v2/alice",
            "actor": f"{server.url}/actors/v2/{actor_id}",
        },
    }
    assert ok(alice.get("/actors/aliases/my.dotted.alias/permissions")) == {"alice": "UPDATE"}
    r = alice.get("/actors/aliases/my.dotted.alias")
    assert r.json()["message"] == "Alias retrieved successfully." and r.json()["result"] == alias
    # every alias of the tenant is listed to every user
    r = bob.get("/actors/aliases")
    assert r.json()["message"] == "Aliases retrieved successfully."
    assert alias in r.json()["result"]
    denied(alice.get("/actors/aliases/not.there"), 404, "No alias found: not.there.")


def test_checks_in_order(alice, bob):
    actor_id = new_actor(alice)
    missing = new_id()
    cases = [
        ({"actor_id": actor_id}, 400, "Invalid alias description. Missing required field: alias."),
        ({"alias": "x.y"}, 400, "Invalid alias description. Missing required field: actor_id."),
        (
            {"alias": new_id(), "actor_id": actor_id},
            400,
            "Invalid alias description. Alias cannot be an Abaco hash id.",
        ),
        # the hashid check comes before the actor check
        (
            {"alias": new_id(), "actor_id": missing},
            400,
            "Invalid alias description. Alias cannot be an Abaco hash id.",
        ),
        ({"alias": "admin", "actor_id": missing}, 404, f"No actor found with id: {missing}."),
    ]
    for body, status, message in cases:
        denied(alice.post("/actors/aliases", json=body), status, message)
    # the actor check comes before the permission check, which comes before the name checks
    denied(
        bob.post("/actors/aliases", json={"alias": "admin", "actor_id": actor_id}),
        400,
        f"Not authorized -- you do not have access to {actor_id}.",
    )
    r = alice.post("/actors/aliases", json={"alias": "admin", "actor_id": actor_id})
    assert r.status_code == 400 and r.json()["message"].startswith("admin is a reserved word.")


@pytest.mark.parametrize(
    "word", ["executions", "nonces", "logs", "messages", "adapters", "admin", "aliases", "search"]
)
def test_reserved_words(alice, word):
    actor_id = new_actor(alice)
    r = alice.post("/actors/aliases", json={"alias": word, "actor_id": actor_id})
    assert r.status_code == 400 and r.json()["message"].startswith(f"{word} is a reserved word."), r.text


@pytest.mark.parametrize("ch", FORBIDDEN_CHARACTERS)
def test_forbidden_characters(alice, ch):
    actor_id = new_actor(alice)
    r = alice.post("/actors/aliases", json={"alias": f"bad{ch}alias", "actor_id": actor_id})
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(f"'{ch}' is a forbidden character."), r.text


def test_admin_role_does_not_replace_update_on_the_actor(server, alice):
    actor_id = new_actor(alice)
    boss = server.as_user("alias-admin", ADMIN)
    denied(
        boss.post("/actors/aliases", json={"alias": "boss.alias", "actor_id": actor_id}),
        400,
        f"Not authorized -- you do not have access to {actor_id}.",
    )


def test_unique_in_the_tenant_even_under_concurrency(server, alice):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "taken", "actor_id": actor_id}))
    denied(
        alice.post("/actors/aliases", json={"alias": "taken", "actor_id": actor_id}),
        400,
        "Alias taken already exists.",
    )
    clients = [server.as_user("alice", BASIC) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda c: c.post("/actors/aliases", json={"alias": "raced.alias", "actor_id": actor_id}),
                clients,
            )
        )
    assert sorted(r.status_code for r in responses) == [200] + [400] * 7
    assert all(
        r.json()["message"] == "Alias raced.alias already exists." for r in responses if r.status_code == 400
    )


def test_put_repoints(server, alice, bob):
    first, second, bobs = new_actor(alice), new_actor(alice), new_actor(bob)
    ok(alice.post("/actors/aliases", json={"alias": "moving", "actor_id": first}))
    denied(
        alice.put("/actors/aliases/moving", json={"alias": "renamed", "actor_id": second}),
        400,
        "Invalid alias update description. The alias itself cannot be updated in a PUT request.",
    )
    denied(
        alice.put("/actors/aliases/moving", json={"actor_id": bobs}),
        400,
        "Not authorized -- you do not have UPDATE access to the actor you want to associate with this alias.",
    )
    denied(
        bob.put("/actors/aliases/moving", json={"actor_id": bobs}),
        400,
        "Not authorized -- you do not have access to this alias.",
    )
    r = alice.put("/actors/aliases/moving", json={"actor_id": second})
    assert r.json()["message"] == "Actor alias updated successfully."
    assert r.json()["result"]["actor_id"] == second
    assert ok(alice.get("/actors/moving"))["id"] == second
    # a user it was shared with may re-point it; the owner stays, the editor gets UPDATE
    ok(alice.post("/actors/aliases/moving/permissions", json={"user": "bob", "level": "UPDATE"}))
    assert ok(bob.put("/actors/aliases/moving", json={"actor_id": bobs}))["owner"] == "alice"


def test_a_dotted_alias_works_everywhere(server, alice):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "a.b.c", "actor_id": actor_id}))
    for prefix in ("/actors", "/actors/v2"):
        assert ok(alice.get(f"{prefix}/a.b.c"))["id"] == actor_id
    accepted = ok(alice.post("/actors/a.b.c/messages", json={"message": "hi"}))
    # links carry the real actor id, not the alias (spec §2.8)
    assert accepted["_links"]["self"].endswith(f"/actors/v2/{actor_id}/executions/{accepted['execution_id']}")
    execution = ok(alice.get(f"/actors/a.b.c/executions/{accepted['execution_id']}"))
    assert execution["actor_id"] == actor_id
    assert ok(alice.get("/actors/a.b.c/executions"))["actor_id"] == actor_id
    nonce = ok(alice.post("/actors/aliases/a.b.c/nonces", json={"level": "READ"}))
    assert nonce["alias"] == "a.b.c"
    anonymous = server.anonymous()
    assert ok(anonymous.get("/actors/a.b.c", params={"x-nonce": nonce["id"]}))["id"] == actor_id
    r = alice.delete("/actors/aliases/a.b.c")
    assert r.json() == {
        "message": "Alias a.b.c deleted successfully.",
        "result": None,
        "status": "success",
        "version": r.json()["version"],
    }
    denied(alice.get("/actors/a.b.c"), 404, "Actor with identifier 'a.b.c' not found")


def test_deleting_an_alias_cascades(server, alice, bob):
    """Q35: its nonces and permissions go with it, and it leaves the configs' actor lists."""
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "doomed", "actor_id": actor_id}))
    ok(alice.post("/actors/aliases/doomed/permissions", json={"user": "bob", "level": "UPDATE"}))
    nonce = ok(alice.post("/actors/aliases/doomed/nonces", json={"level": "READ"}))
    store = _store(server)
    store.create_object(
        "local",
        "config",
        "cfg.doomed",
        {"name": "cfg.doomed", "value": "v", "is_secret": False, "actors": f"doomed,{actor_id}"},
    )
    ok(bob.delete("/actors/aliases/doomed"))  # a user it was shared with may delete it
    assert store.get_permissions("local", "alias", "doomed") == {}
    assert store.get_object("local", "config", "cfg.doomed")["actors"] == actor_id
    # recreated, the alias starts afresh: the old nonce and the old shares are gone
    ok(alice.post("/actors/aliases", json={"alias": "doomed", "actor_id": actor_id}))
    assert ok(alice.get("/actors/aliases/doomed/permissions")) == {"alice": "UPDATE"}
    assert ok(alice.get("/actors/aliases/doomed/nonces")) == []
    denied(
        server.anonymous().get("/actors/doomed", params={"x-nonce": nonce["id"]}),
        400,
        "Nonce does not exist.",
    )
    store.close()


def test_deleting_an_actor_deletes_its_aliases(server, alice):
    """Q35: and with them their nonces and permissions; its own nonces go too."""
    actor_id, other = new_actor(alice), new_actor(alice)
    for alias in ("gone.one", "gone.two"):
        ok(alice.post("/actors/aliases", json={"alias": alias, "actor_id": actor_id}))
    ok(alice.post("/actors/aliases", json={"alias": "stays", "actor_id": other}))
    ok(alice.post("/actors/aliases/gone.one/nonces", json={}))
    ok(alice.post(f"/actors/{actor_id}/nonces", json={}))
    store = _store(server)
    store.create_object(
        "local",
        "config",
        "cfg.actor",
        {"name": "cfg.actor", "value": "v", "is_secret": False, "actors": f"{actor_id},stays,gone.two"},
    )
    ok(alice.delete(f"/actors/{actor_id}"))
    names = {a["alias"] for a in ok(alice.get("/actors/aliases"))}
    assert "stays" in names and not names & {"gone.one", "gone.two"}
    for alias in ("gone.one", "gone.two"):
        assert store.get_permissions("local", "alias", alias) == {}
    nonces = [doc for _key, doc in store.list_objects("local", "nonce")]
    assert not [
        d for d in nonces if d.get("alias") in ("gone.one", "gone.two") or d.get("actor_id") == actor_id
    ]
    assert store.get_object("local", "config", "cfg.actor")["actors"] == "stays"
    store.close()


def _store(server):
    from abaco_peewee.store import PeeweeStore

    return PeeweeStore(f"sqlite:///{server.data_dir}/abaco.db")


def test_repointing_an_alias_that_would_close_a_loop_of_links_is_refused(alice):
    a, b, c = new_actor(alice), new_actor(alice), new_actor(alice)
    ok(alice.put(f"/actors/{b}", json={"image": IMAGE, "link": a}))  # b -> a
    ok(alice.post("/actors/aliases", json={"alias": "hop", "actor_id": c}))
    ok(alice.put(f"/actors/{a}", json={"image": IMAGE, "link": "hop"}))  # a -> hop = c
    cycle = "Error: this update would result in a cycle of linked actors."
    denied(alice.put("/actors/aliases/hop", json={"actor_id": b}), 400, cycle)  # a -> b -> a
    denied(alice.put("/actors/aliases/hop", json={"actor_id": a}), 400, cycle)  # a -> a
    assert ok(alice.get("/actors/aliases/hop"))["actor_id"] == c
    ok(alice.put("/actors/aliases/hop", json={"actor_id": new_actor(alice)}))


# -- path segments are URL-decoded -------------------------------------------------------------


@pytest.mark.parametrize(
    "alias, encoded",
    [("café", "caf%C3%A9"), ("a%b", "a%25b"), ("π.ünï", "%CF%80.%C3%BCn%C3%AF"), ("x%2Fy", "x%252Fy")],
)
def test_unicode_and_percent_aliases_work_in_paths(server, alice, alias, encoded):
    actor_id = new_actor(alice)
    made = ok(alice.post("/actors/aliases", json={"alias": alias, "actor_id": actor_id}))
    assert made["_links"]["self"] == f"{server.url}/actors/v2/aliases/{encoded}"
    assert ok(alice.get(f"/actors/{encoded}"))["id"] == actor_id
    assert ok(alice.get(f"/actors/v2/{encoded}/messages"))["messages"] == 0
    assert ok(alice.get(f"/actors/aliases/{encoded}"))["alias"] == alias
    assert ok(alice.get(f"/actors/aliases/{encoded}/permissions")) == {"alice": "UPDATE"}
    nonce = ok(alice.post(f"/actors/aliases/{encoded}/nonces", json={"level": "READ"}))
    assert ok(alice.get(f"/actors/aliases/{encoded}/nonces/{nonce['id']}"))["alias"] == alias
    assert ok(server.anonymous().get(f"/actors/{encoded}", params={"x-nonce": nonce["id"]}))["id"] == actor_id
    ok(alice.delete(f"/actors/aliases/{encoded}"))
    denied(alice.get(f"/actors/aliases/{encoded}"), 404, f"No alias found: {alias}.")


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(alice, name):
    actor_id = new_actor(alice)
    denied(
        alice.post("/actors/aliases", json={"alias": name, "actor_id": actor_id}),
        400,
        "Invalid alias description. An alias cannot be '.' or '..'.",
    )
    denied(
        alice.post(
            "/actors/configs", json={"name": name, "value": "v", "is_secret": False, "actors": actor_id}
        ),
        400,
        "Invalid actor config description: a config name cannot be '.' or '..'.",
    )


@pytest.mark.parametrize("name, encoded", [("café", "caf%C3%A9"), ("50%", "50%25"), ("ü.x", "%C3%BC.x")])
def test_unicode_and_percent_config_names_work_in_paths(alice, name, encoded):
    actor_id = new_actor(alice)
    body = {"name": name, "value": "v", "is_secret": False, "actors": actor_id}
    ok(alice.post("/actors/configs", json=body))
    assert ok(alice.get(f"/actors/configs/{encoded}"))["name"] == name
    assert ok(alice.get(f"/actors/configs/{encoded}/permissions")) == {"alice": "UPDATE"}
    ok(alice.put(f"/actors/configs/{encoded}", json={"value": "w", "is_secret": False, "actors": actor_id}))
    assert ok(alice.get(f"/actors/configs/{encoded}"))["value"] == "w"
    ok(alice.delete(f"/actors/configs/{encoded}"))
    denied(alice.get(f"/actors/configs/{encoded}"), 404, f"No config found: {name}.")


@pytest.mark.parametrize("alias", [" foo", "foo ", " ", "a b"])
def test_spaces_are_refused_never_trimmed(alice, alias):
    actor_id = new_actor(alice)
    r = alice.post("/actors/aliases", json={"alias": alias, "actor_id": actor_id})
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("' ' is a forbidden character."), r.text
    r = alice.post("/actors/aliases", data={"alias": alias, "actor_id": actor_id})
    assert r.status_code == 400 and r.json()["message"].startswith("' ' is a forbidden character."), r.text
    denied(alice.get("/actors/aliases/foo"), 404, "No alias found: foo.")
