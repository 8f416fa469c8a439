"""``abaco up`` with ``ABACO_REDIS_URL`` set: the same pieces in one process, on the cluster
queue (inboxes in Redis, spawner commands through RQ, consumed by the process itself)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..queues.services import delete_prefix, redis_url, require_redis, scratch_prefix
from .conftest import _delete_rq_keys

pytestmark = [pytest.mark.docker, pytest.mark.redis]


@pytest.fixture
def prefix() -> Iterator[str]:
    require_redis()
    value = scratch_prefix()
    yield value
    delete_prefix(value)
    _delete_rq_keys(value)


def test_abaco_up_on_the_rq_queue(abaco_factory, prefix):
    abaco = abaco_factory("docker", ABACO_REDIS_URL=redis_url(), ABACO_REDIS_QUEUE_PREFIX=prefix)
    import redis

    client = redis.Redis.from_url(redis_url())
    try:  # the process registers itself as an RQ worker of the command queue
        deadline = time.monotonic() + 10
        while not client.smembers(f"rq:workers:{prefix}spawner:default"):
            assert time.monotonic() < deadline, abaco.log()
            time.sleep(0.1)
    finally:
        client.close()
    actor = abaco.register(image="abaco-test/busybox:1", max_workers=2)
    assert abaco.wait_actor(actor["id"])["status"] == "READY"
    sent = []
    for i in range(4):
        r = abaco.client.post(f"/actors/{actor['id']}/messages", data={"message": f"rq {i}"})
        assert r.status_code == 200, r.text
        sent.append(r.json()["result"]["execution_id"])
    for i, eid in enumerate(sent):
        execution = abaco.wait_execution(actor["id"], eid)
        assert execution["status"] == "COMPLETE", execution
        assert abaco.logs(actor["id"], eid).startswith(f"MSG=rq {i}\n")
