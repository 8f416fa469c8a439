"""A test API server (``tests/access/serve.py``) in a subprocess, driven over real HTTP as
distinct users: ``server.as_user("alice", BASIC)`` is an httpx client whose requests carry the
headers of the test-only ``test-header`` authentication method (``tests/access/header_auth.py``),
which ``ABACO_AUTH`` selects."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from abaco_core.access import ADMIN_ROLE, PRIVILEGED_ROLE, USER_ROLE
from tests.access import header_auth
from tests.conftest import ROOT, free_port

ADMIN = (ADMIN_ROLE,)
PRIVILEGED = (PRIVILEGED_ROLE, USER_ROLE)
BASIC = (USER_ROLE,)

QUIET = {
    "ABACO_INIT_COUNT": "0",
    "ABACO_CRON_INTERVAL": "0",
    "ABACO_AUTOSCALE_INTERVAL": "0",
    "ABACO_HOUSEKEEPING_INTERVAL": "3600",
}
#: the callers are named by the test-only method's headers, through the real pipeline
HEADER_AUTH = {"ABACO_AUTH": header_auth.NAME}


class AccessServer:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **QUIET, **HEADER_AUTH, **env}
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: list[httpx.Client] = []

    def start(self, timeout: float = 30) -> AccessServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.access.serve",
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
        probe = self.as_user("probe", BASIC)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"test server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if probe.get("/actors").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"test server did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def as_user(self, user: str, roles: tuple[str, ...], tenant: str | None = None) -> httpx.Client:
        headers = {header_auth.USER_HEADER: user, header_auth.ROLES_HEADER: ",".join(roles)}
        if tenant:
            headers[header_auth.TENANT_HEADER] = tenant
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def anonymous(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        self._clients.append(client)
        return client

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[AccessServer]:
    srv = AccessServer(tmp_path_factory.mktemp("access"), {}).start()
    yield srv
    srv.stop()


# the callers most tests need: two basic users and an admin, on the module's server


@pytest.fixture(scope="module")
def alice(server: AccessServer) -> httpx.Client:
    return server.as_user("alice", BASIC)


@pytest.fixture(scope="module")
def bob(server: AccessServer) -> httpx.Client:
    return server.as_user("bob", BASIC)


@pytest.fixture(scope="module")
def admin(server: AccessServer) -> httpx.Client:
    return server.as_user("root", ADMIN)


def ok(response: httpx.Response) -> object:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return body["result"]


def denied(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "result", "status", "version"}, body
    assert body["status"] == "error" and body["result"] is None, body
    assert body["message"] == message, body
