"""Authorization beyond the matrix (spec §3.4, §3.5, §5.1, §5.9): restricted fields, the
actor listing, identifiers without permissions, aliases that confer no actor rights,
tenants, the permission endpoints."""

from __future__ import annotations

import pytest

from abaco_core.access import WORLD
from abaco_core.ids import new_id
from tests.access.conftest import ADMIN, BASIC, PRIVILEGED, denied, ok

ACTOR_DENIED = "Not authorized -- you do not have access to this actor."
IMAGE = "abaco-test/none:1"


def new_actor(client, **fields) -> str:
    return ok(client.post("/actors", json={"image": IMAGE, **fields}))["id"]


# -- restricted registration fields (§3.5, Q9) --------------------------------------------------

RESTRICTED = [
    ({"privileged": True}, "Not authorized -- only admins and privileged users can make privileged actors."),
    ({"max_workers": 3}, "Not authorized -- only admins and privileged users can set max workers."),
    ({"maxWorkers": 3}, "Not authorized -- only admins and privileged users can set max workers."),
    ({"max_cpus": 1000000000}, "Not authorized -- only admins and privileged users can set max CPUs."),
    ({"mem_limit": "512m"}, "Not authorized -- only admins and privileged users can set mem limit."),
    ({"queue": "default"}, "Not authorized -- only admins and privileged users can set queue."),
]


@pytest.mark.parametrize("fields, message", RESTRICTED)
def test_basic_users_cannot_set_restricted_fields(server, alice, fields, message):
    denied(alice.post("/actors", json={"image": IMAGE, **fields}), 400, message)
    actor_id = new_actor(alice)
    denied(alice.put(f"/actors/{actor_id}", json={"image": IMAGE, **fields}), 400, message)


@pytest.mark.parametrize("roles", [PRIVILEGED, ADMIN], ids=["privileged", "admin"])
@pytest.mark.parametrize("fields, message", RESTRICTED)
def test_privileged_and_admin_users_may_set_them(server, roles, fields, message):
    client = server.as_user("powerful", roles)
    actor = ok(client.post("/actors", json={"image": IMAGE, **fields}))
    ok(client.put(f"/actors/{actor['id']}", json={"image": IMAGE, **fields}))


def test_a_false_value_is_not_set(alice):
    """Q9: booleans are parsed before the check, in JSON and in forms."""
    ok(alice.post("/actors", json={"image": IMAGE, "privileged": False}))
    ok(alice.post("/actors", data={"image": IMAGE, "privileged": "False"}))
    r = alice.post("/actors", data={"image": IMAGE, "privileged": "true"})
    denied(r, 400, "Not authorized -- only admins and privileged users can make privileged actors.")


def test_an_unparsable_restricted_value_gets_the_field_error(alice):
    r = alice.post("/actors", json={"image": IMAGE, "privileged": "perhaps"})
    assert r.status_code == 400 and "privileged" in r.json()["message"]
    assert "Invalid actor description" in r.json()["message"]


def test_a_state_body_that_is_not_an_object_skips_the_check(alice):
    actor_id = new_actor(alice, stateless=False)
    result = ok(alice.post(f"/actors/{actor_id}/state", json="abc"))
    assert result["state"] == "abc"


# -- listing (§5.1) ----------------------------------------------------------------------------


def test_listing_shows_what_the_caller_can_read(server):
    owner = server.as_user("lister-owner", BASIC)
    reader, none_user, stranger = (server.as_user(u, BASIC) for u in ("lister-r", "lister-n", "lister-s"))
    boss = server.as_user("lister-admin", ADMIN)
    shared, private, public = new_actor(owner), new_actor(owner), new_actor(owner)
    ok(owner.post(f"/actors/{shared}/permissions", json={"user": "lister-r", "level": "READ"}))
    ok(owner.post(f"/actors/{shared}/permissions", json={"user": "lister-n", "level": "NONE"}))
    ok(owner.post(f"/actors/{public}/permissions", json={"user": WORLD, "level": "READ"}))

    def ids(client):
        return {a["id"] for a in ok(client.get("/actors"))} & {shared, private, public}

    assert ids(owner) == {shared, private, public}
    assert ids(reader) == {shared, public}
    assert ids(none_user) == {public}
    assert ids(stranger) == {public}
    # the admin role does not widen the list (spec §5.1)
    assert ids(boss) == {public}
    ok(boss.get(f"/actors/{private}"))  # though it passes every check


