"""A restart of ``abaco up`` in the middle of a stream loses no accepted message."""

from __future__ import annotations

import signal
import time

import pytest

SLEEP = "abaco-test/sleep:1"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_messages_accepted_before_a_restart_run_after_it(abaco_factory, tmp_path, engine, sig):
    data_dir = tmp_path / "data"
    abaco = abaco_factory(engine, data_dir=data_dir, ABACO_SHUTDOWN_GRACE="1", ABACO_STOP_GRACE="1")
    actor = abaco.register(image=SLEEP, default_environment={"SLEEP": "1"}, stateless=False)
    aid = actor["id"]
    assert abaco.wait_actor(aid)["status"] == "READY"
    sent = []
    for i in range(5):
        r = abaco.client.post(f"/actors/{aid}/messages", data={"message": f"message {i}"})
        assert r.status_code == 200
        sent.append(r.json()["result"]["execution_id"])
    # wait until the first one runs, then stop the process in the middle of the stream
    abaco.wait_execution(aid, sent[0], statuses=("RUNNING", "COMPLETE"))
    abaco.stop(sig)
    time.sleep(0.5)

    again = abaco_factory(engine, data_dir=data_dir)
    for i, eid in enumerate(sent):
        execution = again.wait_execution(aid, eid, timeout=120)
        assert execution["status"] == "COMPLETE", (execution["status_message"], again.log()[-3000:])
        assert f"message {i}" in again.logs(aid, eid)
    summary = again.client.get(f"/actors/{aid}/executions").json()["result"]
    assert [e["id"] for e in summary["executions"]] == sent
    # a stateful actor runs strictly in order, never overlapping
    runs = [again.client.get(f"/actors/{aid}/executions/{eid}").json()["result"] for eid in sent]
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier["finish_time"] <= later["start_time"], (earlier, later)
