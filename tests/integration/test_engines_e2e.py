"""End to end through real HTTP on the real Docker engine and Podman service: register the
busybox actor, send messages, read executions and logs, and check the container contract."""

from __future__ import annotations

import pytest

BUSYBOX = "abaco-test/busybox:1"
EXIT = "abaco-test/exit:1"

pytestmark = pytest.mark.parametrize("engine", ["docker", "podman"])


def env_of(logs: str) -> dict[str, str]:
    """The ``env | sort`` part of the echo image's output."""
    env: dict[str, str] = {}
    for line in logs.splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    return env


def test_messages_run_with_the_environment_contract(abaco_factory, engine):
    abaco = abaco_factory(engine)
    defaults = {"key1": "value1", "key2": "value2", "num": 3, "flag": True, "nested": {"a": [1, None]}}
    actor = abaco.register(image=BUSYBOX, name="echo", default_environment=defaults)
    actor = abaco.wait_actor(actor["id"])
    assert actor["status"] == "READY", actor
    aid = actor["id"]

    # 1. a text message through the form field, with query parameters
    r = abaco.client.post(
        f"/actors/v2/{aid}/messages",
        params={
            "key1": "valueABC",
            "extra": "from query",
            "_abaco_username": "mallory",
            "x-nonce": "N_1",
            "_abaco_synchronous": "false",
        },
        data={"message": "some test message"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success" and body["message"] == "The request was successful"
    assert body["result"]["msg"] == "some test message"
    text_eid = body["result"]["execution_id"]
    assert body["result"]["_links"]["self"].endswith(f"/actors/v2/{aid}/executions/{text_eid}")

    # 2. a JSON message
    r = abaco.client.post(f"/actors/{aid}/messages", json={"key1": "value1", "key2": True})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["msg"] == {"key1": "value1", "key2": True}
    json_eid = r.json()["result"]["execution_id"]

    # 3. a JSON body with a message field: the field wins, other keys are dropped
    r = abaco.client.post(f"/actors/{aid}/messages", json={"message": "hello json", "ignored": 1})
    field_eid = r.json()["result"]["execution_id"]

    executions = {eid: abaco.wait_execution(aid, eid) for eid in (text_eid, json_eid, field_eid)}
    for eid, execution in executions.items():
        assert execution["status"] == "COMPLETE", execution
        assert execution["exit_code"] == 0
        for key in (
            "actor_id",
            "worker_id",
            "exit_code",
            "final_state",
            "message_received_time",
            "start_time",
            "id",
            "io",
            "runtime",
            "cpu",
            "executor",
            "status",
            "finish_time",
        ):
            assert key in execution
        assert execution["final_state"]["ExitCode"] == 0
        assert execution["final_state"]["Status"] == "exited"
        assert execution["final_state"]["FinishedAt"].endswith("Z")
        assert execution["actor_id"] == aid and execution["id"] == eid
        assert execution["executor"] == "local"

    text_logs = abaco.logs(aid, text_eid)
    assert text_logs.startswith("MSG=some test message\n")
    env = env_of(text_logs)
    worker_id = executions[text_eid]["worker_id"]
    expected = {
        "MSG": "some test message",
        "key1": "valueABC",  # a query parameter overrides a default
        "key2": "value2",
        "num": "3",
        "flag": "True",
        "nested": "{'a': [1, None]}",
        "extra": "from query",
        "_abaco_username": "local",  # server metadata beats a query parameter
        "_abaco_api_server": abaco.url,
        "_abaco_execution_id": text_eid,
        "_abaco_Content_Type": "str",
        "_abaco_actor_revision": "1",
        "_abaco_actor_id": aid,
        "_abaco_actor_dbid": f"local_{aid}",
        "_abaco_worker_id": worker_id,
        "_abaco_container_repo": BUSYBOX,
        "_abaco_actor_state": "{}",
        "_abaco_actor_name": "echo",
        "_actor_configs": "{}",
        "_abaco_access_token": "",
    }
    for key, value in expected.items():
        assert env.get(key) == value, (key, env.get(key), text_logs)
    assert "PATH" in env
    assert "x-nonce" not in env and "_abaco_synchronous" not in env

    json_env = env_of(abaco.logs(aid, json_eid))
    assert json_env["MSG"] == "{'key1': 'value1', 'key2': True}"
    assert json_env["_abaco_Content_Type"] == "application/json"
    assert json_env["key1"] == "value1"  # no query parameter this time: the default
    assert env_of(abaco.logs(aid, field_eid))["MSG"] == "hello json"

    summary = abaco.client.get(f"/actors/{aid}/executions").json()["result"]
    assert summary["total_executions"] == 3
    assert [e["id"] for e in summary["executions"]] == [text_eid, json_eid, field_eid]
    assert abaco.client.get(f"/actors/{aid}/messages").json()["result"]["messages"] == 0


def test_nonzero_exit_is_complete_with_its_code(abaco_factory, engine):
    abaco = abaco_factory(engine)
    actor = abaco.register(image=EXIT, default_environment={"EXIT_CODE": "7"})
    assert abaco.wait_actor(actor["id"])["status"] == "READY"
    eid = abaco.client.post(f"/actors/{actor['id']}/messages", data={"message": "fail please"}).json()[
        "result"
    ]["execution_id"]
    execution = abaco.wait_execution(actor["id"], eid)
    assert execution["status"] == "COMPLETE"
    assert execution["exit_code"] == 7
    assert execution["final_state"]["ExitCode"] == 7
    assert "fail please" in abaco.logs(actor["id"], eid)


def test_missing_image_puts_the_actor_in_error(abaco_factory, engine):
    abaco = abaco_factory(engine)
    actor = abaco.register(image="abaco-test/does-not-exist:404")
    actor = abaco.wait_actor(actor["id"])
    assert actor["status"] == "ERROR"
    assert "abaco-test/does-not-exist:404" in actor["status_message"]
    # messages are still accepted and wait for a repaired actor (spec §6.2)
    r = abaco.client.post(f"/actors/{actor['id']}/messages", data={"message": "queued"})
    assert r.status_code == 200
    assert abaco.client.get(f"/actors/{actor['id']}/messages").json()["result"]["messages"] == 1
    # a PUT with a good image repairs it, and the queued message runs
    r = abaco.client.put(f"/actors/{actor['id']}", json={"image": BUSYBOX})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["revision"] == 2
    assert abaco.wait_actor(actor["id"])["status"] == "READY"
    eid = r2 = None
    r2 = abaco.client.get(f"/actors/{actor['id']}/executions").json()["result"]
    eid = r2["executions"][0]["id"]
    assert abaco.wait_execution(actor["id"], eid)["status"] == "COMPLETE"
    assert "MSG=queued" in abaco.logs(actor["id"], eid)