def test_an_update_by_another_user_grants_them_update(server):
    owner, editor = server.as_user("upd-owner", BASIC), server.as_user("upd-editor", BASIC)
    actor_id = new_actor(owner)
    ok(owner.post(f"/actors/{actor_id}/permissions", json={"user": WORLD, "level": "UPDATE"}))
    result = ok(editor.put(f"/actors/{actor_id}", json={"image": IMAGE, "description": "edited"}))
    assert result["owner"] == "upd-owner"
    perms = ok(owner.get(f"/actors/{actor_id}/permissions"))
    assert perms == {"upd-owner": "UPDATE", WORLD: "UPDATE", "upd-editor": "UPDATE"}


# -- identifiers (§3.4 notes, §2.6) ------------------------------------------------------------


def test_a_hashid_without_permissions(alice, admin):
    missing = new_id()
    denied(alice.get(f"/actors/{missing}"), 400, f"Actor local_{missing} does not exist")
    denied(
        alice.post(f"/actors/{missing}/messages", json={"message": "x"}),
        400,
        f"Actor local_{missing} does not exist",
    )
    denied(admin.get(f"/actors/{missing}"), 404, f"No actor found with identifier: {missing}.")


def test_an_unknown_alias_is_404_for_everyone(alice, admin):
    for client in (alice, admin):
        denied(client.get("/actors/no.such.alias"), 404, "Actor with identifier 'no.such.alias' not found")
        denied(
            client.get("/actors/no.such.alias/messages"),
            404,
            "Actor with identifier 'no.such.alias' not found",
        )


def test_alias_permissions_confer_no_actor_rights(alice, bob):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "rights.check", "actor_id": actor_id}))
    ok(alice.post("/actors/aliases/rights.check/permissions", json={"user": "bob", "level": "UPDATE"}))
    assert ok(bob.get("/actors/aliases/rights.check"))["actor_id"] == actor_id
    denied(bob.get("/actors/rights.check"), 400, ACTOR_DENIED)
    denied(bob.get(f"/actors/{actor_id}"), 400, ACTOR_DENIED)
    denied(
        bob.get("/actors/aliases/rights.check/nonces"),
        400,
        "Not authorized -- you do not have access to this alias and actor.",
    )
    # actor rights reach the actor through its alias too
    ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": "bob", "level": "READ"}))
    assert ok(bob.get("/actors/rights.check"))["id"] == actor_id
    denied(bob.delete("/actors/rights.check"), 400, ACTOR_DENIED)


def test_an_alias_with_admin_in_its_name_needs_no_admin_role(alice):
    """Q16: only paths under /actors/admin need the admin role."""
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "myadmin", "actor_id": actor_id}))
    assert ok(alice.get("/actors/myadmin"))["id"] == actor_id
    assert ok(alice.get("/actors/aliases/myadmin"))["alias"] == "myadmin"


def test_a_method_a_route_lacks_is_405_for_anyone(alice, bob):
    actor_id = new_actor(alice)
    for client in (alice, bob):
        r = client.put(f"/actors/{actor_id}/messages", json={})
        assert r.status_code == 405, r.text
        assert r.json()["message"].startswith("Invalid request: the API endpoint does not exist")


def test_tenants_do_not_see_each_other(server):
    here = server.as_user("tenant-user", BASIC, tenant="TENANT-A")
    there = server.as_user("tenant-user", BASIC, tenant="TENANT-B")
    actor_id = new_actor(here)
    ok(here.post("/actors/aliases", json={"alias": "tenant.alias", "actor_id": actor_id}))
    assert actor_id in {a["id"] for a in ok(here.get("/actors"))}
    assert actor_id not in {a["id"] for a in ok(there.get("/actors"))}
    denied(there.get(f"/actors/{actor_id}"), 400, f"Actor TENANT-B_{actor_id} does not exist")
    denied(there.get("/actors/tenant.alias"), 404, "Actor with identifier 'tenant.alias' not found")
    assert "tenant.alias" not in {a["alias"] for a in ok(there.get("/actors/aliases"))}
    # the same alias name is free in the other tenant
    other = new_actor(there)
    ok(there.post("/actors/aliases", json={"alias": "tenant.alias", "actor_id": other}))
    assert ok(there.get("/actors/tenant.alias"))["id"] == other
    assert ok(here.get("/actors/tenant.alias"))["id"] == actor_id


def test_callers_pass_the_real_authentication_pipeline(server):
    """The test method is one configured method among the product's: its callers meet the
    required-role gate (§3.2), and a request it does not recognise is the product's 400."""
    missing_role = "Not authorized -- missing required role."
    denied(server.as_user("stranger", ("Internal/nobody",)).get("/actors"), 400, missing_role)
    denied(server.as_user("roleless", ()).get("/actors"), 400, missing_role)  # Internal/everyone
    denied(server.anonymous().get("/actors"), 400, "No JWT or nonce provided.")


# -- permission endpoints (§5.9) ---------------------------------------------------------------


