"""Hook implementations of the Docker backend. Cheap to import: no docker-py here."""

from __future__ import annotations

import os

import abaco_core
from abaco_core.containers import engine_answers, first_existing
from abaco_core.records import ContainerBackendInfo
from abaco_core.settings import Settings, SettingSpec

#: where a local Docker Engine listens, in order of preference
SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def default_url() -> str:
    """``$DOCKER_HOST``, else the first existing of :data:`SOCKETS` (``unix://``)."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    return f"unix://{first_existing(SOCKETS) or SOCKETS[0]}"


def _url(settings: Settings) -> str:
    return settings.get("docker_url") or default_url()


def _factory(settings: Settings):
    from .backend import DockerBackend

    return DockerBackend(_url(settings))


def _probe(settings: Settings) -> bool:
    return engine_answers(_url(settings))


@abaco_core.hookimpl
def abaco_settings():
    return [
        SettingSpec(
            "docker_url",
            default_url(),
            "Docker Engine API URL (default: $DOCKER_HOST, else /var/run/docker.sock or /run/docker.sock)",
        )
    ]


@abaco_core.hookimpl
def abaco_container_backends():
    return [
        ContainerBackendInfo(
            name="docker",
            factory=_factory,
            description="Docker Engine through docker-py",
            probe=_probe,
            priority=10,
        )
    ]
