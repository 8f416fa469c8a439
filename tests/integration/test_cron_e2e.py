"""Cron through real HTTP with a real container: a schedule that is due at once runs the
cron message; schedule validation answers 400 with Abaco's messages."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest


@pytest.mark.parametrize("engine", ["docker"])
def test_a_due_schedule_runs_the_cron_message(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_CRON_INTERVAL="0.5")
    r = abaco.client.post(
        "/actors/v2", json={"image": "abaco-test/busybox:1", "cronSchedule": "now + 1 hour"}
    )
    assert r.status_code == 200, r.text
    actor = r.json()["result"]
    assert actor["cron_schedule"] == "now + 1 hour" and actor["cron_on"] is True
    now = datetime.now(UTC)
    assert actor["cron_next_ex"] in (f"{now.year}-{now.month}-{now.day} {now.hour}",)
    deadline = time.monotonic() + 60
    while True:
        executions = abaco.client.get(f"/actors/{actor['id']}/executions").json()["result"]["executions"]
        if executions:
            break
        assert time.monotonic() < deadline, abaco.log()[-3000:]
        time.sleep(0.2)
    eid = executions[0]["id"]
    execution = abaco.wait_execution(actor["id"], eid)
    assert execution["status"] == "COMPLETE" and execution["executor"] == "cron"
    logs = abaco.logs(actor["id"], eid)
    assert logs.startswith("MSG=This is your cron execution\n")
    assert "_abaco_Content_Type=str" in logs
    time.sleep(1.5)  # more passes in the same hour: no second run
    assert abaco.client.get(f"/actors/{actor['id']}/executions").json()["result"]["total_executions"] == 1
    shown = abaco.client.get(f"/actors/{actor['id']}").json()["result"]["cron_next_ex"]
    assert shown != actor["cron_next_ex"]  # moved on to the next hour

    # switching it off and on keeps the schedule (the seed document's PUT)
    r = abaco.client.put(
        f"/actors/v2/{actor['id']}", json={"image": "abaco-test/busybox:1", "cronOn": "False"}
    )
    assert r.json()["result"]["cron_on"] is False and r.json()["result"]["cron_schedule"] == "now + 1 hour"


@pytest.mark.parametrize(
    "schedule, message",
    [
        ("every hour", "The cron is not in the correct format"),
        ("1955-01-01 01 + 1 hour", "The starting datetime is old. The current UTC time is "),
        ("2090-01-01 01 + 3 fortnights", "fortnights is an invalid unit of time"),
        ("2090-13-01 01 + 1 day", "2090-13-01 01"),
        ("61 * * * *", ""),
    ],
)
def test_invalid_schedules_get_400(abaco_factory, schedule, message):
    abaco = abaco_factory("docker")
    r = abaco.client.post("/actors", json={"image": "abaco-test/busybox:1", "cron_schedule": schedule})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and message in body["message"]