def test_actor_permissions(alice, bob, admin):
    actor_id = new_actor(alice)
    assert ok(alice.get(f"/actors/{actor_id}/permissions")) == {"alice": "UPDATE"}
    r = alice.post(f"/actors/{actor_id}/permissions", json={"user": "bob", "level": "EXECUTE"})
    assert r.json()["message"] == "Permission added successfully."
    assert r.json()["result"] == {"alice": "UPDATE", "bob": "EXECUTE"}
    # granting again replaces the entry; the map only grows for new users
    assert ok(alice.post(f"/actors/{actor_id}/permissions", data={"user": "bob", "level": "read"})) == {
        "alice": "UPDATE",
        "bob": "READ",
    }
    r = bob.get(f"/actors/{actor_id}/permissions")
    assert r.json()["message"] == "Permissions retrieved successfully."
    denied(
        bob.post(f"/actors/{actor_id}/permissions", json={"user": "bob", "level": "UPDATE"}),
        400,
        ACTOR_DENIED,
    )
    # an UPDATE holder may downgrade even the owner (spec §3.3)
    ok(alice.post(f"/actors/{actor_id}/permissions", json={"user": "bob", "level": "UPDATE"}))
    ok(bob.post(f"/actors/{actor_id}/permissions", json={"user": "alice", "level": "READ"}))
    denied(alice.delete(f"/actors/{actor_id}"), 400, ACTOR_DENIED)
    missing = new_id()
    denied(admin.get(f"/actors/{missing}/permissions"), 404, f"Actor local_{missing} does not exist")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"level": "READ"}, "Invalid permissions description: {'user': 'User owning the permission.'}"),
        (
            {"user": "bob"},
            "Invalid permissions description: {'level': 'Level of the permission: NONE, READ, EXECUTE or UPDATE.'}",
        ),
        (
            {"user": "bob", "level": "ADMIN"},
            "Invalid permission level: ADMIN. The valid values are NONE, READ, EXECUTE, UPDATE.",
        ),
        (
            {"user": ["bob"], "level": "READ"},
            "Invalid permissions description: {'user': 'User owning the permission.'}",
        ),
    ],
)
def test_bad_permission_bodies(alice, body, message):
    actor_id = new_actor(alice)
    denied(alice.post(f"/actors/{actor_id}/permissions", json=body), 400, message)
    ok(alice.post("/actors/aliases", json={"alias": f"perm.{actor_id.lower()}", "actor_id": actor_id}))
    denied(alice.post(f"/actors/aliases/perm.{actor_id.lower()}/permissions", json=body), 400, message)


def test_alias_and_config_permissions(server, alice, bob, admin):
    actor_id = new_actor(alice)
    ok(alice.post("/actors/aliases", json={"alias": "perm.alias", "actor_id": actor_id}))
    assert ok(alice.get("/actors/aliases/perm.alias/permissions")) == {"alice": "UPDATE"}
    denied(
        bob.get("/actors/aliases/perm.alias/permissions"),
        400,
        "Not authorized -- you do not have access to this alias.",
    )
    ok(alice.post("/actors/aliases/perm.alias/permissions", json={"user": "bob", "level": "READ"}))
    assert ok(bob.get("/actors/aliases/perm.alias/permissions")) == {"alice": "UPDATE", "bob": "READ"}
    denied(bob.get("/actors/aliases/nothing.here/permissions"), 404, "No alias found: nothing.here.")
    denied(
        admin.get("/actors/aliases/nothing.here/permissions"), 404, "Actor local_nothing.here does not exist"
    )
    denied(admin.get("/actors/configs/noconfig/permissions"), 404, "Config local_noconfig does not exist")
    denied(bob.get("/actors/configs/noconfig/permissions"), 404, "No config found: noconfig.")


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        (
            "POST",
            "/actors/aliases",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/actors/aliases", {"json": ["alias", "x"]}),
        ("POST", "/actors/aliases", {"json": {"alias": {"a": 1}, "actor_id": ["x"]}}),
        ("POST", "/actors/aliases", {"json": {"alias": "x" * 300, "actor_id": "{actor}"}}),
        ("POST", "/actors/aliases", {"json": {"alias": "tab\there", "actor_id": "{actor}"}}),
        ("PUT", "/actors/aliases/bad.bodies", {"json": {"actor_id": 5}}),
        ("PUT", "/actors/aliases/bad.bodies", {"json": {}}),
        (
            "POST",
            "/actors/{actor}/permissions",
            {"content": b"[1,", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/actors/{actor}/permissions", {"json": "READ"}),
        ("POST", "/actors/{actor}/nonces", {"json": {"max_uses": 1.5}}),
        ("POST", "/actors/{actor}/nonces", {"data": {"max_uses": "", "level": ""}}),
    ],
)
def test_bad_bodies_are_400_with_the_envelope(alice, method, path, kwargs):
    actor_id = new_actor(alice)
    if "bad.bodies" in path:
        alice.post("/actors/aliases", json={"alias": "bad.bodies", "actor_id": actor_id})
    if "json" in kwargs and isinstance(kwargs["json"], dict):
        kwargs = {
            **kwargs,
            "json": {
                k: v.replace("{actor}", actor_id) if isinstance(v, str) else v
                for k, v in kwargs["json"].items()
            },
        }
    r = alice.request(method, path.replace("{actor}", actor_id), **kwargs)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["result"] is None and body["message"], body


# -- unknown URLs (Q32) ------------------------------------------------------------------------

NOT_AN_ENDPOINT = "Invalid request: the requested URL is not an Abaco endpoint."


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/nope"),
        ("GET", "/actors/a/b/c/d/e/f"),
        ("POST", "/actors/x/executions/y/logs/z"),
        ("DELETE", "/profiles/v2/alice"),
        ("GET", "/metrics"),
    ],
)
def test_an_unknown_url_is_404_for_a_basic_user(alice, method, path):
    denied(alice.request(method, path), 404, NOT_AN_ENDPOINT)


