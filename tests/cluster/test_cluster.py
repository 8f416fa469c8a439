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
    # a synchronous message: the API waits for a run in another process
    echo = cluster.register(image=ECHO)["id"]
    r = cluster.client.post(
        f"/actors/{echo}/messages", params={"_abaco_synchronous": "true"}, data={"message": "sync hello"}
    )
    assert r.status_code == 200, r.text
    assert r.text.startswith("MSG=sync hello\n"), r.text
    # stateless: idle workers go away again (scale to zero), whatever process holds them
    deadline = time.monotonic() + 60
    while cluster.workers_of(aid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cluster.workers_of(aid) == [], cluster.logs()


def _containers_of(worker_id: str) -> list[dict]:
    """The containers of a worker, as Docker lists them (no inspect: one may vanish meanwhile)."""
    import docker

    client = docker.from_env()
    try:
        return client.api.containers(all=True, filters={"label": f"abaco.worker={worker_id}"})
    finally:
        client.close()


def test_a_worker_killed_mid_execution(cluster_factory):
    """kill -9 of the worker process running two executions: the one whose actor allows a
    retry runs again on the other worker; the other ends ERROR with the reason; both within
    seconds (heartbeats every 0.5 s, dead after 3 s); the dead worker's containers go."""
    cluster = cluster_factory()
    cluster.start_api()
    cluster.start_scheduler()
    doomed = cluster.start_worker()
    retried = cluster.register(
        image=SLEEP, default_environment={"SLEEP": "6"}, stateless=False, max_retries=1
    )["id"]
    failed = cluster.register(image=SLEEP, default_environment={"SLEEP": "6"}, stateless=False)["id"]
    first = cluster.send(retried, "run me twice")
    second = cluster.send(failed, "run me once")
    running = [
        cluster.wait_execution(retried, first, statuses=("RUNNING",), timeout=60),
        cluster.wait_execution(failed, second, statuses=("RUNNING",), timeout=60),
    ]
    dead_workers = {e["worker_id"] for e in running}
    assert all(_containers_of(w) for w in dead_workers)
    cluster.start_worker()
    doomed.kill9()
    killed_at = time.monotonic()

    again = cluster.wait_execution(retried, first, statuses=("COMPLETE", "ERROR"), timeout=60)
    assert again["status"] == "COMPLETE" and again["exit_code"] == 0, again
    assert again["attempts"] == 2 and again["worker_id"] not in dead_workers, again
    logs = cluster.client.get(f"/actors/{retried}/executions/{first}/logs").json()["result"]["logs"]
    assert "MSG=run me twice" in logs

    ended = cluster.wait_execution(failed, second, statuses=("COMPLETE", "ERROR"), timeout=30)
    assert ended["status"] == "ERROR", ended
    assert "stopped answering during the execution" in ended["status_message"], ended
    assert ended["dead_lettered"] is True
    assert time.monotonic() - killed_at < 30
    # the message stays for a redrive, which runs it on the surviving worker
    r = cluster.client.post(f"/actors/{failed}/executions/{second}/redrive")
    assert r.status_code == 200, r.text
    redriven = cluster.wait_execution(failed, second, timeout=60)
    assert redriven["status"] == "COMPLETE", redriven

    # the surviving worker (same engine) removed the dead one's containers
    deadline = time.monotonic() + 30
    while any(_containers_of(w) for w in dead_workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_containers_of(w) for w in dead_workers), cluster.logs()
    # and the dead worker records are gone
    for aid in (retried, failed):
        assert not {w["id"] for w in cluster.workers_of(aid)} & dead_workers


class _Sender:
    """Sends messages in a loop from a thread; keeps the execution id of every 200."""

    def __init__(self, cluster, actor_ids: list[str]) -> None:
        import threading

        import httpx

        self.cluster = cluster
        self.actor_ids = actor_ids
        self.accepted: list[tuple[str, str, str]] = []  # (actor, execution, message)
        self.refused = 0
        self.stop = threading.Event()
        self._client = httpx.Client(base_url=cluster.url, timeout=5)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._httpx = httpx

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            aid = self.actor_ids[n % len(self.actor_ids)]
            text = f"load {n}"
            n += 1
            try:
                r = self._client.post(f"/actors/{aid}/messages", data={"message": text})
            except self._httpx.TransportError:
                self.refused += 1
                time.sleep(0.05)
                continue
            if r.status_code == 200:
                self.accepted.append((aid, r.json()["result"]["execution_id"], text))
            else:
                self.refused += 1
            time.sleep(0.02)

    def __enter__(self) -> _Sender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(10)
        self._client.close()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        target = len(self.accepted) + count
        while len(self.accepted) < target:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} accepted:\n{self.cluster.logs()}"
            time.sleep(0.05)


