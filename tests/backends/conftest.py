"""Fixtures for the container-backend tests: real engines, real images, no fakes.

Each backend is built the way the platform builds it: plugin manager → settings → the
``abaco_container_backends`` registry → the record's factory. When an engine is unreachable
the tests skip, unless ``ABACO_REQUIRE_ENGINES=1`` (CI), where they fail. Missing test images
are built once with ``images/build.sh <engine>``.

Every container a test starts carries the labels ``abaco.test=1`` and
``abaco.test.session=<this run>`` and is removed when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from abaco_core.errors import AbacoError
from abaco_core.interfaces import ContainerBackend
from abaco_core.plugins import build_plugin_manager, registry, settings_from
from abaco_core.records import ContainerRef, ContainerSpec, ExitInfo

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "images" / "build.sh"

BUSYBOX = "abaco-test/busybox:1"
EXIT = "abaco-test/exit:1"
SLEEP = "abaco-test/sleep:1"
SH = "abaco-test/sh:1"
PYTHON = "abaco-test/python:1"
PYEXEC = "abaco-test/pyexec:1"
TEST_IMAGES = (BUSYBOX, EXIT, SLEEP, SH, PYTHON, PYEXEC)

SESSION = uuid.uuid4().hex[:12]
TEST_LABELS = {"abaco.test": "1", "abaco.test.session": SESSION}


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment requires the engines (CI sets ABACO_REQUIRE_ENGINES=1)."""
    if os.environ.get("ABACO_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{reason} (ABACO_REQUIRE_ENGINES=1)", pytrace=False)
    pytest.skip(reason)


_backends: dict[str, ContainerBackend | str] = {}


def _build_backend(name: str) -> ContainerBackend | str:
    """The backend, or why it cannot be used."""
    pm = build_plugin_manager()
    settings = settings_from(pm, backend=name)
    known = registry(pm.hook.abaco_container_backends(), "container backend")
    if name not in known:
        return f"no container backend named {name!r} is registered (installed: {sorted(known)})"
    info = known[name]
    if info.probe is not None and not info.probe(settings):
        return f"the {name} engine is not reachable"
    backend = info.factory(settings)
    try:
        backend.ping()
    except AbacoError as exc:
        return f"the {name} engine does not answer: {exc}"
    missing = [image for image in TEST_IMAGES if not backend.image_exists(image)]
    if missing:
        result = subprocess.run(
            ["bash", str(BUILD_SCRIPT), name], capture_output=True, text=True, timeout=600, check=False
        )
        missing = [image for image in TEST_IMAGES if not backend.image_exists(image)]
        if missing:
            return (
                f"test images {missing} are missing on {name} and images/build.sh failed "
                f"(rc={result.returncode}): {result.stderr[-2000:]}"
            )
    return backend


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("podman", marks=pytest.mark.podman),
    ],
)
def backend(request: pytest.FixtureRequest) -> ContainerBackend:
    """A ready backend per engine, shared by the session."""
    name = request.param
    if name not in _backends:
        _backends[name] = _build_backend(name)
    found = _backends[name]
    if isinstance(found, str):
        unavailable(found)
    assert not isinstance(found, str)
    return found


def pytest_sessionfinish(session: pytest.Session) -> None:
    for found in _backends.values():
        if not isinstance(found, str):
            found.close()


@dataclass
class Run:
    ref: ContainerRef
    exit: ExitInfo | None
    logs: bytes = b""

    @property
    def text(self) -> str:
        return self.logs.decode("utf-8", "replace")


@dataclass
class Runner:
    """Starts containers for one test and removes them afterwards."""

    backend: ContainerBackend
    case: str
    started: list[ContainerRef] = field(default_factory=list)

    def spec(self, image: str, environment: dict[str, str | None] | None = None, **kwargs) -> ContainerSpec:
        labels = {**TEST_LABELS, "abaco.test.case": self.case, **kwargs.pop("labels", {})}
        return ContainerSpec(image=image, environment=dict(environment or {}), labels=labels, **kwargs)

    def start(self, image: str, environment: dict[str, str | None] | None = None, **kwargs) -> ContainerRef:
        ref = self.backend.start(self.spec(image, environment, **kwargs))
        self.started.append(ref)
        return ref

    def run(
        self, image: str, environment: dict[str, str | None] | None = None, timeout: float = 30, **kwargs
    ) -> Run:
        """Start, wait (at most ``timeout`` s) and read the logs."""
        ref = self.start(image, environment, **kwargs)
        exit_info = self.backend.wait(ref, timeout=timeout)
        assert exit_info is not None, f"{image} still running after {timeout} s"
        return Run(ref, exit_info, self.backend.logs(ref))

    def cleanup(self) -> None:
        for ref in self.started:
            try:
                self.backend.remove(ref)
            except AbacoError:
                pass


@pytest.fixture
def runner(backend: ContainerBackend, request: pytest.FixtureRequest) -> Iterator[Runner]:
    case = uuid.uuid4().hex[:12]
    run = Runner(backend, case)
    yield run
    run.cleanup()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; return that (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
