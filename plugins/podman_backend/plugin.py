"""Hook implementations of the Podman backend. Cheap to import: no podman-py here."""

from __future__ import annotations

import os

import abaco_core
from abaco_core.containers import engine_answers, first_existing
from abaco_core.records import ContainerBackendInfo
from abaco_core.settings import Settings, SettingSpec

#: the rootful service socket; the rootless one is under $XDG_RUNTIME_DIR
ROOT_SOCKET = "/run/podman/podman.sock"


def default_url() -> str:
    """``$CONTAINER_HOST`` when it is a ``unix://`` URL, else the first existing of the rootful
    and the rootless (``$XDG_RUNTIME_DIR/podman/podman.sock``) service sockets."""
    host = os.environ.get("CONTAINER_HOST", "")
    if host.startswith("unix://"):
        return host
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    rootless = os.path.join(runtime_dir, "podman", "podman.sock") if runtime_dir else None
    return f"unix://{first_existing((ROOT_SOCKET, rootless)) or ROOT_SOCKET}"


def _url(settings: Settings) -> str:
    return settings.get("podman_url") or default_url()


def _factory(settings: Settings):
    from .backend import PodmanBackend

    return PodmanBackend(_url(settings))


def _probe(settings: Settings) -> bool:
    return engine_answers(_url(settings))


@abaco_core.hookimpl
def abaco_settings():
    return [
        SettingSpec(
            "podman_url",
            default_url(),
            "Podman REST service URL (default: $CONTAINER_HOST if unix://, else /run/podman/podman.sock "
            "or $XDG_RUNTIME_DIR/podman/podman.sock)",
        )
    ]


@abaco_core.hookimpl
def abaco_container_backends():
    return [
        ContainerBackendInfo(
            name="podman",
            factory=_factory,
            description="Podman REST service through podman-py",
            probe=_probe,
            priority=20,
        )
    ]
