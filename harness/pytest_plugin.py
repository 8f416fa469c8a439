"""pytest plugin of the conformance kit: choose the implementation under test by name.

``pytest --abaco-backend=docker`` binds the backend suites to the registered backend of
that name (``fake``, ``docker``, ``podman`` or any third-party plugin's).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("abaco", "abaco conformance kit")
    group.addoption("--abaco-backend", default=None, help="container backend under test (registered name)")
    group.addoption(
        "--abaco-require-engine",
        action="store_true",
        default=False,
        help="fail instead of skipping when the backend's engine is unreachable",
    )


@pytest.fixture(scope="session")
def abaco_backend_name(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--abaco-backend")
