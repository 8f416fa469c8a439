"""Aliases and nonces on a camelCase instance (spec §2.5): ``actorId``, ``maxUses``."""

from __future__ import annotations

import pytest

from tests.access.conftest import BASIC, AccessServer, denied, ok


@pytest.fixture(scope="module")
def camel(tmp_path_factory):
    srv = AccessServer(tmp_path_factory.mktemp("camel"), {"ABACO_CASE": "camel"}).start()
    yield srv
    srv.stop()


def test_camel_fields(camel):
    alice = camel.as_user("alice", BASIC)
    actor_id = ok(alice.post("/actors", json={"image": "abaco-test/none:1"}))["id"]
    denied(
        alice.post("/actors/aliases", json={"alias": "c.alias", "actor_id": actor_id}),
        400,
        "Invalid alias description. Missing required field: actorId.",
    )
    alias = ok(alice.post("/actors/aliases", json={"alias": "c.alias", "actorId": actor_id}))
    assert alias["actorId"] == actor_id and "actor_id" not in alias
    nonce = ok(alice.post("/actors/c.alias/nonces", json={"maxUses": 2, "level": "READ"}))
    assert (nonce["maxUses"], nonce["remainingUses"], nonce["currentUses"]) == (2, 2, 0)
    assert nonce["actorId"] == actor_id and nonce["lastUseTime"] == "None"
    ok(camel.anonymous().get(f"/actors/{actor_id}", params={"x-nonce": nonce["id"]}))
    assert ok(alice.get(f"/actors/{actor_id}/nonces/{nonce['id']}"))["remainingUses"] == 1
