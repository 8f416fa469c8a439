"""Utilization and the admin views over real HTTP (spec §5.14), on SQLite and PostgreSQL;
``/metrics`` and ``/cron`` are not exposed (Q40)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from abaco_core.actor_fields import FieldSource, parse_actor_fields
from tests.integration.inprocess import ApiServer
from tests.integration.test_search_http import ECHO, error, ok, send
from tests.storage.peewee_dbs import fresh_schema

SUMMARY_KEYS = [
    "total_actors_all",
    "total_actors_all_with_executions",
    "total_executions_all",
    "total_execution_runtime_all",
    "total_execution_cpu_all",
    "total_execution_io_all",
    "total_actors_existing",
    "total_actors_existing_with_executions",
    "total_executions_existing",
    "total_execution_runtime_existing",
    "total_execution_cpu_existing",
    "total_execution_io_existing",
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    with fresh_schema() as url:
        yield url


@pytest.fixture
def servers(tmp_path: Path, database_url) -> Iterator:
    started: list[ApiServer] = []

    def start(**settings: object) -> ApiServer:
        server = ApiServer(tmp_path / "data", database_url=database_url, **settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_utilization_admin_views_and_a_durable_created_count(servers):
    server = servers()
    c, store = server.client, server.platform.store
    assert ok(c.get("/actors/utilization"), "Abaco utilization returned successfully.") == {
        "currentActors": 0,
        "totalActors": 0,
        "workers": 0,
        "commandQueue": 0,
    }
    keep = c.post("/actors", json={"image": ECHO, "name": "keep"}).json()["result"]["id"]
    gone = c.post("/actors", json={"image": ECHO, "name": "gone"}).json()["result"]["id"]
    fields = parse_actor_fields(FieldSource(json={"image": ECHO}))
    other = server.platform.register_actor(fields, tenant="other", owner="zed").id
    runs = [send(c, keep, "one"), send(c, keep, "two"), send(c, gone, "three")]
    shown = {
        eid: c.get(f"/actors/{aid}/executions/{eid}").json()["result"]
        for aid, eid in zip([keep, keep, gone], runs, strict=True)
    }
    assert ok(c.delete(f"/actors/{gone}"), "Actor deleted successfully.") is None

    usage = ok(c.get("/actors/utilization"), "Abaco utilization returned successfully.")
    workers = store.list_workers(None)
    assert usage == {
        "currentActors": 2,
        "totalActors": 3,
        "workers": len(workers),
        "commandQueue": sum(1 for w in workers if w.status == "REQUESTED"),
    }

    def totals(eids: list[str]) -> dict[str, int]:
        return {
            "runtime": sum(shown[e]["runtime"] for e in eids),
            "cpu": sum(shown[e]["cpu"] for e in eids),
            "io": sum(shown[e]["io"] for e in eids),
        }

    everything, existing = totals(runs), totals(runs[:2])
    result = ok(c.get("/actors/admin/executions"), "Executions retrieved successfully.")
    assert list(result["summary"]) == SUMMARY_KEYS
    assert result["summary"] == {
        "total_actors_all": 3,
        "total_actors_all_with_executions": 2,
        "total_executions_all": 3,
        "total_execution_runtime_all": everything["runtime"],
        "total_execution_cpu_all": everything["cpu"],
        "total_execution_io_all": everything["io"],
        "total_actors_existing": 2,
        "total_actors_existing_with_executions": 1,
        "total_executions_existing": 2,
        "total_execution_runtime_existing": existing["runtime"],
        "total_execution_cpu_existing": existing["cpu"],
        "total_execution_io_existing": existing["io"],
    }
    assert result["actors"] == [
        {
            "actor_id": keep,
            "owner": "local",
            "image": ECHO,
            "total_executions": 2,
            "total_execution_cpu": existing["cpu"],
            "total_execution_io": existing["io"],
            "total_execution_runtime": existing["runtime"],
        }
    ]

    result = ok(c.get("/actors/admin/workers"), "Workers retrieved successfully.")
    listed = result["workers"]
    by_status = [w["status"] for w in listed]
    assert result["summary"] == {
        "total_workers": len(listed),
        "ready_workers": by_status.count("READY"),
        "requested_workers": by_status.count("REQUESTED"),
        "error_workers": by_status.count("ERROR"),
        "busy_workers": by_status.count("BUSY"),
        "actors_no_workers": 2 - len({(w["tenant"], w["actor_id"]) for w in listed}),
    }
    assert listed, "the actors that ran have workers"
    for w in listed:
        assert w["actor_dbid"] == f"{w['tenant']}_{w['actor_id']}"
        assert w["actor_id"] in (keep, other)
        assert w["create_time"].endswith("Z")

    actors = ok(c.get("/actors/admin"), "Actors retrieved successfully.")
    assert [(a["id"], a["tenant"], a["db_id"]) for a in actors] == [
        (keep, "local", f"local_{keep}"),
        (other, "other", f"other_{other}"),
    ]
    first = actors[0]
    assert (first["executions"], first["runtime"], first["messages"]) == (2, existing["runtime"], 0)
    assert isinstance(first["workers"], list)
    assert {w["id"] for w in first["workers"]} == {w["id"] for w in listed if w["actor_id"] == keep}
    assert first["owner"] == "local" and first["_links"]["self"].endswith(f"/actors/v2/{keep}")

    # the count of created actors survives a restart; deleted actors stay counted
    server.stop()
    again = servers()
    assert (
        ok(again.client.get("/actors/utilization"), "Abaco utilization returned successfully.")["totalActors"]
        == 3
    )
    assert (
        ok(again.client.get("/actors/v2/admin/executions"), "Executions retrieved successfully.")["summary"][
            "total_actors_all"
        ]
        == 3
    )


def test_admin_views_in_camel_case(servers):
    server = servers(case="camel")
    c = server.client
    aid = c.post("/actors", json={"image": ECHO}).json()["result"]["id"]
    send(c, aid, "hello")
    summary = ok(c.get("/actors/admin/executions"), "Executions retrieved successfully.")
    assert list(summary["summary"])[:3] == [
        "totalActorsAll",
        "totalActorsAllWithExecutions",
        "totalExecutionsAll",
    ]
    assert summary["actors"][0]["actorId"] == aid and summary["actors"][0]["totalExecutions"] == 1
    workers = ok(c.get("/actors/admin/workers"), "Workers retrieved successfully.")
    assert set(workers["summary"]) == {
        "totalWorkers",
        "readyWorkers",
        "requestedWorkers",
        "errorWorkers",
        "busyWorkers",
        "actorsNoWorkers",
    }
    assert all("actorDbid" in w and "lastHealthCheckTime" in w for w in workers["workers"])
    (actor,) = ok(c.get("/actors/admin"), "Actors retrieved successfully.")
    assert actor["dbId"] == f"local_{aid}" and actor["executions"] == 1 and "defaultEnvironment" in actor
    assert set(ok(c.get("/actors/utilization"), "Abaco utilization returned successfully.")) == {
        "currentActors",
        "totalActors",
        "workers",
        "commandQueue",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/metrics", "/cron"])
def test_metrics_and_cron_are_not_exposed(tmp_path, method, path):
    server = ApiServer(tmp_path).start()
    try:
        error(
            server.client.request(method, path),
            404,
            "Invalid request: the requested URL is not an Abaco endpoint.",
        )
    finally:
        server.stop()
