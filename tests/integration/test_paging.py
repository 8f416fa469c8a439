"""Paging the executions of an actor: ``?skip=&limit=`` make ``GET /actors/{id}/executions``
a search (spec §5.5, §5.12); over HTTP against ``abaco up`` with the harness's no-op backend.
With no condition the page is read straight from the store (``abaco_core.search.records``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AbacoProcess


@pytest.fixture(scope="module")
def abaco(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AbacoProcess]:
    proc = AbacoProcess(Path(tmp_path_factory.mktemp("paging")), {"ABACO_BACKEND": "fake"}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def executions(abaco: AbacoProcess) -> tuple[str, list[str]]:
    actor_id = abaco.register(image="abaco-test/busybox:1")["id"]
    abaco.wait_actor(actor_id)
    ids = []
    for n in range(7):
        r = abaco.client.post(f"/actors/{actor_id}/messages", data={"message": f"m{n}"})
        assert r.status_code == 200, r.text
        ids.append(r.json()["result"]["execution_id"])
    for eid in ids:
        abaco.wait_execution(actor_id, eid)
    return actor_id, ids


def _listing(abaco: AbacoProcess, actor_id: str, **params: object) -> dict:
    r = abaco.client.get(f"/actors/{actor_id}/executions", params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def _ids(page: dict) -> list[str]:
    return [e["id"] for e in page["search"]]


def test_without_paging_it_is_the_summary_of_every_execution(abaco, executions):
    actor_id, ids = executions
    result = _listing(abaco, actor_id)
    assert [e["id"] for e in result["executions"]] == ids
    assert result["total_executions"] == 7
    assert "_metadata" not in result and "search" not in result


def test_skip_and_limit_make_it_a_search_page_in_insertion_order(abaco, executions):
    actor_id, ids = executions
    result = _listing(abaco, actor_id, skip=2, limit=3)
    assert _ids(result) == ids[2:5]
    assert result["_metadata"] == {
        "total_count": 7,
        "records_skipped": 2,
        "record_limit": 3,
        "count_returned": 3,
    }
    # a search record is the full execution, as GET .../executions/{id} shows it
    full = abaco.client.get(f"/actors/{actor_id}/executions/{ids[2]}").json()["result"]
    assert result["search"][0] == full
    tail = _listing(abaco, actor_id, skip=5)
    assert _ids(tail) == ids[5:]
    assert tail["_metadata"]["record_limit"] == 100
    empty = _listing(abaco, actor_id, limit=0)
    assert empty["search"] == [] and empty["_metadata"]["total_count"] == 7
    assert _listing(abaco, actor_id, skip=50)["search"] == []
    assert _ids(_listing(abaco, actor_id, skip=1, limit=2**31 - 1)) == ids[1:]  # the largest allowed


def test_conditions_and_paging_count_what_matches(abaco, executions):
    actor_id, ids = executions
    assert _listing(abaco, actor_id, status="COMPLETE", limit=0)["_metadata"]["total_count"] == 7
    assert _listing(abaco, actor_id, status="SUBMITTED", limit=5)["_metadata"]["total_count"] == 0
    letters = _listing(abaco, actor_id, dead_lettered="false", skip=6, limit=5)
    assert _ids(letters) == ids[6:]
    assert letters["_metadata"]["total_count"] == 7


@pytest.mark.parametrize(
    ("fast", "slow"),
    [
        # no condition: read from the store; ``status.nin`` of nothing real keeps every record
        ({"skip": 1, "limit": 4}, {"skip": 1, "limit": 4, "status.nin": '["BOGUS"]'}),
        ({"status": "COMPLETE", "skip": 5}, {"status.in": '["COMPLETE"]', "skip": 5}),
        ({"status.eq": "SUBMITTED", "limit": 2}, {"status.in": '["SUBMITTED"]', "limit": 2}),
    ],
)
def test_the_store_page_equals_the_general_search(abaco, executions, fast, slow):
    actor_id, _ = executions
    assert _listing(abaco, actor_id, **fast) == _listing(abaco, actor_id, **slow)


@pytest.mark.parametrize(
    "params",
    [
        {"skip": "-1"},
        {"limit": "x"},
        {"limit": "1.5"},
        {"limit": "100000000000000000000"},
        {"skip": "2147483648"},
        {"limit": "²"},
    ],
)
def test_bad_paging_is_a_400(abaco, executions, params):
    actor_id, _ = executions
    r = abaco.client.get(f"/actors/{actor_id}/executions", params=params)
    assert r.status_code == 400
    assert "non-negative integer" in r.json()["message"]


def test_paging_an_unknown_actor_is_a_404(abaco):
    r = abaco.client.get("/actors/R0y3eYbWmgEwo/executions", params={"limit": 1})
    assert r.status_code == 404