def test_an_unknown_url_with_a_nonce_is_404_and_uses_nothing(alice, server):
    actor_id = new_actor(alice)
    nonce = ok(alice.post(f"/actors/{actor_id}/nonces", json={"max_uses": 1}))["id"]
    denied(server.anonymous().get("/nope", params={"x-nonce": nonce}), 404, NOT_AN_ENDPOINT)
    assert ok(alice.get(f"/actors/{actor_id}/nonces/{nonce}"))["remaining_uses"] == 1


# -- every path under /actors/admin needs the admin role (Q16) ---------------------------------

ADMIN_REQUIRED = "Abaco Admin role required."


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/actors/admin"),
        ("GET", "/actors/admin/"),
        ("GET", "/actors/v2/admin/workers"),
        ("GET", "/actors/admin/messages"),
        ("POST", "/actors/admin/messages"),
        ("DELETE", "/actors/admin"),
        ("GET", "/actors/admin/executions/x"),
        ("GET", "/actors/admin/nonces"),
        ("PUT", "/actors/admin/state"),
        ("GET", "/actors/%61dmin/permissions"),
    ],
)
def test_every_path_under_actors_admin_needs_the_admin_role(alice, server, method, path):
    denied(alice.request(method, path), 400, ADMIN_REQUIRED)
    denied(server.anonymous().request(method, path, params={"x-nonce": "local_abc"}), 400, ADMIN_REQUIRED)


# -- utilization: the caller's tenant, or every tenant for admins --------------------------------


def test_utilization_counts_the_callers_tenant_unless_admin(server):
    def usage(client) -> dict:
        return ok(client.get("/actors/utilization"))

    admin = server.as_user("util-root", ADMIN)
    zed = server.as_user("zed", BASIC, tenant="UTIL-A")
    yan = server.as_user("yan", BASIC, tenant="UTIL-B")
    before = usage(admin)
    ids = [new_actor(zed) for _ in range(3)]
    new_actor(yan)
    ok(zed.delete(f"/actors/{ids[0]}"))
    assert usage(zed) == {"currentActors": 2, "totalActors": 3, "workers": 0, "commandQueue": 0}
    assert usage(yan) == {"currentActors": 1, "totalActors": 1, "workers": 0, "commandQueue": 0}
    after = usage(admin)
    assert after["currentActors"] == before["currentActors"] + 3
    assert after["totalActors"] == before["totalActors"] + 4


def test_an_admin_pages_and_searches_any_actor_of_the_tenant(alice, bob, admin):
    """``/actors/{id}/...`` searches read the actor the request was authorized on: the admin
    role counts there, as for the summary (it gives no extra visibility to /actors/search)."""
    actor_id = ok(alice.post("/actors", json={"image": IMAGE}))["id"]
    sent = [
        ok(alice.post(f"/actors/{actor_id}/messages", data={"message": f"m{n}"}))["execution_id"]
        for n in range(3)
    ]
    summary = ok(admin.get(f"/actors/{actor_id}/executions"))
    assert [e["id"] for e in summary["executions"]] == sent
    page = ok(admin.get(f"/actors/{actor_id}/executions", params={"skip": 1, "limit": 5}))
    assert [e["id"] for e in page["search"]] == sent[1:]
    assert page["_metadata"]["total_count"] == 3
    general = ok(admin.get(f"/actors/{actor_id}/executions", params={"status.nin": '["NONE"]'}))
    assert general["_metadata"]["total_count"] == 3
    assert ok(admin.get("/actors/search/executions", params={"actor_id": actor_id}))["search"] == []
    denied(bob.get(f"/actors/{actor_id}/executions", params={"limit": 5}), 400, ACTOR_DENIED)
