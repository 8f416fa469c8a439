"""Bad input gets the specified status and the JSON envelope, never a 500 (spec §2, §5, §6)."""

from __future__ import annotations

import pytest

from tests.conftest import AbacoProcess, require_engine

WRONG_METHOD = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."


@pytest.fixture(scope="module")
def abaco(tmp_path_factory):
    require_engine("docker")
    proc = AbacoProcess(tmp_path_factory.mktemp("bad-input"), {"ABACO_BACKEND": "docker"}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def actor_id(abaco):
    return abaco.register(image="abaco-test/busybox:1")["id"]


def assert_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "result", "status", "version"}
    assert body["status"] == "error" and body["result"] is None
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "image"),
        ({"image": ""}, "image"),
        ({"image": 5}, "image"),
        ({"image": "x", "stateless": "maybe"}, "stateless"),
        ({"image": "x", "use_container_uid": "sometimes"}, "use_container_uid"),
        ({"image": "x", "default_environment": "a=b"}, "default_environment"),
        ({"image": "x", "default_environment": [1]}, "default_environment"),
        ({"image": "x", "max_workers": "many"}, "max_workers"),
        ({"image": "x", "max_workers": 0}, "max_workers"),
        ({"image": "x", "max_cpus": 1.5}, "max_cpus"),
        ({"image": "x", "mem_limit": "lots"}, "mem_limit"),
        ({"image": "x", "log_ex": "soon"}, "log_ex"),
        ({"image": "x", "type": "xml"}, "type"),
        ({"image": "x", "privileged": []}, "privileged"),
    ],
)
def test_invalid_registration_fields(abaco, payload, field):
    assert_error(abaco.client.post("/actors", json=payload), 400, "Invalid actor description", field)


def test_invalid_fields_in_a_form(abaco):
    r = abaco.client.post("/actors", data={"image": "x", "stateless": "perhaps"})
    assert_error(r, 400, "stateless")


def test_hints_with_forbidden_characters(abaco):
    r = abaco.client.post("/actors", json={"image": "x", "hints": ["ok", "{bad}"]})
    assert_error(r, 400, "Hints must be simple stings or numbers", "Error character: {")


def test_stateful_actor_with_max_workers(abaco):
    r = abaco.client.post("/actors", json={"image": "x", "stateless": False, "max_workers": 3})
    assert_error(r, 400, "stateful actors can only have 1 worker")


def test_unknown_queue(abaco):
    assert_error(
        abaco.client.post("/actors", json={"image": "x", "queue": "nope"}), 400, "Invalid queue name."
    )


def test_invalid_json_body(abaco, actor_id):
    headers = {"content-type": "application/json"}
    assert_error(abaco.client.post("/actors", content=b"{not json", headers=headers), 400, "Invalid JSON")
    assert_error(
        abaco.client.put(f"/actors/{actor_id}", content=b"[1,", headers=headers), 400, "Invalid JSON"
    )
    r = abaco.client.post(f"/actors/{actor_id}/messages", content=b"{oops", headers=headers)
    assert_error(r, 400, "message POST body could not be serialized")


def test_json_body_that_is_not_an_object(abaco):
    assert_error(abaco.client.post("/actors", json=["image", "x"]), 400, "Invalid actor description")


def test_plain_text_message_is_refused(abaco, actor_id):
    r = abaco.client.post(
        f"/actors/{actor_id}/messages", content=b"just text", headers={"content-type": "text/plain"}
    )
    assert_error(r, 400, "Pass JSON data or use the message attribute")


def test_empty_message_is_refused(abaco, actor_id):
    assert_error(abaco.client.post(f"/actors/{actor_id}/messages"), 400, "could not be serialized")


def test_binary_message_without_content_length(abaco, actor_id):
    def body():
        yield b"abc"

    r = abaco.client.post(
        f"/actors/{actor_id}/messages", content=body(), headers={"content-type": "application/octet-stream"}
    )
    # a chunked body carries no Content-Length
    assert_error(r, 400, "Content Length required")


@pytest.mark.parametrize(
    "path",
    [
        "/actors/{unknown}",
        "/actors/{unknown}/messages",
        "/actors/{unknown}/executions",
        "/actors/v2/{unknown}/workers",
    ],
)
def test_unknown_actor(abaco, path):
    r = abaco.client.get(path.format(unknown="R0y3eYbWmgEwo"))
    assert_error(r, 404, "R0y3eYbWmgEwo")


def test_unknown_alias_shaped_identifier(abaco):
    assert_error(abaco.client.get("/actors/not-an-id"), 404, "Actor with identifier 'not-an-id' not found")


def test_unknown_execution_and_worker(abaco, actor_id):
    assert_error(abaco.client.get(f"/actors/{actor_id}/executions/R0y3eYbWmgEwo"), 404, "No executions found")
    assert_error(
        abaco.client.get(f"/actors/{actor_id}/executions/R0y3eYbWmgEwo/logs"), 404, "No executions found"
    )
    assert_error(abaco.client.get(f"/actors/{actor_id}/workers/R0y3eYbWmgEwo"), 404, "Worker not found.")


