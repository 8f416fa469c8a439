"""abaco's conformance kit: the suites every backend passes, their fixtures, the pytest plugin
and the in-memory reference implementations.

Names are imported on first use: the platform loads ``abaco_harness.fakes`` through the
``abaco`` entry points, and that must not import pytest.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_IMAGES",
    "FAKE_IMAGES",
    "ROLES",
    "RUN_ID",
    "RUN_LABEL",
    "BaseContainerBackendFixtures",
    "ContainerBackendFixtures",
    "ContainerBackendSuite",
    "ContainerRunner",
    "FakeBackend",
    "MemoryStore",
    "OrderingMachine",
    "QueueFixtures",
    "QueueSuite",
    "Run",
    "build_backend",
    "ordering_test_case",
    "requires",
    "unavailable",
]

_HOMES = {
    "DEFAULT_IMAGES": "fixtures",
    "ROLES": "fixtures",
    "BaseContainerBackendFixtures": "fixtures",
    "ContainerBackendFixtures": "fixtures",
    "ContainerBackendSuite": "suites.container_backend",
    "QueueFixtures": "suites.queue",
    "QueueSuite": "suites.queue",
    "OrderingMachine": "suites.ordering",
    "ordering_test_case": "suites.ordering",
    "ContainerRunner": "runner",
    "Run": "runner",
    "RUN_ID": "runner",
    "RUN_LABEL": "runner",
    "FAKE_IMAGES": "fakes",
    "FakeBackend": "fakes",
    "MemoryStore": "fakes",
    "build_backend": "engines",
    "unavailable": "engines",
    "requires": "capabilities",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
