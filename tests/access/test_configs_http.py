"""Config requests that must fail cleanly over real HTTP (spec §5.13): secrets that cannot be
encrypted, secrets in URLs, the order of the checks of a PUT."""

from __future__ import annotations

import json

import pytest

from tests.access.conftest import denied, ok

IMAGE = "abaco-test/none:1"
CONFIG_DENIED = "You do not have sufficient access to this actor config."


def as_json(body: dict) -> dict:
    """Request arguments for a JSON body that may hold lone surrogates (sent as ``\\udXXX``)."""
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


@pytest.fixture(scope="module")
def actor_id(alice):
    return ok(alice.post("/actors", json={"image": IMAGE}))["id"]


def test_a_lone_surrogate_in_a_value_is_a_400_that_does_not_echo_it(alice, actor_id):
    value = "pw-xyzzy-\ud800-tail"
    for secret in (True, False):
        r = alice.post(
            "/actors/configs",
            **as_json({"name": f"sur{int(secret)}", "value": value, "is_secret": secret, "actors": actor_id}),
        )
        assert r.status_code == 400, r.text
        assert "xyzzy" not in r.text and "tail" not in r.text
        assert "UTF-8" in r.json()["message"]
    ok(
        alice.post(
            "/actors/configs", json={"name": "sur", "value": "v", "is_secret": True, "actors": actor_id}
        )
    )
    r = alice.put("/actors/configs/sur", **as_json({"value": value, "is_secret": True, "actors": actor_id}))
    assert r.status_code == 400 and "xyzzy" not in r.text, r.text


def test_a_value_in_the_query_string_is_refused(alice, actor_id):
    query = {"name": "inurl", "value": "pw-in-the-url", "is_secret": "true", "actors": actor_id}
    r = alice.post("/actors/configs", params=query)
    denied(
        r,
        400,
        "Invalid actor config description: send value in the request body, not in the query string "
        "(URLs end up in logs).",
    )
    assert "pw-in-the-url" not in r.text
    denied(alice.get("/actors/configs/inurl"), 404, "No config found: inurl.")
    ok(alice.post("/actors/configs", json={**query, "is_secret": True}))
    r = alice.put(
        "/actors/configs/inurl", params={"value": "pw-2"}, json={"is_secret": True, "actors": actor_id}
    )
    assert r.status_code == 400 and "query string" in r.json()["message"], r.text


def test_a_put_by_a_reader_is_refused_before_its_body_is_read(alice, bob, actor_id):
    ok(
        alice.post(
            "/actors/configs", json={"name": "shared", "value": "v", "is_secret": False, "actors": actor_id}
        )
    )
    ok(alice.post("/actors/configs/shared/permissions", json={"user": "bob", "level": "READ"}))
    denied(bob.put("/actors/configs/shared", json={"bogus": 1}), 400, CONFIG_DENIED)
    denied(
        bob.put("/actors/configs/shared", content=b"not json", headers={"content-type": "application/json"}),
        400,
        CONFIG_DENIED,
    )
