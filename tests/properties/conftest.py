"""Hypothesis profiles of the ordering state machines.

The profiles are registered here and applied per test class (never loaded globally, so
other test directories keep theirs). ``ABACO_ORDERING_PROFILE`` picks another one for a run:

* ``ordering`` -- the in-memory store and the local queue (default for that binding);
* ``ordering-services`` -- PostgreSQL and Redis, fewer examples: each step is a few round trips;
* ``ordering-thorough`` -- many more examples and longer programs, for a nightly run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

settings.register_profile("ordering", max_examples=200, stateful_step_count=50, **_COMMON)
settings.register_profile("ordering-services", max_examples=80, stateful_step_count=40, **_COMMON)
settings.register_profile("ordering-thorough", max_examples=2000, stateful_step_count=100, **_COMMON)


def ordering_profile(default: str) -> settings:
    """The profile for one binding: ``default`` unless ``ABACO_ORDERING_PROFILE`` names another."""
    return settings.get_profile(os.environ.get("ABACO_ORDERING_PROFILE") or default)
