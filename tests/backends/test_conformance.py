"""The in-tree engines pass the same conformance suite a third party runs (subclass mode)."""

from __future__ import annotations

import pytest
from abaco_harness import ContainerBackendSuite

from abaco_core.interfaces import ContainerBackend

from .conftest import engine_backend


class TestDockerBackend(ContainerBackendSuite):
    pytestmark = pytest.mark.docker

    @pytest.fixture
    def backend(self, request: pytest.FixtureRequest) -> ContainerBackend:
        return engine_backend("docker", request.config)


class TestPodmanBackend(ContainerBackendSuite):
    pytestmark = pytest.mark.podman

    @pytest.fixture
    def backend(self, request: pytest.FixtureRequest) -> ContainerBackend:
        return engine_backend("podman", request.config)
