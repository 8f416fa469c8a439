"""Workers API, the embedded autoscaler, retries, dead letters and redrive, on real engines."""

from __future__ import annotations

import time

import pytest


def send(abaco, aid, **kwargs) -> str:
    r = abaco.client.post(f"/actors/{aid}/messages", **kwargs)
    assert r.status_code == 200, r.text
    return r.json()["result"]["execution_id"]


def workers(abaco, aid) -> list[dict]:
    return abaco.client.get(f"/actors/{aid}/workers").json()["result"]


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("engine", ["docker"])
def test_retries_dead_letters_and_redrive(abaco_factory, engine):
    abaco = abaco_factory(engine)
    actor = abaco.register(
        image="abaco-test/exit:1",
        max_retries=2,
        retry_delay=0.2,
        retry_on_exit_code=True,
        default_environment={"EXIT_CODE": "5"},
    )
    assert (actor["max_retries"], actor["retry_delay"], actor["retry_on_exit_code"]) == (2, 0.2, True)
    aid = actor["id"]
    eid = send(abaco, aid, data={"message": "flaky"})
    execution = abaco.wait_execution(aid, eid, timeout=60)
    assert execution["status"] == "COMPLETE" and execution["exit_code"] == 5
    assert execution["attempts"] == 3 and execution["dead_lettered"] is True
    dead = abaco.client.get(f"/actors/{aid}/executions", params={"dead_lettered": "true"}).json()["result"]
    assert [e["id"] for e in dead["executions"]] == [eid]
    assert (
        abaco.client.get(f"/actors/{aid}/executions", params={"status": "ERROR"}).json()["result"][
            "executions"
        ]
        == []
    )
    r = abaco.client.get(f"/actors/{aid}/executions", params={"status": "NOPE"})
    assert r.status_code == 400

    # repair the actor, then redrive the dead letter: the same message runs again
    r = abaco.client.put(
        f"/actors/{aid}",
        json={
            "image": "abaco-test/exit:1",
            "max_retries": 2,
            "retry_on_exit_code": True,
            "default_environment": {"EXIT_CODE": "0"},
        },
    )
    assert r.status_code == 200
    r = abaco.client.post(f"/actors/{aid}/executions/{eid}/redrive")
    assert r.status_code == 200, r.text
    execution = abaco.wait_execution(aid, eid, timeout=60)
    assert execution["status"] == "COMPLETE" and execution["exit_code"] == 0
    assert execution["attempts"] == 1 and execution["dead_lettered"] is False
    assert "MSG=flaky" in abaco.logs(aid, eid)
    r = abaco.client.post(f"/actors/{aid}/executions/{eid}/redrive")
    assert r.status_code == 400 and "not dead-lettered" in r.json()["message"]


def test_platform_failures_are_retried_then_dead_lettered(abaco_factory, tmp_path):
    # podman refuses to create a container whose bind-mount source is missing
    abaco = abaco_factory("podman", ABACO_GLOBAL_MOUNTS=f"{tmp_path}/missing:/data:ro")
    aid = abaco.register(image="abaco-test/busybox:1", max_retries=1)["id"]
    abaco.wait_actor(aid)
    eid = send(abaco, aid, data={"message": "doomed"})
    execution = abaco.wait_execution(aid, eid, timeout=60)
    assert execution["status"] == "ERROR" and execution["dead_lettered"] is True
    assert execution["attempts"] == 2 and "after 2 attempts" in execution["status_message"]
    (tmp_path / "missing").mkdir()
    assert abaco.client.post(f"/actors/{aid}/executions/{eid}/redrive").status_code == 200
    assert abaco.wait_execution(aid, eid)["status"] == "COMPLETE"


@pytest.mark.parametrize("engine", ["docker"])
def test_workers_api_and_autoscaling(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_WORKER_IDLE_TIMEOUT="2")
    actor = abaco.register(image="abaco-test/sleep:1", max_workers=3, default_environment={"SLEEP": "3"})
    aid = actor["id"]
    abaco.wait_actor(aid)
    sent = [send(abaco, aid, data={"message": f"m{i}"}) for i in range(6)]
    peak = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = sum(
            abaco.client.get(f"/actors/{aid}/executions/{eid}").json()["result"]["status"] == "RUNNING"
            for eid in sent
        )
        peak = max(peak, running)
        assert len(workers(abaco, aid)) <= 3
        if all(
            abaco.client.get(f"/actors/{aid}/executions/{e}").json()["result"]["status"] == "COMPLETE"
            for e in sent
        ):
            break
        time.sleep(0.2)
    assert peak >= 2, "the backlog should have scaled the actor up"
    # idle: down to zero
    wait_for(lambda: workers(abaco, aid) == [], timeout=30, what="scale down to zero")

    # the workers API: ensure three, then stop one
    r = abaco.client.post(f"/actors/{aid}/workers", json={"num": 3})
    assert r.status_code == 200 and r.json()["message"] == (
        "Scheduled 3 new worker(s) to start. Previously, there were 0 workers."
    )
    r = abaco.client.post(f"/actors/{aid}/workers", json={"num": 2})
    assert r.json()["message"] == f"Actor {aid} already had 2 worker(s)."
    ready = wait_for(
        lambda: (
            [w for w in workers(abaco, aid) if w["status"] == "READY"]
            if len([w for w in workers(abaco, aid) if w["status"] == "READY"]) == 3
            else None
        ),
        what="three READY workers",
    )
    for key in (
        "id",
        "tenant",
        "status",
        "image",
        "location",
        "cid",
        "ch_name",
        "last_execution_time",
        "last_health_check_time",
    ):
        assert key in ready[0]
    victim = ready[0]["id"]
    r = abaco.client.delete(f"/actors/{aid}/workers/{victim}")
    assert r.status_code == 200 and r.json()["message"] == "Worker scheduled to be stopped."
    wait_for(lambda: victim not in [w["id"] for w in workers(abaco, aid)], timeout=4, what="the worker to go")
    assert abaco.client.get(f"/actors/{aid}/workers/{victim}").status_code == 404
    assert abaco.client.delete(f"/actors/{aid}/workers/{victim}").status_code == 404
