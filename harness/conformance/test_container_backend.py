"""The container-backend suite bound to the backend named by ``--abaco-backend``."""

from __future__ import annotations

import pytest
from abaco_harness.suites.container_backend import ContainerBackendSuite

from abaco_core.interfaces import ContainerBackend


class TestContainerBackend(ContainerBackendSuite):
    @pytest.fixture
    def backend(self, abaco_backend: ContainerBackend) -> ContainerBackend:
        return abaco_backend
