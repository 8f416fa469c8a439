"""pytest plugin of the conformance kit (registered through the ``pytest11`` entry point).

* ``--abaco-backend=NAME`` names the registered backend that zero-code mode
  (``pytest --pyargs abaco_harness.conformance``) binds the suites to: ``fake``, ``docker``,
  ``podman`` or any third-party plugin's.
* ``--abaco-require-engine`` (or ``ABACO_REQUIRE_ENGINES=1``) turns "the engine does not answer"
  and "a test image is missing" from skips into failures, for CI.
* ``--abaco-image ROLE=IMAGE`` replaces the image of one role.
* The ``abaco_requires`` marker (written ``@requires(...)``) and, at the end of the session, one
  line per backend: the capabilities it claimed and those the passing tests exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from abaco_core.errors import AbacoError, BackendUnavailable
from abaco_core.interfaces import ContainerBackend

from .capabilities import LEDGER, MARKER, NEEDED, CapabilityLedger
from .engines import build_backend, unavailable
from .fixtures import image_options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("abaco", "abaco conformance kit")
    group.addoption(
        "--abaco-backend",
        dest="abaco_backend",
        default=None,
        metavar="NAME",
        help="container backend under test, by registered name (zero-code mode)",
    )
    group.addoption(
        "--abaco-require-engine",
        dest="abaco_require_engine",
        action="store_true",
        default=False,
        help="fail instead of skipping when the backend's engine does not answer ping() or a test image "
        "is missing (also: ABACO_REQUIRE_ENGINES=1)",
    )
    group.addoption(
        "--abaco-image",
        dest="abaco_images",
        action="append",
        default=[],
        metavar="ROLE=IMAGE",
        help="image for one role of the suites (echo, exit, sleep, emit, sh, python, missing); repeatable",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*capabilities): run only against a backend claiming every capability"
    )
    config.stash[LEDGER] = CapabilityLedger()
    image_options(config)  # a malformed --abaco-image is a usage error before any test runs


@pytest.fixture(scope="session")
def abaco_backend_name(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("abaco_backend")


@pytest.fixture(scope="session")
def abaco_backend(
    request: pytest.FixtureRequest, abaco_backend_name: str | None
) -> Iterator[ContainerBackend]:
    """The backend named by ``--abaco-backend``, built as the platform builds it, shared by
    the session."""
    if not abaco_backend_name:
        pytest.skip("no backend under test: pass --abaco-backend=NAME")
    try:
        backend = build_backend(abaco_backend_name)
    except BackendUnavailable as exc:
        problem, usage_error = str(exc), False
    except AbacoError as exc:  # no such backend: a usage error, never a skip
        problem, usage_error = str(exc), True
    else:
        problem = ""
    if problem:
        if usage_error:
            pytest.fail(problem, pytrace=False)
        unavailable(request.config, problem)
    yield backend
    backend.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    needed = item.stash.get(NEEDED, None)
    if needed is not None and report.when == "call" and report.passed:
        item.config.stash[LEDGER].passed(*needed)
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash[LEDGER].summary()
    if lines:
        terminalreporter.section("abaco conformance kit")
        for line in lines:
            terminalreporter.write_line(line)
