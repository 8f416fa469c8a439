"""Building a registered backend by name, the way the platform does, and deciding what an
unreachable engine means for a test run: a skip, or (in CI) a failure."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from abaco_core.errors import AbacoError, BackendUnavailable, ConfigError
from abaco_core.interfaces import ContainerBackend
from abaco_core.plugins import backends, build_plugin_manager, settings_from

__all__ = ["REQUIRE_ENV", "build_backend", "engine_required", "unavailable"]

#: ``ABACO_REQUIRE_ENGINES=1`` has the effect of ``--abaco-require-engine``
REQUIRE_ENV = "ABACO_REQUIRE_ENGINES"


def engine_required(config: pytest.Config) -> bool:
    """Whether an unreachable engine (or missing test image) fails the run instead of skipping."""
    return bool(config.getoption("abaco_require_engine", False)) or os.environ.get(REQUIRE_ENV) == "1"


def unavailable(config: pytest.Config, reason: str) -> NoReturn:
    """Skip with ``reason``, or fail when the run requires the engine."""
    if engine_required(config):
        pytest.fail(f"{reason} (--abaco-require-engine / {REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def build_backend(name: str) -> ContainerBackend:
    """The backend registered as ``name``: plugin manager → settings → the registered record's
    factory, then a ``ping()``.

    Raise :class:`ConfigError` when no plugin registers ``name`` and
    :class:`BackendUnavailable` when the engine does not answer.
    """
    pm = build_plugin_manager()
    settings = settings_from(pm, backend=name)
    known = backends(pm)
    if name not in known:
        raise ConfigError(
            f"no container backend named {name!r} is registered "
            f"(installed: {', '.join(sorted(known)) or 'none'})"
        )
    try:
        backend = known[name].factory(settings)
    except AbacoError as exc:
        raise BackendUnavailable(f"backend {name} could not be built: {exc}") from exc
    try:
        backend.ping()
    except AbacoError as exc:
        backend.close()
        raise BackendUnavailable(f"the engine of backend {name} does not answer ping(): {exc}") from exc
    return backend
