"""Starting containers for one suite test, and removing them.

Every container the kit creates carries ``abaco.harness=<run id>`` (and
``abaco.harness.case=<test case>``). Each test removes what it started; a session finalizer
then removes, per backend, whatever still carries this run's label: label-scoped, so it never
touches containers the kit did not create.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from abaco_core.errors import AbacoError
from abaco_core.interfaces import ContainerBackend
from abaco_core.records import ContainerRef, ContainerSpec, ExitInfo

from .engines import unavailable

__all__ = ["CASE_LABEL", "RUN_ID", "RUN_LABEL", "ContainerRunner", "Run", "sweep", "wait_until"]

#: this test session's id, carried by every container the kit creates
RUN_ID = uuid.uuid4().hex[:12]
RUN_LABEL = "abaco.harness"
CASE_LABEL = "abaco.harness.case"

T = TypeVar("T")


@dataclass(frozen=True)
class Run:
    """A container that ran to its end."""

    ref: ContainerRef
    exit: ExitInfo
    logs: bytes

    @property
    def text(self) -> str:
        return self.logs.decode("utf-8", "replace")


@dataclass
class ContainerRunner:
    """Starts containers of the image *roles* of the ``images`` fixture for one test, and
    removes them when the test ends."""

    backend: ContainerBackend
    images: Mapping[str, str]
    config: pytest.Config
    checked: set[tuple[str, str]] = field(default_factory=set)
    case: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: list[ContainerRef] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: RUN_ID, CASE_LABEL: self.case}

    def image(self, role: str) -> str:
        """The image of ``role``; skip when the ``images`` fixture names none, and skip (or fail,
        when the engine is required) when the backend does not have it."""
        image = self.images.get(role)
        if not image:
            pytest.skip(f"the images fixture names no image for the role {role!r}")
        key = (self.backend.location, image)
        if role != "missing" and key not in self.checked:
            if not self.backend.image_exists(image):
                unavailable(
                    self.config,
                    f"test image {image!r} (role {role!r}) is not present on backend {self.backend.name}: "
                    "build the test images (images/build.sh in the abaco repository) or override the "
                    "images fixture (--abaco-image ROLE=IMAGE)",
                )
            self.checked.add(key)
        return image

    def spec(
        self, role: str, environment: Mapping[str, str | None] | None = None, **kwargs: Any
    ) -> ContainerSpec:
        labels = {**self.labels, **kwargs.pop("labels", {})}
        return ContainerSpec(
            image=self.image(role), environment=dict(environment or {}), labels=labels, **kwargs
        )

    def start(
        self, role: str, environment: Mapping[str, str | None] | None = None, **kwargs: Any
    ) -> ContainerRef:
        return self.start_spec(self.spec(role, environment, **kwargs))

    def start_spec(self, spec: ContainerSpec) -> ContainerRef:
        ref = self.backend.start(spec)
        self.started.append(ref)
        return ref

    def wait(self, ref: ContainerRef, timeout: float = 60.0) -> ExitInfo:
        """The exit of ``ref``, which must come within ``timeout`` seconds."""
        exit_info = self.backend.wait(ref, timeout=timeout)
        assert exit_info is not None, f"container {ref.id} still runs after {timeout} s"
        return exit_info

    def run(
        self,
        role: str,
        environment: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        **kwargs: Any,
    ) -> Run:
        """Start, wait for the exit and read the logs."""
        ref = self.start(role, environment, **kwargs)
        exit_info = self.wait(ref, timeout)
        return Run(ref, exit_info, self.backend.logs(ref))

    def cleanup(self) -> None:
        for ref in self.started:
            try:
                self.backend.remove(ref)
            except AbacoError as exc:
                warnings.warn(f"abaco harness: could not remove container {ref.id}: {exc}", stacklevel=1)
        self.started.clear()


def sweep(backend: ContainerBackend) -> None:
    """Remove every container of this run left on ``backend`` (label-scoped)."""
    if "labels" not in backend.capabilities:
        return  # cannot be listed by label: the tests' own cleanup is all there is
    try:
        for ref in backend.list_containers({RUN_LABEL: RUN_ID}):
            backend.remove(ref)
    except AbacoError as exc:
        warnings.warn(f"abaco harness: could not sweep backend {backend.name}: {exc}", stacklevel=1)


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; return that (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
