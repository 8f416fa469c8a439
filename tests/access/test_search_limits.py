"""Search cannot stall the API: a pathological regular expression against a server in its
own process (so the test's clock is not held up with it) finishes at once, and another
request meanwhile is served."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.access.conftest import BASIC, ok


def _timed_get(client: httpx.Client, path: str, **params: str) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = client.get(path, params=params)
    return time.monotonic() - started, response


def test_a_pathological_regex_finishes_at_once_and_blocks_nobody(server):
    """``^(a+)+$`` on 26 ``a`` and a ``!`` takes seconds in a backtracking engine."""
    alice = server.as_user("redos-alice", BASIC)
    bob = server.as_user("redos-bob", BASIC)
    victim = ok(alice.post("/actors", json={"image": "abaco-test/none:1", "description": "a" * 26 + "!"}))[
        "id"
    ]
    with ThreadPoolExecutor(1) as pool:
        search = pool.submit(_timed_get, alice, "/actors/search/actors", **{"description.like": "^(a+)+$"})
        time.sleep(0.3)
        waited, other = _timed_get(bob, "/actors")
        took, found = search.result()
    assert other.status_code == 200 and waited < 1.0, (waited, other.text)
    assert found.status_code == 200 and found.json()["result"]["search"] == [] and took < 1.0, (
        took,
        found.text,
    )
    hit = ok(alice.get("/actors/search/actors", params={"description.like": "^a+!$"}))
    assert [r["id"] for r in hit["search"]] == [victim]