@pytest.mark.parametrize(
    "method, path",
    [
        ("PUT", "/actors"),
        ("PUT", "/actors/{aid}/executions"),
        ("POST", "/actors/{aid}/executions"),
        ("PUT", "/actors/{aid}/messages"),
        ("PUT", "/actors/v2/{aid}/workers"),
        ("POST", "/actors/{aid}"),
        ("PATCH", "/actors/{aid}"),
        ("POST", "/actors/{aid}/executions/R0y3eYbWmgEwo"),
        ("POST", "/actors/{aid}/executions/R0y3eYbWmgEwo/logs"),
    ],
)
def test_wrong_method(abaco, actor_id, method, path):
    r = abaco.client.request(method, path.format(aid=actor_id))
    assert_error(r, 405, WRONG_METHOD)


@pytest.mark.parametrize("path", ["/", "/nope", "/actors/x/y/z/w", "/actors/v3/abc/def/ghi"])
def test_unknown_route(abaco, path):
    assert_error(abaco.client.get(path), 404, "Invalid request: the requested URL is not an Abaco endpoint.")


def test_halting_an_execution_that_does_not_run(abaco, actor_id):
    eid = abaco.client.post(f"/actors/{actor_id}/messages", data={"message": "x"}).json()["result"][
        "execution_id"
    ]
    abaco.wait_execution(actor_id, eid)
    r = abaco.client.delete(f"/actors/{actor_id}/executions/{eid}")
    assert_error(r, 400, "Cannot force quit an execution not in RUNNING status", "COMPLETE")


def test_cors_preflight_and_origin(abaco, actor_id):
    """The single-user mode answers a local page with its own origin, never ``*``
    (tests/integration/test_local_mode_http.py has the rest, and the spec's ``*`` for the
    authenticated methods)."""
    local_page = "http://localhost:3000"
    r = abaco.client.options(
        f"/actors/{actor_id}/messages",
        headers={
            "Origin": local_page,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == local_page
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "authorization, content-type"
    r = abaco.client.get("/actors", headers={"Origin": local_page})
    assert r.headers["access-control-allow-origin"] == local_page
    assert_error(abaco.client.get("/actors", headers={"Origin": "http://example.test"}), 403, "Origin")


def test_nothing_accepted_is_lost_by_bad_requests(abaco, actor_id):
    before = abaco.client.get(f"/actors/{actor_id}/executions").json()["result"]["total_executions"]
    for bad in (b"{", b"", b"plain"):
        abaco.client.post(
            f"/actors/{actor_id}/messages", content=bad, headers={"content-type": "application/json"}
        )
    after = abaco.client.get(f"/actors/{actor_id}/executions").json()["result"]["total_executions"]
    assert after == before


def test_messages_no_container_could_take_are_refused_before_queueing(abaco, actor_id):
    before = abaco.client.get(f"/actors/{actor_id}/executions").json()["result"]["total_executions"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert_error(
        abaco.client.post(f"/actors/{actor_id}/messages", content=b"message=a%00b", headers=form), 400, "NUL"
    )
    assert_error(
        abaco.client.post(f"/actors/{actor_id}/messages?=1", data={"message": "x"}),
        400,
        "cannot be an environment variable name",
    )
    assert_error(
        abaco.client.post(f"/actors/{actor_id}/messages?a%3Db=1", data={"message": "x"}),
        400,
        "cannot be an environment variable name",
    )
    r = abaco.client.post(
        f"/actors/{actor_id}/messages", content=b'{"a": NaN}', headers={"content-type": "application/json"}
    )
    assert_error(r, 400, "could not be serialized")
    after = abaco.client.get(f"/actors/{actor_id}/executions").json()["result"]["total_executions"]
    assert after == before
    assert abaco.client.get(f"/actors/{actor_id}").json()["result"]["status"] == "READY"


def test_hostile_bodies_get_400(abaco):
    deep = b"[" * 100000 + b"]" * 100000
    assert_error(
        abaco.client.post("/actors", content=deep, headers={"content-type": "application/json"}),
        400,
        "nested too deeply",
    )
    bad_env = {"image": "x", "default_environment": {"A=B": "1"}}
    assert_error(abaco.client.post("/actors", json=bad_env), 400, "default_environment")
    assert_error(abaco.client.post("/actors", json={"image": "x", "max_cpus": 10**20}), 400, "max_cpus")
    assert_error(
        abaco.client.post("/actors", json={"image": "x", "mem_limit": "99999999t"}), 400, "mem_limit"
    )
    assert_error(abaco.client.get("/actors/" + "a" * 5000), 404, "not found")


def test_worker_count_is_bounded(abaco, actor_id):
    assert_error(
        abaco.client.post(f"/actors/{actor_id}/workers", json={"num": 100000}), 400, "num must be at most"
    )
    assert_error(abaco.client.post(f"/actors/{actor_id}/workers", json={"num": "many"}), 400, "num")
    assert_error(abaco.client.post(f"/actors/{actor_id}/workers", json={"num": -2}), 400, "num")


def test_oversized_registration_body(abaco):
    r = abaco.client.post("/actors", json={"image": "x", "description": "a" * (2 << 20)})
    assert_error(r, 413, "exceeds")
