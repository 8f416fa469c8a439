"""Search over real HTTP (spec §4.9, §5.12): the four types, paging, permission scoping,
the implicit searches of the four listings, camel case and every bad parameter a 400.

The caller is the single-user mode's ``local`` user; actors of other owners are registered
on the platform directly (``Platform.register_actor(..., owner=)``), and shared with
``local`` through the store's permissions, so the scoping is exercised whatever the
authentication in front of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from abaco_core.access import WORLD
from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.api import search_routes
from abaco_core.ids import new_id
from abaco_core.platform import Platform
from abaco_core.search import evaluate
from tests.integration.inprocess import ApiServer
from tests.storage.peewee_dbs import fresh_schema

ECHO = "abaco-fake/echo:1"


def register(platform: Platform, owner: str, tenant: str = "local", **fields: object) -> str:
    parsed = parse_actor_fields(FieldSource(json={"image": ECHO, **fields}))
    return platform.register_actor(parsed, tenant=tenant, owner=owner).id


def wait_complete(client, actor_id: str, execution_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        execution = client.get(f"/actors/{actor_id}/executions/{execution_id}").json()["result"]
        if execution["status"] == "COMPLETE":
            return execution
        assert time.monotonic() < deadline, execution
        time.sleep(0.05)


def send(client, actor_id: str, text: str) -> str:
    r = client.post(f"/actors/{actor_id}/messages", data={"message": text})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    execution_id = result["executionId" if "executionId" in result else "execution_id"]
    wait_complete(client, actor_id, execution_id)
    return execution_id


def ok(response, message: str = "Search completed successfully.") -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["message"] == message, body
    return body["result"]


def error(response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "result", "status", "version"}
    assert body["status"] == "error" and body["result"] is None
    assert fragment in body["message"], body["message"]


def ids(result: dict) -> list[str]:
    return [r["id"] for r in result["search"]]


class World:
    """What the module's server holds: actor ids by name, execution ids."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.client = server.client
        p = server.platform
        store = p.store
        c = self.client
        # the caller's own actors, registered over HTTP
        self.alpha = c.post("/actors", json={"image": ECHO, "name": "alpha", "description": "first"}).json()[
            "result"
        ]["id"]
        self.beta = c.post(
            "/actors",
            json={"image": ECHO, "name": "beta", "default_environment": {"fruit": "kiwi"}, "hints": ["sync"]},
        ).json()["result"]["id"]
        # other owners' actors
        self.hidden = register(p, "alice", name="hidden")
        self.shared = register(p, "alice", name="shared")
        store.set_permission("local", "actor", self.shared, "local", "READ")
        self.public = register(p, "bob", name="public")
        store.set_permission("local", "actor", self.public, WORLD, "READ")
        self.revoked = register(p, "carol", name="revoked")
        store.set_permission("local", "actor", self.revoked, "local", "NONE")
        self.elsewhere = register(p, "local", tenant="other", name="elsewhere")
        self.visible = [self.alpha, self.beta, self.shared, self.public]
        # executions: two of alpha, one of the hidden actor
        self.a1 = send(c, self.alpha, "pineapple one")
        self.a2 = send(c, self.alpha, "pineapple two")
        self.h1 = send(c, self.hidden, "mango")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp(f"search-{request.param}")
    if request.param == "sqlite":
        server = ApiServer(data_dir).start()
        try:
            yield World(server)
        finally:
            server.stop()
        return
    with fresh_schema() as url:
        server = ApiServer(data_dir, database_url=url).start()
        try:
            yield World(server)
        finally:
            server.stop()


# -- the four types --------------------------------------------------------------------------------


def test_actors_search_is_scoped_to_readable_actors_of_the_tenant(world):
    result = ok(world.client.get("/actors/search/actors"))
    assert ids(result) == world.visible
    assert result["_metadata"] == {
        "total_count": 4,
        "records_skipped": 0,
        "record_limit": 100,
        "count_returned": 4,
    }
    record = result["search"][0]
    for internal in ("tenant", "api_server", "executions", "db_id"):
        assert internal not in record
    assert record["_links"]["self"].endswith(f"/actors/v2/{world.alpha}")
    assert record["owner"] == "local" and record["name"] == "alpha"
    assert record["create_time"].endswith("Z") and len(record["create_time"]) == 24
    # the same record the actor endpoint shows (status may move on between the two calls)
    shown = world.client.get(f"/actors/{world.alpha}").json()["result"]
    assert {k: v for k, v in record.items() if k not in ("status", "status_message")} == {
        k: v for k, v in shown.items() if k not in ("status", "status_message")
    }


