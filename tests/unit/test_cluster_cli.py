"""Cluster processes refuse settings they cannot work with: exit code 2, one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ABACO_")}
    return subprocess.run(
        [sys.executable, "-m", "abaco_core.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("role", ["api", "worker", "scheduler"])
def test_the_embedded_queue_is_refused(role, tmp_path):
    done = run([role, "--data-dir", str(tmp_path)])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "the 'local' queue serves one process only" in lines[0], done.stderr
    assert "ABACO_REDIS_URL" in lines[0]


def test_the_redis_queue_without_rq_is_refused(tmp_path):
    done = run(["worker", "--data-dir", str(tmp_path)], ABACO_QUEUE="redis")
    assert done.returncode == 2 and "ABACO_QUEUE=rq" in done.stderr, done.stderr


@pytest.mark.parametrize("role", ["api", "worker", "scheduler"])
def test_a_store_per_process_is_refused(role, tmp_path):
    done = run([role, "--data-dir", str(tmp_path)], ABACO_REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ABACO_DATABASE_URL=postgresql://" in lines[0], done.stderr


@pytest.mark.parametrize(("env", "allowed"), [({}, False), ({"ABACO_WEBHOOK_ALLOW_PRIVATE": "true"}, True)])
def test_cluster_processes_send_no_webhooks_to_private_addresses_unless_told(monkeypatch, env, allowed):
    """Its default follows the API's authentication, which the scheduler (the process that
    delivers) does not serve: a cluster process never assumes the single-user mode."""
    from abaco_core.cli import check_cluster
    from abaco_core.plugins import build_plugin_manager, settings_from

    for key in list(os.environ):
        if key.startswith("ABACO_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pm = build_plugin_manager()
    settings = settings_from(pm, redis_url="redis://127.0.0.1:1/0", database_url="postgresql://u@h/db")
    assert settings.webhook_private_allowed  # what abaco up on loopback (auth none) would do
    for role in ("api", "worker", "scheduler"):
        assert check_cluster(pm, settings, role).webhook_private_allowed is allowed
