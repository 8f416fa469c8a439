"""Events over the real API (spec §10): a linked actor gets one execution per event of its
source, in order, in a real container; webhooks reach a real local HTTP receiver, signed,
retried after failures, and a hanging receiver never delays executions."""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port, require_engine
from tests.integration.inprocess import InProcessAbaco


class Receiver:
    """A threaded HTTP server answering POSTs with the next of ``statuses`` (200 when they run
    out), after ``hang`` seconds; it records every request."""

    def __init__(self, statuses: list[int] | None = None, hang: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.hang = hang
        self.requests: list[dict] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path, "at": time.monotonic()}
                )
                if receiver.hang:
                    receiver.release.wait(receiver.hang)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x-nonce=LOCAL_abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests arrived, wanted {count}")
            time.sleep(0.02)
        return self.requests

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def server(tmp_path):
    started: list[InProcessAbaco] = []

    def start(backend: str = "fake", **settings) -> InProcessAbaco:
        if backend == "docker":
            require_engine("docker")
        defaults = {
            "cron_interval": 0,
            "events_interval": 0.2,
            "webhook_retry_base": 0.2,
            "webhook_timeout": 5,
            "webhook_allow_private": True,  # the receivers listen on 127.0.0.1
        }
        s = InProcessAbaco(str(tmp_path / f"data{len(started)}"), backend=backend, **{**defaults, **settings})
        started.append(s.start())
        return s

    yield start
    for s in started:
        s.stop()