def test_actors_search_filters(world):
    c = world.client
    assert ids(ok(c.get("/actors/search/actors", params={"name": "beta"}))) == [world.beta]
    assert ids(ok(c.get("/actors/search/actors", params={"owner.neq": "local"}))) == [
        world.shared,
        world.public,
    ]
    assert ids(ok(c.get("/actors/search/actors", params={"default_environment.fruit": "kiwi"}))) == [
        world.beta
    ]
    assert ids(ok(c.get("/actors/search/actors", params={"hints": "sync"}))) == [world.beta]
    assert ids(ok(c.get("/actors/search/actors", params={"_links.owner.like": "/bob$"}))) == [world.public]
    assert ids(ok(c.get("/actors/search/actors", params={"create_time.gte": "2000"}))) == world.visible
    assert ids(ok(c.get("/actors/search/actors", params={"create_time.lt": "2000-01-01T00:00Z"}))) == []
    assert ids(ok(c.get("/actors/search/actors", params={"token": "false"}))) == world.visible
    assert ids(ok(c.get("/actors/search/actors", params={"search": "kiwi first"}))) == [
        world.alpha,
        world.beta,
    ]
    assert ids(ok(c.get("/actors/search/actors", params={"search": "hidden"}))) == []


def test_executions_search(world):
    c = world.client
    result = ok(c.get("/actors/search/executions"))
    assert ids(result) == [world.a1, world.a2]  # not the hidden actor's
    record = result["search"][0]
    assert record["actor_id"] == world.alpha and record["status"] == "COMPLETE"
    assert "tenant" not in record
    assert record["_links"]["logs"].endswith(f"/actors/v2/{world.alpha}/executions/{world.a1}/logs")
    assert record["message_received_time"].endswith("Z")
    assert ids(ok(c.get("/actors/search/executions", params={"exit_code": "0", "runtime.gte": "0"}))) == [
        world.a1,
        world.a2,
    ]
    assert ids(ok(c.get("/actors/search/executions", params={"id": world.a2}))) == [world.a2]
    assert ids(
        ok(c.get("/actors/search/executions", params={"final_state.ExitCode": "0", "limit": "1"}))
    ) == [world.a1]
    assert ids(ok(c.get("/actors/search/executions", params={"start_time.gt": "2999"}))) == []
    assert ids(ok(c.get("/actors/search/executions", params={"id": world.h1}))) == []


def test_workers_search(world):
    result = ok(world.client.get("/actors/search/workers"))
    assert result["search"], "registered actors have a worker"
    assert {w["actor_id"] for w in result["search"]} <= set(world.visible)
    assert world.alpha in {w["actor_id"] for w in result["search"]}
    for record in result["search"]:
        assert "tenant" not in record
        assert record["_links"]["actor"].endswith(f"/actors/v2/{record['actor_id']}")
        assert record["_links"]["self"].endswith(f"/workers/{record['id']}")
    alpha = ok(world.client.get("/actors/search/workers", params={"actor_id": world.alpha}))["search"]
    assert [w["image"] for w in alpha] == [ECHO] * len(alpha)


def test_logs_search(world):
    c = world.client
    result = ok(c.get("/actors/search/logs", params={"search": "pineapple"}))
    assert [r["execution_id"] for r in result["search"]] == [world.a1, world.a2]
    record = result["search"][0]
    assert set(record) == {"execution_id", "logs", "_links"}
    assert "MSG=pineapple one" in record["logs"]
    assert record["_links"]["execution"].endswith(f"/executions/{world.a1}")
    assert ok(c.get("/actors/search/logs", params={"search": "mango"}))["search"] == []
    phrase = ok(c.get("/actors/search/logs", params={"exactsearch": "pineapple two"}))["search"]
    assert [r["execution_id"] for r in phrase] == [world.a2]
    assert [
        r["execution_id"]
        for r in ok(c.get("/actors/search/logs", params={"logs.like": "MSG=pine"}))["search"]
    ] == [
        world.a1,
        world.a2,
    ]


