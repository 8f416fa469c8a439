"""Redis or PostgreSQL unavailable: the API answers 503 in the standard envelope, naming the
service, accepts nothing it cannot make durable, and recovers by itself when the service is
back. The services are real; a proxy in front of each one is cut and restored."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from ..queues.services import redis_url
from .proxy import CuttableProxy

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ECHO = "abaco-test/busybox:1"


def _through(url: str, proxy: CuttableProxy) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{proxy.port}"))


def _proxy_for(url: str) -> CuttableProxy:
    parts = urlsplit(url)
    return CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 0)


def _until_status(call, status: int, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while True:
        r = call()
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_503_while_redis_or_postgres_is_down_then_recovery(cluster_factory):
    cluster = cluster_factory()
    redis_proxy = _proxy_for(redis_url())
    pg_proxy = _proxy_for(cluster.env["ABACO_DATABASE_URL"])
    try:
        cluster.start_api(
            ABACO_REDIS_URL=_through(redis_url(), redis_proxy),
            ABACO_DATABASE_URL=_through(cluster.env["ABACO_DATABASE_URL"], pg_proxy),
        )
        cluster.start_scheduler()
        cluster.start_worker()
        aid = cluster.register(image=ECHO)["id"]
        first = cluster.send(aid, "before")
        assert cluster.wait_execution(aid, first)["status"] == "COMPLETE"

        # -- Redis down: messages are refused, reading records still works ----------------
        redis_proxy.cut()
        r = cluster.client.post(f"/actors/{aid}/messages", data={"message": "while redis is down"})
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["status"] == "error" and body["result"] is None and body["version"]
        assert "Redis" in body["message"] and "retry" in body["message"], body["message"]
        assert cluster.client.get(f"/actors/{aid}").status_code == 200
        r = cluster.client.get(f"/actors/{aid}/messages")
        assert r.status_code == 503 and "Redis" in r.json()["message"]
        # the refused message left no execution waiting to run
        listed = cluster.client.get(f"/actors/{aid}/executions").json()["result"]["executions"]
        refused = [e for e in listed if e["id"] != first]
        assert len(refused) == 1 and refused[0]["status"] == "ERROR", refused
        assert "Not queued" in cluster.execution(aid, refused[0]["id"])["status_message"]

        redis_proxy.restore()
        r = _until_status(
            lambda: cluster.client.post(f"/actors/{aid}/messages", data={"message": "redis is back"}), 200
        )
        assert r.status_code == 200, r.text
        back = r.json()["result"]["execution_id"]
        assert cluster.wait_execution(aid, back)["status"] == "COMPLETE"

        # -- PostgreSQL down: every call that needs the store gets 503 ---------------------
        pg_proxy.cut()
        r = cluster.client.post(f"/actors/{aid}/messages", data={"message": "while postgres is down"})
        assert r.status_code == 503, r.text
        assert "PostgreSQL" in r.json()["message"] and "retry" in r.json()["message"], r.json()
        r = cluster.client.get("/actors")
        assert r.status_code == 503 and r.json()["status"] == "error"
        r = cluster.client.post("/actors", json={"image": ECHO})
        assert r.status_code == 503

        pg_proxy.restore()
        assert _until_status(lambda: cluster.client.get("/actors"), 200).status_code == 200
        r = _until_status(
            lambda: cluster.client.post(f"/actors/{aid}/messages", data={"message": "postgres is back"}), 200
        )
        assert r.status_code == 200, r.text
        last = r.json()["result"]["execution_id"]
        assert cluster.wait_execution(aid, last)["status"] == "COMPLETE"
        # the actors registered: only the one (the refused registration left nothing)
        assert [a["id"] for a in cluster.client.get("/actors").json()["result"]] == [aid]
    finally:
        redis_proxy.close()
        pg_proxy.close()
