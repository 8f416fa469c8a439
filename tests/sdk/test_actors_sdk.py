"""Host-side tests of the in-container SDK (``abaco_core/sdk/actors.py``), against the real
host channels (:class:`BinaryFifo`, :class:`ResultsSocket`) and a local HTTP server. No engine."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cloudpickle
import pytest

from abaco_core.environment import build_environment
from abaco_core.models import Actor, Execution, Message, Worker
from abaco_core.runtime.channels import MAX_RESULT_BYTES, BinaryFifo, ResultsSocket
from abaco_core.sdk import actors
from abaco_core.sdk.actors import (
    AbacoAPIError,
    AbacoSDKError,
    NoBinaryMessage,
    ResultTooLarge,
    get_binary_message,
    get_context,
    send_bytes_result,
    send_python_result,
)

SDK_FILE = Path(actors.__file__)


# ---------------------------------------------------------------------------- get_context

BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "_abaco_execution_id": "E1",
    "_abaco_Content_Type": "str",
    "_abaco_username": "alice",
    "_abaco_api_server": "http://api.example",
    "_abaco_access_token": "",
    "_abaco_actor_dbid": "DEV_A1",
    "_abaco_actor_id": "A1",
    "_abaco_worker_id": "W1",
    "_abaco_container_repo": "abaco-test/pysdk:1",
    "_abaco_actor_state": "{}",
    "_abaco_actor_name": "None",
    "key1": "value1",
}


def test_context_of_a_text_message():
    ctx = get_context({**BASE_ENV, "MSG": "hello world"})
    assert ctx["raw_message"] == "hello world"
    assert ctx["message_dict"] == {}
    assert ctx["raw_message_parse_log"].startswith("Error parsing message")
    assert ctx["content_type"] == "str"
    assert ctx["execution_id"] == "E1"
    assert ctx["username"] == "alice"
    assert ctx["actor_dbid"] == "DEV_A1"
    assert ctx["actor_id"] == "A1"
    assert ctx["worker_id"] == "W1"
    assert ctx["actor_repo"] == "abaco-test/pysdk:1"
    assert ctx["actor_name"] == "None"
    assert ctx["api_server"] == "http://api.example"
    assert ctx["state"] == {}
    # every environment variable is there too, and keys read as attributes
    assert ctx["key1"] == "value1" and ctx["PATH"] == "/usr/bin:/bin"
    assert ctx.actor_id == "A1" and ctx.key1 == "value1"
    with pytest.raises(AttributeError):
        _ = ctx.no_such_key


def test_context_of_a_json_message_is_parsed_from_the_python_repr():
    msg = "{'key1': 'value1', 'key2': True, 'n': [1, None, 2.5]}"
    ctx = get_context({**BASE_ENV, "MSG": msg, "_abaco_Content_Type": "application/json"})
    assert ctx["raw_message"] == msg
    assert ctx["message_dict"] == {"key1": "value1", "key2": True, "n": [1, None, 2.5]}
    assert ctx["message_dict"].key2 is True
    assert ctx["raw_message_parse_log"] == ""
    assert ctx["content_type"] == "application/json"


@pytest.mark.parametrize("msg", ["[1, 2]", "42", "'a string'", "{'unterminated", "x" * 10000])
def test_message_dict_is_empty_unless_the_message_is_a_dict_literal(msg):
    ctx = get_context({**BASE_ENV, "MSG": msg})
    assert ctx["message_dict"] == {}
    assert ctx["raw_message"] == msg


def test_state_is_parsed_from_its_repr_or_left_as_text():
    ctx = get_context({**BASE_ENV, "_abaco_actor_state": "{'count': 3, 'ok': False, 'tags': ['a']}"})
    assert ctx["state"] == {"count": 3, "ok": False, "tags": ["a"]}
    assert get_context({**BASE_ENV, "_abaco_actor_state": "7"})["state"] == 7
    assert get_context({**BASE_ENV, "_abaco_actor_state": "not a literal"})["state"] == "not a literal"


def test_missing_variables_give_none():
    ctx = get_context({"PATH": "/bin"})
    for key in (
        "raw_message",
        "content_type",
        "execution_id",
        "username",
        "state",
        "actor_dbid",
        "actor_id",
        "worker_id",
        "actor_repo",
        "actor_name",
        "api_server",
    ):
        assert ctx[key] is None, key
    assert ctx["message_dict"] == {}
    assert ctx["PATH"] == "/bin"


def test_documented_keys_win_over_same_named_variables():
    ctx = get_context({**BASE_ENV, "state": "from a query parameter", "MSG": "m"})
    assert ctx["state"] == {}


def test_content_type_falls_back_to_the_dashed_name():
    env = {k: v for k, v in BASE_ENV.items() if k != "_abaco_Content_Type"}
    assert get_context({**env, "_abaco_Content-Type": "str"})["content_type"] == "str"


def test_context_of_the_environment_the_platform_builds():
    actor = Actor("DEV", "A1", "img", "alice", name="counter", state={"count": 1, "seen": [True, None]})
    execution = Execution("DEV", "A1", "E1", "alice")
    message = Message("DEV", "A1", "E1", {"key1": "value1", "key2": True}, "application/json", {"q": "1"})
    env = build_environment(
        actor=actor, execution=execution, message=message, worker=Worker("DEV", "A1", "W1")
    )
    env = {k: v for k, v in env.items() if v is not None}
    ctx = get_context(env)
    assert ctx["message_dict"] == {"key1": "value1", "key2": True}
    assert ctx["state"] == {"count": 1, "seen": [True, None]}
    assert ctx["actor_id"] == "A1" and ctx["actor_dbid"] == "DEV_A1" and ctx["worker_id"] == "W1"
    assert ctx["actor_name"] == "counter"
    assert ctx["q"] == "1"


def test_helpers_read_the_process_environment(monkeypatch):
    monkeypatch.setenv("_abaco_actor_id", "A9")
    monkeypatch.setenv("_abaco_execution_id", "E9")
    monkeypatch.setenv("_abaco_actor_state", "{'n': 1}")
    monkeypatch.setenv("MSG", "{'a': 1}")
    assert actors.get_actor_id() == "A9"
    assert actors.get_execution_id() == "E9"
    assert actors.get_state() == {"n": 1}
    ctx = get_context()
    assert ctx["message_dict"] == {"a": 1} and ctx["execution_id"] == "E9"


def test_module_is_standalone_and_import_safe(tmp_path):
    """The file works copied alone, with no site-packages, and importing it does nothing."""
    (tmp_path / "actors.py").write_bytes(SDK_FILE.read_bytes())
    code = (
        "import sys; sys.path.insert(0, '.'); import actors; "
        "print('cloudpickle' in sys.modules, sorted(m for m in sys.modules if m.startswith('abaco')))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert out.stdout.strip() == "False []"
    assert out.stderr == ""
    assert sorted(os.listdir(tmp_path)) in (["actors.py"], ["__pycache__", "actors.py"])


# ---------------------------------------------------------------------------- binary message


def _read_with_platform_fifo(path: str, payload: bytes, feed_delay: float = 0.2) -> bytes:
    """As the worker does: fill the FIFO before the 'container' starts, start feeding only a
    little later (after the engine's start returns), then close it when the execution ends."""
    fifo = BinaryFifo(path, payload)
    timer = threading.Timer(feed_delay, fifo.feed, args=(lambda: True,))
    timer.start()
    try:
        return get_binary_message(fifo.path)
    finally:
        timer.join()
        fifo.close()


@pytest.mark.parametrize(
    "size",
    [0, 1, 4095, 4096, 65536, 65537, (1 << 20) - 1, 1 << 20, (1 << 20) + 1],
)
def test_binary_message_of_any_size_is_read_exactly(tmp_path, size):
    payload = os.urandom(size)
    assert _read_with_platform_fifo(str(tmp_path / "w" / "e.fifo"), payload) == payload


@pytest.mark.parametrize("size", [100, 65536, 65537, 3 * 1024 * 1024])
def test_the_platform_fills_the_pipe_before_the_container_starts(tmp_path, size):
    """The invariant get_binary_message relies on to stop at "would block" without waiting for
    end-of-file: a message that fits is all in the pipe, a larger one fills the pipe exactly."""
    fifo = BinaryFifo(str(tmp_path / "e.fifo"), os.urandom(size))
    try:
        fd = os.open(fifo.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            capacity = actors._pipe_size(fd)
            buffered = len(os.read(fd, 8 * 1024 * 1024))
        finally:
            os.close(fd)
        assert capacity == fifo.capacity
        assert buffered == min(size, capacity)
        assert (size < capacity) == (buffered < capacity)
    finally:
        fifo.close()


def test_binary_message_of_10_mb(tmp_path):
    payload = os.urandom(10 * 1024 * 1024)
    start = time.monotonic()
    got = _read_with_platform_fifo(str(tmp_path / "w" / "e.fifo"), payload)
    assert len(got) == len(payload) and got == payload
    assert time.monotonic() - start < 10


def test_binary_message_read_in_another_process(tmp_path):
    """A separate reader process, with the SDK file copied alone, as in an image."""
    (tmp_path / "actors.py").write_bytes(SDK_FILE.read_bytes())
    payload = os.urandom(3 * 1024 * 1024 + 17)
    fifo = BinaryFifo(str(tmp_path / "w" / "e.fifo"), payload)
    code = (
        "import sys, hashlib; sys.path.insert(0, '.'); import actors; "
        "m = actors.get_binary_message(sys.argv[1]); print(len(m), hashlib.sha256(m).hexdigest())"
    )
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", code, fifo.path], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    fifo.feed(lambda: proc.poll() is None)
    out, _ = proc.communicate(timeout=30)
    fifo.close()
    assert out.split() == [str(len(payload)), hashlib.sha256(payload).hexdigest()]


def test_a_writer_that_never_closes_upstream_style(tmp_path):
    """Upstream keeps its end open until the container exits: a message smaller than the pipe
    comes back at once; one that fills the pipe exactly comes back after the idle timeout."""
    small = os.urandom(1000)
    fifo = BinaryFifo(str(tmp_path / "a.fifo"), small)  # never fed: the host end stays open
    try:
        start = time.monotonic()
        assert get_binary_message(fifo.path) == small
        assert time.monotonic() - start < 0.5
    finally:
        fifo.close()
    full = os.urandom(65536)
    fifo = BinaryFifo(str(tmp_path / "b.fifo"), full)
    try:
        assert fifo.capacity == len(full)
        start = time.monotonic()
        assert get_binary_message(fifo.path, timeout=0.3) == full
        assert 0.25 < time.monotonic() - start < 3
    finally:
        fifo.close()


def test_a_fifo_without_a_writer_reads_empty(tmp_path):
    path = tmp_path / "lonely.fifo"
    os.mkfifo(path)
    assert get_binary_message(str(path)) == b""


def test_a_regular_file_is_read_whole(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01" * 100000)
    assert get_binary_message(str(path)) == b"\x00\x01" * 100000


def test_no_binary_message(tmp_path, monkeypatch):
    monkeypatch.setenv("_abaco_Content_Type", "str")
    with pytest.raises(NoBinaryMessage) as caught:
        get_binary_message(str(tmp_path / "missing"))
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, AbacoSDKError)
    assert "content type: str" in str(caught.value)


# ---------------------------------------------------------------------------- results


class Results:
    """A real :class:`ResultsSocket`; :meth:`close` (idempotent) drains what was sent."""

    def __init__(self, path: str) -> None:
        self.received: list[bytes] = []
        self._sock: ResultsSocket | None = ResultsSocket(path, self.received.append)
        self.path = self._sock.path

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@pytest.fixture
def results(tmp_path) -> Iterator[tuple[str, list[bytes], Results]]:
    channel = Results(str(tmp_path / "w" / "e.sock"))
    try:
        yield channel.path, channel.received, channel
    finally:
        channel.close()


def test_send_bytes_results_in_order(results):
    path, received, sock = results
    send_bytes_result(b"first", path=path)
    send_bytes_result(bytearray(b"second"), path=path)
    send_bytes_result(memoryview(b"third"), path=path)
    send_bytes_result(b"", path=path)
    sock.close()  # drains what was sent
    assert received == [b"first", b"second", b"third", b""]


def test_a_result_of_exactly_131072_bytes(results):
    path, received, sock = results
    payload = os.urandom(MAX_RESULT_BYTES)
    assert actors.MAX_RESULT_BYTES == MAX_RESULT_BYTES == 131072
    send_bytes_result(payload, path=path)
    sock.close()  # drains what was sent
    assert received == [payload]


def test_a_result_of_131073_bytes_is_refused(results):
    path, received, sock = results
    with pytest.raises(ResultTooLarge, match="131073 bytes exceeds the maximum of 131072"):
        send_bytes_result(b"x" * (MAX_RESULT_BYTES + 1), path=path)
    sock.close()  # drains what was sent
    assert received == []


@pytest.mark.parametrize("value", ["text", 5, None, [b"a"]])
def test_send_bytes_result_needs_bytes(results, value):
    path, received, _ = results
    with pytest.raises(AbacoSDKError, match="needs bytes"):
        send_bytes_result(value, path=path)


def test_send_bytes_result_without_a_socket(tmp_path):
    with pytest.raises(AbacoSDKError, match="cannot connect to the results socket"):
        send_bytes_result(b"x", path=str(tmp_path / "nothing.sock"))


def test_send_python_result_uses_cloudpickle(results):
    path, received, sock = results
    offset = 10

    def add(x):
        return x + offset

    send_python_result({"f": add, "data": [1, 2.5, None]}, path=path)
    send_python_result(lambda y: y * 3, path=path)
    sock.close()  # drains what was sent
    first, second = (cloudpickle.loads(r) for r in received)
    assert first["f"](1) == 11 and first["data"] == [1, 2.5, None]
    assert second(4) == 12


def test_send_python_result_falls_back_to_pickle(results, monkeypatch):
    path, received, sock = results
    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # import cloudpickle -> ImportError
    send_python_result({"a": (1, 2)}, path=path)
    with pytest.raises(AbacoSDKError, match="could not pickle"):
        send_python_result(lambda: 1, path=path)
    sock.close()  # drains what was sent
    assert [pickle.loads(r) for r in received] == [{"a": (1, 2)}]


def test_send_python_result_too_large(results):
    path, received, sock = results
    with pytest.raises(ResultTooLarge):
        send_python_result(b"x" * MAX_RESULT_BYTES, path=path)
    sock.close()  # drains what was sent
    assert received == []


# ---------------------------------------------------------------------------- API


class _Recorder(BaseHTTPRequestHandler):
    """Records each request; answers with ``server.reply`` = (status, content type, body)."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, dict(self.headers.items()), body))
        status, ctype, out = self.server.reply
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


def envelope(result, message="ok", status="success") -> bytes:
    return json.dumps({"message": message, "result": result, "status": status, "version": "test"}).encode()


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    server.reply = (200, "application/json", envelope({"id": "A1", "state": {}}))
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def in_execution(monkeypatch, api):
    monkeypatch.setenv("_abaco_api_server", api.url + "/")
    monkeypatch.setenv("_abaco_actor_id", "A1")
    monkeypatch.setenv("_abaco_access_token", "tok-123")
    return api


def test_update_state_posts_the_json_value(in_execution):
    api = in_execution
    api.reply = (
        200,
        "application/json",
        envelope({"id": "A1", "state": {"count": 2}}, "State updated successfully."),
    )
    actor = actors.update_state({"count": 2, "tags": ["x"]})
    assert actor == {"id": "A1", "state": {"count": 2}}
    [(method, path, headers, body)] = api.requests
    assert method == "POST"
    assert path == "/actors/v2/A1/state"
    assert json.loads(body) == {"count": 2, "tags": ["x"]}
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("value", [0, False, "abc", [], {}, None])
def test_update_state_sends_any_json_value(in_execution, value):
    actors.update_state(value)
    assert json.loads(in_execution.requests[-1][3]) == value


def test_update_state_without_a_token_sends_no_authorization(in_execution, monkeypatch):
    monkeypatch.setenv("_abaco_access_token", "")
    actors.update_state(1)
    headers = in_execution.requests[-1][2]
    assert "Authorization" not in headers


def test_update_state_error_carries_the_api_message(in_execution):
    in_execution.reply = (404, "application/json", envelope(None, "actor is stateless.", "error"))
    with pytest.raises(AbacoAPIError, match="HTTP 404: actor is stateless.") as caught:
        actors.update_state({"a": 1})
    assert caught.value.status == 404


def test_update_state_needs_serializable_value_and_environment(in_execution, monkeypatch):
    with pytest.raises(AbacoSDKError, match="JSON serializable"):
        actors.update_state({"a": object()})
    assert in_execution.requests == []
    monkeypatch.delenv("_abaco_api_server")
    with pytest.raises(AbacoSDKError, match="_abaco_api_server is not set"):
        actors.update_state(1)
    monkeypatch.delenv("_abaco_actor_id")
    with pytest.raises(AbacoSDKError, match="_abaco_actor_id is not set"):
        actors.update_state(1)


def test_update_state_unreachable_server(monkeypatch, api):
    monkeypatch.setenv("_abaco_api_server", "http://127.0.0.1:1")
    monkeypatch.setenv("_abaco_actor_id", "A1")
    with pytest.raises(AbacoAPIError) as caught:
        actors.update_state(1)
    assert caught.value.status == 0


def test_client_calls(in_execution):
    api = in_execution
    client = actors.get_client()
    assert client.api_server == api.url and client.token == "tok-123"

    api.reply = (200, "application/json", envelope({"executionId": "E2", "msg": "hi"}))
    assert client.send_message("B 2", "hi", environment={"k": "v"}) == {"executionId": "E2", "msg": "hi"}
    client.send_message(None, {"key": True})
    client.send_binary_message("B2", b"\x00\xff")
    client.actors.sendMessage(actorId="B2", body={"message": "via agavepy names"})

    api.reply = (200, "application/json", envelope({"id": "E2", "status": "COMPLETE"}))
    assert client.get_execution("B2", "E2")["status"] == "COMPLETE"

    api.reply = (200, "application/json", envelope({"state": {"n": 4}}))
    assert client.get_state() == {"n": 4}
    assert client.actors.getState(actorId="B2") == {"state": {"n": 4}}

    api.reply = (200, "application/octet-stream", b"\x80raw")
    assert client.get_execution_result("B2", "E2") == b"\x80raw"

    seen = [(m, p, h.get("Content-Type"), b) for m, p, h, b in api.requests]
    assert seen == [
        ("POST", "/actors/v2/B%202/messages?k=v", "application/json", b'{"message": "hi"}'),
        ("POST", "/actors/v2/A1/messages", "application/json", b'{"key": true}'),
        ("POST", "/actors/v2/B2/messages", "application/octet-stream", b"\x00\xff"),
        ("POST", "/actors/v2/B2/messages", "application/json", b'{"message": "via agavepy names"}'),
        ("GET", "/actors/v2/B2/executions/E2", None, b""),
        ("GET", "/actors/v2/A1/state", None, b""),
        ("GET", "/actors/v2/B2/state", None, b""),
        ("GET", "/actors/v2/B2/executions/E2/results", None, b""),
    ]
    assert all(h["Authorization"] == "Bearer tok-123" for _, _, h, _ in api.requests)


def test_get_client_overrides(api):
    client = actors.get_client(api_server=api.url, token="other")
    client.get_actor("X")
    assert api.requests[-1][2]["Authorization"] == "Bearer other"
    assert api.requests[-1][1] == "/actors/v2/X"