def test_type_is_case_insensitive_and_served_under_v2(world):
    assert ids(ok(world.client.get("/actors/search/ACTORS"))) == world.visible
    assert ids(ok(world.client.get("/actors/v2/search/Executions"))) == [world.a1, world.a2]


def test_paging(world):
    c = world.client
    result = ok(c.get("/actors/search/actors", params={"skip": "1", "limit": "2"}))
    assert ids(result) == world.visible[1:3]
    assert result["_metadata"] == {
        "total_count": 4,
        "records_skipped": 1,
        "record_limit": 2,
        "count_returned": 2,
    }
    result = ok(c.get("/actors/search/actors", params={"skip": "10"}))
    assert result == {
        "_metadata": {"total_count": 4, "records_skipped": 10, "record_limit": 100, "count_returned": 0},
        "search": [],
    }


def test_relevance_orders_the_results(world):
    c = world.client
    # beta's record holds two of the words (its name and its environment's kiwi), alpha's one
    result = ok(c.get("/actors/search/actors", params={"search": "beta kiwi alpha"}))
    assert ids(result) == [world.beta, world.alpha]


@pytest.mark.parametrize(
    "path, params, fragment",
    [
        (
            "/actors/search/nodes",
            {},
            "Invalid search type: nodes. The search types are actors, workers, executions, logs.",
        ),
        ("/actors/search/actors", {"skip": "-1"}, "Invalid skip parameter: '-1'"),
        ("/actors/search/actors", {"limit": "ten"}, "Invalid limit parameter: 'ten'"),
        ("/actors/search/executions", {"start_time.gt": "yesterday"}, "Invalid datetime value: 'yesterday'"),
        ("/actors/search/executions", {"colour": "red"}, "'colour' is not a field of executions"),
        ("/actors/search/logs", {"logs.like": "("}, "is not a valid regular expression"),
        ("/actors/search/workers", {"status.in": "READY"}, "is not a list"),
        ("/actors/search/actors", {"revision.between": "1"}, "is not a range"),
        ("/actors", {"bogus": "1"}, "'bogus' is not a field of actors"),
        ("/actors/{alpha}/executions", {"status": "READY", "limit": "x"}, "Invalid limit parameter"),
        ("/actors/{alpha}/workers", {"ch_name.like": "["}, "is not a valid regular expression"),
        ("/actors/{alpha}/executions/{a1}/logs", {"skip": "1.5"}, "Invalid skip parameter"),
    ],
)
def test_bad_parameters_are_400(world, path, params, fragment):
    url = path.format(alpha=world.alpha, a1=world.a1)
    error(world.client.get(url, params=params), 400, fragment)


# -- implicit searches ---------------------------------------------------------------------------


def test_list_actors_without_parameters_is_the_listing(world):
    c = world.client
    r = c.get("/actors")
    assert r.json()["message"] == "Actors retrieved successfully."
    assert isinstance(r.json()["result"], list)
    r = c.get("/actors", params={"x-nonce": "local_whatever"})
    assert r.json()["message"] == "Actors retrieved successfully."


def test_list_actors_with_parameters_is_an_actor_search(world):
    result = ok(
        world.client.get("/actors", params={"name.in": "['alpha', 'hidden']"}),
        "Actors search completed successfully.",
    )
    assert ids(result) == [world.alpha]


def test_executions_listing_keeps_its_filters_and_searches_otherwise(world):
    c = world.client
    summary = ok(
        c.get(f"/actors/{world.alpha}/executions", params={"status": "complete"}),
        "Actor executions retrieved successfully.",
    )
    assert [e["id"] for e in summary["executions"]] == [world.a1, world.a2]
    summary = ok(
        c.get(f"/actors/{world.alpha}/executions", params={"dead_lettered": "false"}),
        "Actor executions retrieved successfully.",
    )
    assert summary["total_executions"] == 2
    result = ok(
        c.get(f"/actors/{world.alpha}/executions", params={"limit": "1"}),
        "Executions search completed successfully.",
    )
    assert ids(result) == [world.a1] and result["_metadata"]["total_count"] == 2
    # the actor filter is pre-applied: the other actor's executions are not found here
    result = ok(
        c.get(f"/actors/{world.beta}/executions", params={"status": "COMPLETE", "skip": "0"}),
        "Executions search completed successfully.",
    )
    assert ids(result) == []
    # an actor the caller reads only through the admin role: its endpoint's search shows its
    # records, as its summary does (while /actors/search/... shows only permitted actors)
    result = ok(
        c.get(f"/actors/{world.hidden}/executions", params={"limit": "5"}),
        "Executions search completed successfully.",
    )
    assert ids(result) == [world.h1] and result["_metadata"]["total_count"] == 1


