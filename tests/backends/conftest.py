"""Real engines for the backend tests: the Docker and Podman backends, built the way the platform
builds them (through the conformance kit's ``build_backend``), one per engine for the session.

An unreachable engine skips its tests, unless ``ABACO_REQUIRE_ENGINES=1`` (CI) or
``--abaco-require-engine``: then they fail. Missing test images are built once with
``images/build.sh <engine>``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from abaco_harness.engines import build_backend, unavailable
from abaco_harness.fixtures import DEFAULT_IMAGES
from abaco_harness.runner import ContainerRunner

from abaco_core.errors import AbacoError
from abaco_core.interfaces import ContainerBackend

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "images" / "build.sh"
TEST_IMAGES = sorted({image for role, image in DEFAULT_IMAGES.items() if role != "missing"})

_backends: dict[str, ContainerBackend | str] = {}


def _prepare(name: str) -> ContainerBackend | str:
    """The ready backend (test images present), or why it cannot be used."""
    try:
        backend = build_backend(name)
    except AbacoError as exc:
        return str(exc)
    missing = [image for image in TEST_IMAGES if not backend.image_exists(image)]
    if missing:
        result = subprocess.run(
            ["bash", str(BUILD_SCRIPT), name], capture_output=True, text=True, timeout=600, check=False
        )
        missing = [image for image in TEST_IMAGES if not backend.image_exists(image)]
        if missing:
            backend.close()
            return (
                f"test images {missing} are missing on {name} and images/build.sh failed "
                f"(rc={result.returncode}): {result.stderr[-2000:]}"
            )
    return backend


def engine_backend(name: str, config: pytest.Config) -> ContainerBackend:
    """The session's backend for engine ``name``; skips (or fails) when it cannot be used."""
    if name not in _backends:
        _backends[name] = _prepare(name)
    found = _backends[name]
    if isinstance(found, str):
        unavailable(config, found)
    return found


def pytest_sessionfinish(session: pytest.Session) -> None:
    for found in _backends.values():
        if not isinstance(found, str):
            found.close()


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("podman", marks=pytest.mark.podman),
    ]
)
def backend(request: pytest.FixtureRequest) -> ContainerBackend:
    """Each engine's backend, for the engine-specific tests (not the conformance suite)."""
    return engine_backend(request.param, request.config)


@pytest.fixture
def runner(request: pytest.FixtureRequest, backend: ContainerBackend) -> Iterator[ContainerRunner]:
    """The kit's container runner (labels, image roles, cleanup) outside the suite."""
    run = ContainerRunner(backend, DEFAULT_IMAGES, request.config)
    yield run
    run.cleanup()
