"""A real cluster in subprocesses: ``abaco api``, ``abaco worker`` (several) and ``abaco
scheduler`` on PostgreSQL (a scratch schema) and Redis (a scratch key prefix), running real
containers on Docker. Every process gets short health timings so failures show in seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT, ApiHelpers, free_port, require_engine
from ..queues.services import delete_prefix, postgres_schema, redis_url, require_redis, scratch_prefix

#: fast health timings for tests (seconds)
FAST = {
    "ABACO_HEARTBEAT_INTERVAL": "0.5",
    "ABACO_WORKER_DEAD_AFTER": "3",
    "ABACO_HEALTH_INTERVAL": "1",
    "ABACO_SPAWN_TIMEOUT": "20",
    "ABACO_AUTOSCALE_INTERVAL": "0.5",
    "ABACO_WORKER_IDLE_TIMEOUT": "2",
    "ABACO_SHUTDOWN_GRACE": "1",
    "ABACO_STOP_GRACE": "1",
    "ABACO_LOG_POLL_INTERVAL": "1",
}


class Proc:
    """One ``abaco <role>`` subprocess with its own log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "abaco_core.cli", *self.argv],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster(ApiHelpers):
    """The processes of one platform, and an HTTP client on its API."""

    def __init__(self, tmp: Path, database_url: str, prefix: str, extra_env: dict[str, str]) -> None:
        self.tmp = tmp
        self.prefix = prefix
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ABACO_")},
            "ABACO_REDIS_URL": redis_url(),
            "ABACO_REDIS_QUEUE_PREFIX": prefix,
            "ABACO_DATABASE_URL": database_url,
            "ABACO_BACKEND": "docker",
            **FAST,
            **extra_env,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env["ABACO_API_SERVER"] = self.url
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self.procs: list[Proc] = []
        self.api: Proc | None = None
        self.scheduler: Proc | None = None
        self.workers: list[Proc] = []

    def _proc(self, name: str, argv: list[str], **env: str) -> Proc:
        proc = Proc(name, argv, {**self.env, **env}, self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc.start()

    def start_api(self, timeout: float = 30, **env: str) -> Proc:
        self.api = self._proc(f"api-{len(self.procs)}", ["api", "--port", str(self.port)], **env)
        api = self.api
        self.wait_answering(lambda: api.alive, "abaco api", timeout)
        return api

    def start_scheduler(self) -> Proc:
        self.scheduler = self._proc(f"scheduler-{len(self.procs)}", ["scheduler"])
        return self.scheduler

    def start_worker(self, *extra: str) -> Proc:
        index = len(self.workers)
        data_dir = self.tmp / f"worker-{index}"
        worker = self._proc(
            f"worker-{index}-{len(self.procs)}",
            ["worker", "--data-dir", str(data_dir), *extra],
            ABACO_HOST_ID=f"host-{index}",
        )
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-3000:]}" for p in self.procs)

    def diagnostics(self) -> str:
        return self.logs()

    # -- API helpers ---------------------------------------------------------------------------

    def send(self, actor_id: str, message: str) -> str:
        r = self.client.post(f"/actors/{actor_id}/messages", data={"message": message})
        assert r.status_code == 200, r.text
        return r.json()["result"]["execution_id"]

    def execution(self, actor_id: str, execution_id: str) -> dict:
        r = self.client.get(f"/actors/{actor_id}/executions/{execution_id}")
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def wait_actor_ready(self, actor_id: str, timeout: float = 60) -> dict:
        actor = self.wait_actor(actor_id, ("READY",), timeout)
        assert actor["status"] == "READY", f"actor {actor_id} still {actor['status']}:\n{self.logs()}"
        return actor

    def workers_of(self, actor_id: str) -> list[dict]:
        r = self.client.get(f"/actors/{actor_id}/workers")
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.client.close()


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator:
    """``cluster_factory(**env)``: a Cluster on a fresh PostgreSQL schema and Redis prefix;
    start its processes with ``start_api``, ``start_worker``, ``start_scheduler``."""
    require_engine("docker")
    require_redis()
    made: list[Cluster] = []
    prefixes: list[str] = []
    with postgres_schema() as database_url:

        def factory(**env: str) -> Cluster:
            prefix = scratch_prefix()
            prefixes.append(prefix)
            cluster = Cluster(tmp_path, database_url, prefix, env)
            made.append(cluster)
            return cluster

        try:
            yield factory
        finally:
            for cluster in made:
                cluster.close()
            _remove_containers(database_url)
    for prefix in prefixes:
        delete_prefix(prefix)
        _delete_rq_keys(prefix)


def _delete_rq_keys(prefix: str) -> None:
    """RQ's own keys for the command queues of ``prefix`` (RQ names them ``rq:<kind>:<queue>``)."""
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        keys = list(client.scan_iter(match=f"rq:*{prefix}*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


def _remove_containers(database_url: str) -> None:
    """Containers a killed worker left on Docker (labelled with the platform's instance id)."""
    import hashlib

    import docker

    instance = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    client = docker.from_env()
    try:
        for item in client.api.containers(all=True, filters={"label": f"abaco.platform={instance}"}):
            try:
                client.api.remove_container(item["Id"], force=True)
            except docker.errors.APIError:
                pass
    finally:
        client.close()
