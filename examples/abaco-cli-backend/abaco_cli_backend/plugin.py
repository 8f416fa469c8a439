"""Hook implementations: cheap to import, nothing runs until the backend is chosen."""

from __future__ import annotations

import shutil
import subprocess

import abaco_core
from abaco_core import ContainerBackendInfo, Settings, SettingSpec


def _host(settings: Settings) -> str:
    return settings.get("docker_cli_host") or ""


def _factory(settings: Settings):
    from .backend import DockerCliBackend

    return DockerCliBackend(_host(settings) or None)


def _probe(settings: Settings) -> bool:
    if shutil.which("docker") is None:
        return False
    host = ["--host", _host(settings)] if _host(settings) else []
    try:
        done = subprocess.run(["docker", *host, "version"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@abaco_core.hookimpl
def abaco_settings():
    return [
        SettingSpec(
            "docker_cli_host", "", "daemon for the docker-cli backend (docker --host); default: the CLI's"
        )
    ]


@abaco_core.hookimpl
def abaco_container_backends():
    return [
        ContainerBackendInfo(
            name="docker-cli",
            factory=_factory,
            description="Docker through the docker command-line client (example plugin)",
            probe=_probe,
            priority=90,
        )
    ]
