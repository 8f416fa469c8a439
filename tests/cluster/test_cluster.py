"""The cluster processes for real: API, scheduler and two workers as subprocesses, on
PostgreSQL, Redis (RQ) and Docker; kill -9 of each kind of process."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SLEEP = "abaco-test/sleep:1"
ECHO = "abaco-test/busybox:1"


def test_executions_spread_over_two_worker_processes(cluster_factory):
    cluster = cluster_factory()
    cluster.start_api()
    cluster.start_scheduler()
    cluster.start_worker()
    cluster.start_worker()
    actor = cluster.register(image=SLEEP, default_environment={"SLEEP": "2"}, max_workers=4)
    aid = actor["id"]
    cluster.wait_actor_ready(aid)
    sent = [cluster.send(aid, f"message {i}") for i in range(8)]
    hosts: dict[str, str] = {}
    deadline = time.monotonic() + 90
    done: dict[str, dict] = {}
    while len(done) < len(sent) and time.monotonic() < deadline:
        for worker in cluster.workers_of(aid):
            if worker["host_id"]:  # empty until a worker process accepted its command
                hosts[worker["id"]] = worker["host_id"]
        for eid in sent:
            if eid not in done:
                execution = cluster.execution(aid, eid)
                if execution["status"] in ("COMPLETE", "ERROR"):
                    done[eid] = execution
        time.sleep(0.1)
    assert len(done) == len(sent), cluster.logs()
    assert all(e["status"] == "COMPLETE" and e["exit_code"] == 0 for e in done.values()), done
    used = {hosts.get(e["worker_id"]) for e in done.values()}
    assert used == {"host-0", "host-1"}, (used, hosts, cluster.logs())
    # stateless: idle workers go away again (scale to zero), whatever process holds them
    deadline = time.monotonic() + 60
    while cluster.workers_of(aid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cluster.workers_of(aid) == [], cluster.logs()
