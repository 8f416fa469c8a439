"""Shared fixtures: a real ``abaco up`` process on a free port, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("docker", "podman")
ENGINE_SOCKETS = {
    "docker": ("/var/run/docker.sock", "/run/docker.sock"),
    "podman": ("/run/podman/podman.sock",),
}


def engine_available(name: str) -> bool:
    for path in ENGINE_SOCKETS[name]:
        if os.path.exists(path):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(path)
                    s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                    if b"OK" in s.recv(1024):
                        return True
            except OSError:
                continue
    return False


def require_engine(name: str) -> None:
    """Skip when the engine is missing, unless ``ABACO_REQUIRE_ENGINES=1`` (CI): then fail."""
    if engine_available(name):
        return
    message = f"the {name} engine is not reachable"
    if os.environ.get("ABACO_REQUIRE_ENGINES") == "1":
        pytest.fail(message + " and ABACO_REQUIRE_ENGINES=1", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiHelpers:
    """Calls on a running API (``client``) that the process helpers share; a failure says
    what :meth:`diagnostics` returns (the server's log)."""

    client: httpx.Client

    def diagnostics(self) -> str:
        return ""

    def wait_answering(self, alive: Callable[[], bool], what: str, timeout: float) -> Self:
        """Wait until the API answers ``GET /actors``; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError(f"{what} exited:\n{self.diagnostics()}")
            try:
                if self.client.get("/actors").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not answer within {timeout} s:\n{self.diagnostics()}")

    def register(self, **fields: object) -> dict:
        r = self.client.post("/actors", json=fields)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def wait_actor(
        self, actor_id: str, statuses: tuple[str, ...] = ("READY", "ERROR"), timeout: float = 60
    ) -> dict:
        """The actor once its status is one of ``statuses``, or as it is at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            actor = self.client.get(f"/actors/{actor_id}").json()["result"]
            if actor["status"] in statuses or time.monotonic() > deadline:
                return actor
            time.sleep(0.1)

    def wait_execution(
        self,
        actor_id: str,
        execution_id: str,
        statuses: tuple[str, ...] = ("COMPLETE", "ERROR"),
        timeout: float = 90,
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.client.get(f"/actors/{actor_id}/executions/{execution_id}").json()["result"]
            if execution["status"] in statuses:
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"execution {execution_id} still {execution['status']} after {timeout} s:\n{self.diagnostics()}"
                )
            time.sleep(0.05)


class AbacoProcess(ApiHelpers):
    """``abaco up`` in a subprocess, with its own data dir and port."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "abaco-up.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self, timeout: float = 30) -> AbacoProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "abaco_core.cli",
                "up",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        return self.wait_answering(
            lambda: self.proc is not None and self.proc.poll() is None, "abaco up", timeout
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def diagnostics(self) -> str:
        return self.log()[-4000:]

    # -- API helpers -------------------------------------------------------------------------

    def logs(self, actor_id: str, execution_id: str) -> str:
        r = self.client.get(f"/actors/{actor_id}/executions/{execution_id}/logs")
        assert r.status_code == 200, r.text
        return r.json()["result"]["logs"]


@pytest.fixture
def abaco_factory(tmp_path: Path) -> Iterator:
    """Start ``abaco up`` processes: ``abaco_factory(backend="docker", **env)``."""
    started: list[AbacoProcess] = []

    def factory(backend: str, data_dir: Path | None = None, **env: str) -> AbacoProcess:
        if backend in ENGINES:
            require_engine(backend)
        proc = AbacoProcess(data_dir or tmp_path / f"data-{len(started)}", {"ABACO_BACKEND": backend, **env})
        started.append(proc)
        return proc.start()

    yield factory
    for proc in started:
        proc.stop(signal.SIGINT)
        proc.client.close()
