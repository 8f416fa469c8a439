"""Schedule tests: a plugin manager with the built-in grammars, an injected clock, and the
hypothesis profile (no deadline: CI machines stall; ``HYPOTHESIS_PROFILE=dev`` runs fewer
examples, ``HYPOTHESIS_PROFILE=thorough`` many more)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings

from abaco_core.plugins import build_plugin_manager

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=30)
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class FakeClock:
    """The injected clock: a callable returning the current aware UTC time, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture(scope="session")
def pm():
    return build_plugin_manager(load_entrypoints=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 5, 1, 13, 27, 12, tzinfo=UTC))