def test_api_and_scheduler_killed_under_load(cluster_factory):
    """kill -9 and restart the API, then the scheduler, while messages stream in: every
    message that got a 200 completes, exactly once."""
    cluster = cluster_factory()
    cluster.start_api()
    cluster.start_scheduler()
    cluster.start_worker()
    cluster.start_worker()
    stateless = cluster.register(image=ECHO, max_workers=3)["id"]
    stateful = cluster.register(image=ECHO, stateless=False)["id"]
    with _Sender(cluster, [stateless, stateful]) as sender:
        sender.wait_for(10)
        assert cluster.api is not None
        cluster.api.kill9()
        time.sleep(0.5)
        cluster.start_api()
        sender.wait_for(10)
        assert cluster.scheduler is not None
        cluster.scheduler.kill9()
        sender.wait_for(10)  # no scheduler: messages still accepted, and run by the workers there are
        cluster.start_scheduler()
        sender.wait_for(10)
    accepted = sender.accepted
    assert len(accepted) >= 40 and sender.refused > 0  # the API was really down for a while
    for aid, eid, text in accepted:
        execution = cluster.wait_execution(aid, eid, timeout=120)
        assert execution["status"] == "COMPLETE" and execution["exit_code"] == 0, execution
        assert execution["attempts"] == 1, execution  # ran exactly once
        logs = cluster.client.get(f"/actors/{aid}/executions/{eid}/logs").json()["result"]["logs"]
        assert logs.startswith(f"MSG={text}\n"), logs
    # nothing ran that was not accepted: every execution of the actors is one of those, or
    # one whose answer was lost with the killed API (then it ran once, too)
    ids = {eid for _, eid, _ in accepted}
    for aid in (stateless, stateful):
        listed = cluster.client.get(f"/actors/{aid}/executions").json()["result"]["executions"]
        extra = [e for e in listed if e["id"] not in ids]
        assert len(extra) <= 2, extra
        for e in extra:
            assert cluster.wait_execution(aid, e["id"], timeout=60)["status"] == "COMPLETE"


def _wait(predicate, timeout: float, what: str, cluster) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} within {timeout} s:\n{cluster.logs()}"
        time.sleep(0.2)


def test_stop_requests_reach_the_process_that_owns_the_worker(cluster_factory):
    """The API asks; the worker's own process acts: DELETE of a worker, a new revision, a
    halt, and the deletion of the actor."""
    cluster = cluster_factory()
    cluster.start_api()
    cluster.start_scheduler()
    cluster.start_worker()
    aid = cluster.register(image=SLEEP, default_environment={"SLEEP": "30"}, stateless=False)["id"]
    cluster.wait_actor_ready(aid)
    [first] = cluster.workers_of(aid)

    # DELETE worker: its process stops it and deletes its record
    r = cluster.client.delete(f"/actors/{aid}/workers/{first['id']}")
    assert r.status_code == 200, r.text
    _wait(
        lambda: first["id"] not in {w["id"] for w in cluster.workers_of(aid)}, 15, "worker stopped", cluster
    )

    # a halt reaches the run in the worker process: the execution ends COMPLETE, killed
    eid = cluster.send(aid, "halt me")
    running = cluster.wait_execution(aid, eid, statuses=("RUNNING",), timeout=60)
    started = time.monotonic()
    r = cluster.client.delete(f"/actors/{aid}/executions/{eid}")
    assert r.status_code == 200, r.text
    halted = cluster.wait_execution(aid, eid, timeout=30)
    assert halted["status"] == "COMPLETE" and halted["exit_code"] != 0, halted
    assert time.monotonic() - started < 20  # not the 30 s the container would sleep

    # a new revision: the old worker leaves, a worker of revision 2 takes the next message
    old = {w["id"] for w in cluster.workers_of(aid)}
    assert old and running["worker_id"] in old
    r = cluster.client.put(
        f"/actors/{aid}",
        json={"image": SLEEP, "default_environment": {"SLEEP": "1"}, "stateless": False, "force": True},
    )
    assert r.status_code == 200 and r.json()["result"]["revision"] == 2, r.text

    def renewed() -> bool:
        workers = cluster.workers_of(aid)
        return bool(workers) and all(w["id"] not in old and w["status"] == "READY" for w in workers)

    _wait(renewed, 30, "only new workers", cluster)
    eid2 = cluster.send(aid, "new revision")
    done = cluster.wait_execution(aid, eid2, timeout=60)
    assert done["status"] == "COMPLETE" and done["worker_id"] not in old, done

    # deleting the actor halts its running execution and removes its workers
    cluster.client.put(
        f"/actors/{aid}", json={"image": SLEEP, "default_environment": {"SLEEP": "30"}, "stateless": False}
    )
    eid3 = cluster.send(aid, "deleted mid-run")
    busy = cluster.wait_execution(aid, eid3, statuses=("RUNNING",), timeout=60)
    assert cluster.client.delete(f"/actors/{aid}").status_code == 200
    _wait(
        lambda: not _containers_of(busy["worker_id"]), 20, "container of the deleted actor removed", cluster
    )
