"""The fixtures of the container-backend suite, in two tiers (fsspec's layout).

* :class:`ContainerBackendFixtures` holds what a binding **must** override (``backend``) and
  what it **may** override (``images``, ``capabilities``).
* :class:`BaseContainerBackendFixtures` holds what no binding overrides: the capability gate
  and the ``containers`` runner that labels and removes what a test starts.

A binding is a test class: ``class TestMine(ContainerBackendSuite)`` with a ``backend``
fixture. The suite's tests ask only for these fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import pytest

from abaco_core.interfaces import ContainerBackend

from .capabilities import LEDGER, NEEDED, needed_by, skip_reason
from .runner import ContainerRunner, sweep

__all__ = [
    "DEFAULT_IMAGES",
    "ROLES",
    "BaseContainerBackendFixtures",
    "ContainerBackendFixtures",
    "image_options",
]

#: what a container of each image role does; the suite relies on exactly this
ROLES: Mapping[str, str] = MappingProxyType(
    {
        "echo": "prints 'MSG=$MSG', then its whole environment sorted, one VAR=value a line ('env | sort'); "
        "exit 0",
        "exit": "prints 'MSG=$MSG' on stdout and 'exiting with N' on stderr, exits with N = $EXIT_CODE",
        "sleep": "sleeps $SLEEP seconds, then prints 'MSG=$MSG'; SIGTERM makes it print 'terminated' and exit "
        "143 at once, unless IGNORE_TERM=1 (then only SIGKILL ends it)",
        "emit": "writes $STDOUT to stdout $REPEAT times (default 1), then $STDERR to stderr, byte for byte "
        "(printf %s), and exits with $EXIT_CODE (default 0); the suite also sets $SCRIPT to the shell "
        "code doing this, for the default sh image",
        "sh": "POSIX shell with coreutils (busybox), running $SCRIPT as root unless told otherwise",
        "python": "Python 3 running the code in $PYCODE as root unless told otherwise",
        "missing": "an image that is not present and cannot be pulled",
    }
)

#: the abaco test images (``images/build.sh`` in the abaco repository builds them)
DEFAULT_IMAGES: Mapping[str, str] = MappingProxyType(
    {
        "echo": "abaco-test/busybox:1",
        "exit": "abaco-test/exit:1",
        "sleep": "abaco-test/sleep:1",
        "emit": "abaco-test/sh:1",
        "sh": "abaco-test/sh:1",
        "python": "abaco-test/pyexec:1",
        "missing": "abaco-harness/no-such-image:1",
    }
)

_CHECKED = pytest.StashKey[set[tuple[str, str]]]()
_SWEPT = pytest.StashKey[set[tuple[str, str]]]()


def image_options(config: pytest.Config) -> dict[str, str]:
    """The ``--abaco-image ROLE=IMAGE`` options as a mapping."""
    found: dict[str, str] = {}
    for option in config.getoption("abaco_images", None) or ():
        role, sep, image = option.partition("=")
        if not sep or role not in ROLES or not image:
            raise pytest.UsageError(
                f"--abaco-image takes ROLE=IMAGE with ROLE in {sorted(ROLES)}; got {option!r}"
            )
        found[role] = image
    return found


class BaseContainerBackendFixtures:
    """Fixtures no binding overrides."""

    @pytest.fixture(autouse=True)
    def _abaco_capability_gate(
        self, request: pytest.FixtureRequest, backend: ContainerBackend, capabilities: frozenset[str]
    ) -> None:
        """Skip a test whose ``requires`` capabilities the backend does not claim, and record
        what was claimed for the summary at the end of the session."""
        ledger = request.config.stash.get(LEDGER, None)
        needed = needed_by(request.node)
        request.node.stash[NEEDED] = (backend.name, needed)
        if ledger is not None:
            ledger.claim(backend.name, capabilities)
        reason = skip_reason(backend.name, capabilities, needed)
        if reason is not None:
            if ledger is not None:
                ledger.skipped(backend.name, needed)
            pytest.skip(reason)

    @pytest.fixture
    def containers(
        self, request: pytest.FixtureRequest, backend: ContainerBackend, images: Mapping[str, str]
    ) -> Iterator[ContainerRunner]:
        """Starts containers by image role; removes them after the test."""
        session = request.session
        runner = ContainerRunner(backend, images, request.config, session.stash.setdefault(_CHECKED, set()))
        swept = session.stash.setdefault(_SWEPT, set())
        key = (backend.name, backend.location)
        if key not in swept:
            swept.add(key)
            session.addfinalizer(lambda: sweep(backend))
        yield runner
        runner.cleanup()


class ContainerBackendFixtures(BaseContainerBackendFixtures):
    """Fixtures a binding must (``backend``) or may (``images``, ``capabilities``) override."""

    @pytest.fixture
    def backend(self) -> ContainerBackend:
        """The backend under test. Must be overridden."""
        raise NotImplementedError(
            "a binding of the abaco conformance suite must override the 'backend' fixture "
            "(or run the kit in zero-code mode: pytest --pyargs abaco_harness.conformance --abaco-backend=NAME)"
        )

    @pytest.fixture
    def images(self, request: pytest.FixtureRequest, backend: ContainerBackend) -> Mapping[str, str]:
        """Image per role (see :data:`ROLES`): the abaco test images, or the backend's own
        ``conformance_images`` when it has them (the fake does), then ``--abaco-image`` options."""
        base = getattr(backend, "conformance_images", None) or DEFAULT_IMAGES
        return {**base, **image_options(request.config)}

    @pytest.fixture
    def capabilities(self, backend: ContainerBackend) -> frozenset[str]:
        """The capabilities to test: by default every one the backend claims. Narrow it to
        skip (with the reason) tests of a capability known broken on one engine version."""
        return frozenset(backend.capabilities)
