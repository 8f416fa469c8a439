"""The kit tests itself: the container-backend suite against the reference FakeBackend, on
every run and without an engine (subclass mode, as a third party would bind it)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from abaco_harness import ContainerBackendSuite
from abaco_harness.fakes import FAKE_IMAGES, FakeBackend


class TestFakeBackend(ContainerBackendSuite):
    @pytest.fixture
    def backend(self) -> FakeBackend:
        return FakeBackend()

    @pytest.fixture
    def images(self) -> Mapping[str, str]:
        return FAKE_IMAGES