def test_workers_listing_searches_with_parameters(world):
    c = world.client
    listed = ok(c.get(f"/actors/{world.alpha}/workers"), "Workers retrieved successfully.")
    result = ok(
        c.get(f"/actors/{world.alpha}/workers", params={"image": ECHO}),
        "Workers search completed successfully.",
    )
    assert ids(result) == [w["id"] for w in listed]
    assert {w["actor_id"] for w in result["search"]} == {world.alpha}
    assert (
        ok(
            c.get(f"/actors/{world.alpha}/workers", params={"image": "nope"}),
            "Workers search completed successfully.",
        )["search"]
        == []
    )


def test_logs_endpoint_searches_with_parameters(world):
    c = world.client
    plain = ok(c.get(f"/actors/{world.alpha}/executions/{world.a1}/logs"), "Logs retrieved successfully.")
    assert "MSG=pineapple one" in plain["logs"]
    result = ok(
        c.get(f"/actors/{world.alpha}/executions/{world.a1}/logs", params={"search": "pineapple"}),
        "Log search completed successfully.",
    )
    assert [r["execution_id"] for r in result["search"]] == [world.a1]
    assert result["search"][0]["logs"] == plain["logs"]
    result = ok(
        c.get(f"/actors/{world.alpha}/executions/{world.a1}/logs", params={"search": "two"}),
        "Log search completed successfully.",
    )
    assert result["search"] == []


def test_implicit_search_on_an_unknown_actor_is_404(world):
    unknown = new_id()
    error(world.client.get(f"/actors/{unknown}/executions", params={"limit": "1"}), 404, unknown)
    error(world.client.get(f"/actors/{unknown}/workers", params={"limit": "1"}), 404, unknown)


# -- regular expressions and time: the API never stalls -------------------------------------------


def _timed_get(client, path: str, **params: str) -> tuple[float, object]:
    started = time.monotonic()
    response = client.get(path, params=params)
    return time.monotonic() - started, response


def test_a_slow_search_runs_off_the_event_loop_and_stops_at_its_budget(world, monkeypatch):
    """Whatever makes a search slow, other requests are served meanwhile, and a search past
    its time budget ends with a 400."""
    original = evaluate.matches

    def slow(record, condition):
        time.sleep(0.4)
        return original(record, condition)

    monkeypatch.setattr(evaluate, "matches", slow)
    monkeypatch.setattr(search_routes, "SEARCH_TIME_BUDGET", 0.6)
    c = world.client
    with ThreadPoolExecutor(1) as pool:
        search = pool.submit(_timed_get, c, "/actors/search/actors", **{"name.like": "."})
        time.sleep(0.1)
        waited, other = _timed_get(c, "/actors/utilization")
        took, refused = search.result()
    assert other.status_code == 200 and waited < 0.3, (waited, other.text)
    error(refused, 400, "The search took longer than its time budget of 0.6 seconds")
    assert took < 2.0, took


# -- camel case ------------------------------------------------------------------------------------


def test_camel_case(tmp_path):
    server = ApiServer(tmp_path, case="camel").start()
    try:
        c = server.client
        aid = c.post(
            "/actors", json={"image": ECHO, "name": "camel", "defaultEnvironment": {"k": "v"}}
        ).json()["result"]["id"]
        eid = send(c, aid, "hump")
        result = ok(
            c.get("/actors/search/actors", params={"lastUpdateTime.gte": "2000", "defaultEnvironment.k": "v"})
        )
        assert result["_metadata"] == {
            "totalCount": 1,
            "recordsSkipped": 0,
            "recordLimit": 100,
            "countReturned": 1,
        }
        record = result["search"][0]
        assert record["id"] == aid and "defaultEnvironment" in record and "default_environment" not in record
        executions = ok(c.get("/actors/search/executions", params={"actorId": aid, "exitCode": "0"}))
        assert [e["id"] for e in executions["search"]] == [eid]
        assert "messageReceivedTime" in executions["search"][0]
        error(
            c.get("/actors/search/actors", params={"colourScheme": "x"}),
            400,
            "the fields are: _links, createTime",
        )
    finally:
        server.stop()
