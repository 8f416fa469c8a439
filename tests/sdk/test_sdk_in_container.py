"""The SDK inside a real container: ``abaco-test/pysdk:1`` / ``abaco-test/pystate:1`` run through
each engine's CLI with the host ends of the contract (:class:`BinaryFifo` mounted at
``/_abaco_binary_data``, :class:`ResultsSocket` at ``/_abaco_results.sock``). No abaco server.

When an engine is unreachable the tests skip, or fail with ``ABACO_REQUIRE_ENGINES=1``. Missing
images are built once with ``images/build.sh <engine>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cloudpickle
import pytest

from abaco_core.runtime.channels import FIFO_MOUNT, RESULTS_MOUNT, BinaryFifo, ResultsSocket

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "images" / "build.sh"
PYSDK = "abaco-test/pysdk:1"
PYSTATE = "abaco-test/pystate:1"
IMAGES = (PYSDK, PYSTATE)
CLI = {
    "docker": ["docker", "-H", os.environ.get("DOCKER_HOST", "unix:///run/docker.sock")],
    "podman": ["podman", "--url", os.environ.get("CONTAINER_HOST", "unix:///run/podman/podman.sock")],
}
RUN_TIMEOUT = 120


def unavailable(reason: str) -> None:
    if os.environ.get("ABACO_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{reason} (ABACO_REQUIRE_ENGINES=1)", pytrace=False)
    pytest.skip(reason)


def _cli(engine: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI[engine], *args], capture_output=True, text=True, timeout=timeout, check=False)


def _missing(engine: str) -> list[str]:
    return [image for image in IMAGES if _cli(engine, "image", "inspect", image).returncode != 0]


_checked: dict[str, str | None] = {}


def _check(engine: str) -> str | None:
    """None when the engine is usable with the images, else why not."""
    if shutil.which(CLI[engine][0]) is None:
        return f"the {engine} CLI is not installed"
    try:
        version = _cli(engine, "version", timeout=20)
    except subprocess.TimeoutExpired:
        return f"the {engine} engine does not answer ({' '.join(CLI[engine])} version timed out)"
    if version.returncode != 0:
        return f"the {engine} engine is not reachable: {version.stderr.strip()[-500:]}"
    if _missing(engine):
        build = subprocess.run(
            ["bash", str(BUILD_SCRIPT), engine], capture_output=True, text=True, timeout=600, check=False
        )
        missing = _missing(engine)
        if missing:
            # the engine works, so a missing image is a failure, never a skip
            pytest.fail(
                f"{missing} missing on {engine}; images/build.sh rc={build.returncode}: {build.stderr[-2000:]}"
            )
    return None


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("podman", marks=pytest.mark.podman),
    ]
)
def engine(request: pytest.FixtureRequest) -> str:
    name = request.param
    if name not in _checked:
        _checked[name] = _check(name)
    if _checked[name] is not None:
        unavailable(_checked[name])
    return name


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    results: list[bytes] = field(default_factory=list)

    @property
    def objects(self) -> list:
        return [cloudpickle.loads(r) for r in self.results]


def run_container(
    engine: str,
    workdir: Path,
    *,
    image: str = PYSDK,
    message: bytes | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Run:
    """Run ``image`` as the worker would: FIFO (binary message) and results socket mounted,
    the FIFO fed while the container runs, results drained after it exits."""
    received: list[bytes] = []
    results = ResultsSocket(str(workdir / "w" / "e.sock"), received.append)
    fifo = BinaryFifo(str(workdir / "w" / "e.fifo"), message) if message is not None else None
    name = f"abaco-sdk-test-{uuid.uuid4().hex[:12]}"
    cmd = [*CLI[engine], "run", "--rm", "--name", name, "--label", "abaco.test=1"]
    cmd += ["-v", f"{results.path}:{RESULTS_MOUNT}"]
    if fifo is not None:
        cmd += ["-v", f"{fifo.path}:{FIFO_MOUNT}:ro"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    cmd += [*args, image]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if fifo is not None:
            fifo.feed(lambda: proc.poll() is None)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        _cli(engine, "rm", "-f", name)
        pytest.fail(f"{image} on {engine} did not finish in {RUN_TIMEOUT}s: {out}{err}")
    finally:
        results.close()  # drains what the container sent
        if fifo is not None:
            fifo.close()
    return Run(proc.returncode, out, err, received)


def call_message(func, *args, **kwargs) -> bytes:
    return cloudpickle.dumps({"func": func, "args": list(args), "kwargs": kwargs})


# ---------------------------------------------------------------------------- funcall


@pytest.mark.parametrize("user", [None, "1000:1000"])
def test_function_call_round_trip(engine, tmp_path, user):
    scale = 3  # a closure variable: needs cloudpickle on both sides

    def summarize(values, exponent=1, *, label, transform=None):
        import os
        import sys

        total = sum((transform or (lambda v: v))(v) ** exponent for v in values) * scale
        return {
            "label": label,
            "total": total,
            "in_container": os.path.exists("/_abaco_binary_data") and os.path.exists("/_abaco_results.sock"),
            "python": sys.version_info[:2],
            "uid": os.getuid(),
        }

    message = call_message(summarize, [1, 2, 3], 2, label="squares", transform=lambda v: v + 1)
    run = run_container(engine, tmp_path, message=message, args=("--user", user) if user else ())
    assert run.returncode == 0, run.stderr
    assert "funcall: calling" in run.stdout and "funcall: result sent" in run.stdout
    [result] = run.objects
    assert result == {
        "label": "squares",
        "total": (4 + 9 + 16) * 3,
        "in_container": True,
        "python": (3, 11),
        "uid": 1000 if user else 0,
    }


def test_large_argument_streams_through_the_fifo(engine, tmp_path):
    """A 3 MB argument is bigger than any pipe buffer: read until end-of-file in the container."""
    blob = os.urandom(3 * 1024 * 1024 + 5)

    def digest(data, algorithm="sha256"):
        import hashlib

        return len(data), hashlib.new(algorithm, data).hexdigest()

    run = run_container(engine, tmp_path, message=call_message(digest, blob, algorithm="sha256"))
    assert run.returncode == 0, run.stderr
    assert run.objects == [(len(blob), hashlib.sha256(blob).hexdigest())]


def test_results_up_to_the_limit(engine, tmp_path):
    """Several results from one execution, the largest one exactly 131072 bytes."""

    def send_many():
        from actors import MAX_RESULT_BYTES, send_bytes_result, send_python_result

        send_bytes_result(b"\xab" * MAX_RESULT_BYTES)
        send_python_result("second")
        return "last"

    run = run_container(engine, tmp_path, message=call_message(send_many))
    assert run.returncode == 0, run.stderr
    assert run.results[0] == b"\xab" * 131072
    assert [cloudpickle.loads(r) for r in run.results[1:]] == ["second", "last"]


def test_a_result_too_large_is_refused_in_the_container(engine, tmp_path):
    run = run_container(engine, tmp_path, message=call_message(lambda n: b"x" * n, 131073))
    assert run.returncode == 3
    assert "exceeds the maximum of 131072 bytes" in run.stderr
    assert run.results == []


def test_a_raising_function(engine, tmp_path):
    def fails(x):
        raise ValueError(f"bad value {x}")

    run = run_container(engine, tmp_path, message=call_message(fails, 7))
    assert run.returncode == 1
    assert "ValueError: bad value 7" in run.stderr
    assert run.results == []


def test_a_message_that_is_not_a_call(engine, tmp_path):
    run = run_container(engine, tmp_path, message=b"\x00not a pickle")
    assert run.returncode == 2
    assert "cannot unpickle the message" in run.stderr


def test_a_text_message_prints_the_context(engine, tmp_path):
    env = {
        "MSG": "{'key1': 'value1', 'key2': True}",
        "_abaco_Content_Type": "application/json",
        "_abaco_actor_id": "A1",
        "_abaco_execution_id": "E1",
        "_abaco_actor_state": "{'count': 2}",
    }
    run = run_container(engine, tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "MSG={'key1': 'value1', 'key2': True}" in run.stdout
    context = json.loads(run.stdout.split("CONTEXT=", 1)[1])
    assert context["message_dict"] == {"key1": "value1", "key2": True}
    assert context["state"] == {"count": 2}
    assert context["content_type"] == "application/json"
    assert context["actor_id"] == "A1" and context["execution_id"] == "E1"


# ---------------------------------------------------------------------------- state


class _StateAPI(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, dict(self.headers.items()), body))
        out = json.dumps(
            {
                "message": "State updated successfully.",
                "result": {"state": json.loads(body)},
                "status": "success",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def state_api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StateAPI)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_state_counter_updates_the_state(engine, tmp_path, state_api):
    port = state_api.server_address[1]
    env = {
        "_abaco_api_server": f"http://127.0.0.1:{port}",
        "_abaco_actor_id": "A1",
        "_abaco_access_token": "tok-xyz",
        "_abaco_actor_state": "{'count': 41, 'other': 'kept'}",
    }
    run = run_container(engine, tmp_path, image=PYSTATE, env=env, args=("--network", "host"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "count=42"
    [(path, headers, body)] = state_api.requests
    assert path == "/actors/v2/A1/state"
    assert json.loads(body) == {"count": 42, "other": "kept"}
    assert headers["Authorization"] == "Bearer tok-xyz"


def test_state_counter_fails_without_an_api_server(engine, tmp_path):
    run = run_container(engine, tmp_path, image=PYSTATE, env={"_abaco_actor_id": "A1"})
    assert run.returncode == 1
    assert "_abaco_api_server is not set" in run.stderr