def event_messages(abaco: InProcessAbaco, actor_id: str, count: int, timeout: float = 60) -> list[dict]:
    """The first ``count`` executions of ``actor_id``, finished, oldest first."""
    deadline = time.monotonic() + timeout
    while len(abaco.executions(actor_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{actor_id} has {len(abaco.executions(actor_id))} executions, wanted {count}"
            )
        time.sleep(0.05)
    return [abaco.wait_execution(actor_id, e["id"]) for e in abaco.executions(actor_id)[:count]]


def test_linked_actor_gets_each_event_in_order_in_a_real_container(server):
    abaco = server("docker")
    target = abaco.register(image="abaco-test/busybox:1")
    source = abaco.register(image="abaco-test/busybox:1", link=target["id"])
    abaco.wait_actor(source["id"])
    sent = [
        abaco.client.post(f"/actors/{source['id']}/messages", data={"message": f"m{i}"}).json()["result"][
            "execution_id"
        ]
        for i in range(2)
    ]
    for eid in sent:
        assert abaco.wait_execution(source["id"], eid)["status"] == "COMPLETE"

    runs = event_messages(abaco, target["id"], 3)
    events = []
    for run in runs:
        assert run["executor"] == "Abaco Event" and run["status"] == "COMPLETE"
        logs = abaco.logs(target["id"], run["id"])
        env = dict(line.split("=", 1) for line in logs.splitlines() if "=" in line)
        assert env["_abaco_username"] == "Abaco Event"
        assert env["_abaco_Content_Type"] == "application/json"
        assert "'event_type': " in env["MSG"]  # the Python literal clients search for
        events.append(ast.literal_eval(env["MSG"]))
    assert [e["event_type"] for e in events] == ["ACTOR_READY", "EXECUTION_COMPLETE", "EXECUTION_COMPLETE"]
    assert [e.get("execution_id") for e in events[1:]] == sent
    for e in events:
        assert e["actor_id"] == source["id"] and e["tenant_id"] == "local"
        assert e["actor_dbid"] == f"local_{source['id']}" and e["_abaco_link"] == target["id"]
        assert e["_abaco_webhook"] == "" and e["event_time_utc"].endswith("Z")
    assert events[1]["status"] == "COMPLETE" and events[1]["exit_code"] == 0
    assert abaco.platform.store.list_objects(None, "event") == []

    # the reverse link would close a cycle
    r = abaco.client.put(
        f"/actors/{target['id']}", json={"image": "abaco-test/busybox:1", "link": source["id"]}
    )
    assert (
        r.status_code == 400
        and r.json()["message"] == "Error: this update would result in a cycle of linked actors."
    )
    r = abaco.client.put(
        f"/actors/{source['id']}", json={"image": "abaco-test/busybox:1", "link": source["id"]}
    )
    assert (
        r.status_code == 400
        and r.json()["message"] == "Invalid link parameter. An actor cannot link to itself."
    )


def secret_of(abaco: InProcessAbaco, actor_id: str) -> str:
    r = abaco.client.get(f"/actors/{actor_id}/webhook/secret")
    assert r.status_code == 200, r.text
    return r.json()["result"]["secret"]


def signed_with(secret: str, request: dict) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp, delivery = headers["x-abaco-timestamp"], headers["x-abaco-delivery"]
    mac = hmac.new(secret.encode(), f"{timestamp}.{delivery}.".encode() + request["body"], hashlib.sha256)
    return hmac.compare_digest(f"sha256={mac.hexdigest()}", headers["x-abaco-signature"])


def test_webhook_posts_are_signed_with_their_actors_own_secret(server, receivers):
    hook, other_hook = receivers(), receivers()
    abaco = server()
    actor = abaco.register(image="abaco-test/busybox:1", webhook=hook.url)
    other = abaco.register(image="abaco-test/busybox:1", webhook=other_hook.url)
    request, other_request = hook.wait(1)[0], other_hook.wait(1)[0]
    secret, other_secret = secret_of(abaco, actor["id"]), secret_of(abaco, other["id"])
    assert secret != other_secret and len(secret) >= 40
    assert signed_with(secret, request) and signed_with(other_secret, other_request)
    # one receiver's secret cannot sign for the other actor
    assert not signed_with(other_secret, request)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp, delivery = headers["x-abaco-timestamp"], headers["x-abaco-delivery"]
    assert abs(time.time() - int(timestamp)) < 60
    assert headers["content-type"] == "application/json" and delivery
    assert request["path"] == "/hook?x-nonce=LOCAL_abc"
    event = json.loads(request["body"])
    assert event["event_type"] == "ACTOR_READY" and event["actor_id"] == actor["id"]
    assert event["_abaco_webhook"] == hook.url and event["_abaco_link"] == ""
    assert event["_abaco_username"] == "Abaco Event" and event["_abaco_Content_Type"] == "application/json"
    assert event["_abaco_api_server"] == abaco.settings.resolved_api_server
    # a tampered body, another delivery id or an old timestamp does not verify
    from abaco_core.events import verify

    signed = headers["x-abaco-signature"]
    assert verify(secret, timestamp, delivery, request["body"], signed)
    assert not verify(secret, timestamp, delivery, request["body"] + b" ", signed)
    assert not verify(secret, timestamp, delivery + "x", request["body"], signed)
    assert not verify(secret, timestamp, delivery, request["body"], signed, now=int(timestamp) + 3600)
    # the secret is stored encrypted, never as it is
    stored = abaco.platform.store.get_object("local", "webhook_secret", actor["id"])
    assert secret not in json.dumps(stored)


def test_a_rotated_secret_signs_the_next_deliveries(server, receivers):
    hook = receivers()
    abaco = server()
    actor = abaco.register(image="abaco-test/busybox:1", webhook=hook.url)
    hook.wait(1)
    old = secret_of(abaco, actor["id"])
    r = abaco.client.post(f"/actors/{actor['id']}/webhook/secret")
    assert r.status_code == 200 and r.json()["message"] == "Webhook secret rotated successfully.", r.text
    new = r.json()["result"]["secret"]
    assert new != old and secret_of(abaco, actor["id"]) == new
    eid = abaco.client.post(f"/actors/{actor['id']}/messages", data={"message": "x"}).json()["result"][
        "execution_id"
    ]
    abaco.wait_execution(actor["id"], eid)
    completed = hook.wait(2)[1]
    assert signed_with(new, completed) and not signed_with(old, completed)
    # the secret goes with its actor
    assert abaco.client.delete(f"/actors/{actor['id']}").status_code == 200
    assert abaco.platform.store.list_objects("local", "webhook_secret") == []


def test_a_failing_receiver_gets_the_event_again_with_backoff(server, receivers, caplog):
    hook = receivers(statuses=[500, 500, 200])
    abaco = server()
    abaco.register(image="abaco-test/busybox:1", webhook=hook.url)
    requests = hook.wait(3)
    assert [r["body"] for r in requests[1:]] == [requests[0]["body"]] * 2
    ids = {r["headers"]["X-Abaco-Delivery"] for r in requests}
    assert len(ids) == 1  # the same delivery, for receivers to deduplicate
    gaps = [b["at"] - a["at"] for a, b in zip(requests, requests[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # 0.2 s, then 0.4 s
    deadline = time.monotonic() + 10
    while abaco.platform.store.list_objects(None, "event"):
        assert time.monotonic() < deadline, "the delivered event is still stored"
        time.sleep(0.05)
    time.sleep(1)
    assert len(hook.requests) == 3  # delivered once it succeeded, never again
    # the nonce in the URL never reaches the logs
    assert not [r for r in caplog.records if "LOCAL_abc" in r.getMessage()]


def test_retries_stop_at_the_limit(server, receivers):
    hook = receivers(statuses=[500] * 10)
    abaco = server(webhook_max_attempts=3, webhook_retry_base=0.1)
    abaco.register(image="abaco-test/busybox:1", webhook=hook.url)
    hook.wait(3)
    time.sleep(1.5)
    assert len(hook.requests) == 3
    assert abaco.platform.store.list_objects(None, "event") == []


def test_a_hanging_receiver_never_delays_executions(server, receivers):
    hook = receivers(hang=30)
    abaco = server(webhook_timeout=20, webhook_concurrency=1)
    hooked = abaco.register(image="abaco-test/busybox:1", webhook=hook.url)
    plain = abaco.register(image="abaco-test/busybox:1")
    hook.wait(1)  # ACTOR_READY is stuck in the receiver from now on
    started = time.monotonic()
    for actor in (hooked, plain, hooked, plain, hooked):
        eid = abaco.client.post(f"/actors/{actor['id']}/messages", data={"message": "x"}).json()["result"][
            "execution_id"
        ]
        assert abaco.wait_execution(actor["id"], eid, timeout=10)["status"] == "COMPLETE"
    assert time.monotonic() - started < 8
    assert len(hook.requests) == 1  # still hanging, the completions wait their turn, stored
    pending = [doc["event"]["event_type"] for _, doc in abaco.platform.store.list_objects(None, "event")]
    assert pending.count("EXECUTION_COMPLETE") == 3
