"""Capabilities in the conformance kit: the ``requires`` marker, the skip rule, and the ledger
of what a run claimed and exercised.

A backend claims capabilities in its ``capabilities`` attribute (a subset of
:data:`abaco_core.records.CAPABILITIES`). A suite test marked ``@requires("mounts")`` runs only
against a backend that claims ``mounts``; otherwise it is skipped with the reason
"backend X does not claim capability mounts". The capabilities on the backend object are the
one source of truth (no separate requirements class, unlike SQLAlchemy's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pytest

from abaco_core.records import CAPABILITIES

__all__ = ["LEDGER", "MARKER", "NEEDED", "CapabilityLedger", "needed_by", "requires", "skip_reason"]

#: name of the pytest marker behind :func:`requires`
MARKER = "abaco_requires"


def requires(*capabilities: str) -> pytest.MarkDecorator:
    """Mark a suite test as needing every one of ``capabilities``.

    A misspelt capability is an error at import time, not a test that silently never runs.
    """
    unknown = sorted(set(capabilities) - CAPABILITIES)
    if not capabilities or unknown:
        raise ValueError(
            f"requires() takes capability names from abaco_core.records.CAPABILITIES; "
            f"unknown: {unknown or 'none given'}"
        )
    return getattr(pytest.mark, MARKER)(*capabilities)


def needed_by(item: pytest.Item) -> frozenset[str]:
    """Every capability the ``requires`` markers of a test (and of its class) name."""
    return frozenset(name for mark in item.iter_markers(MARKER) for name in mark.args)


def skip_reason(backend: str, claimed: Iterable[str], needed: Iterable[str]) -> str | None:
    """Why a test needing ``needed`` cannot run against ``backend``, or ``None`` if it can."""
    missing = sorted(set(needed) - set(claimed))
    if not missing:
        return None
    plural = "capability" if len(missing) == 1 else "capabilities"
    return f"backend {backend} does not claim {plural} {', '.join(missing)}"


class CapabilityLedger:
    """What each backend of a run claimed, which capabilities passing tests exercised, and
    which were skipped because they were not claimed."""

    def __init__(self) -> None:
        self.claimed: dict[str, frozenset[str]] = {}
        self.exercised: dict[str, set[str]] = defaultdict(set)
        self.unclaimed: dict[str, set[str]] = defaultdict(set)
        self.tests: dict[str, int] = defaultdict(int)

    def claim(self, backend: str, capabilities: Iterable[str]) -> None:
        self.claimed[backend] = frozenset(capabilities)

    def skipped(self, backend: str, needed: Iterable[str]) -> None:
        self.unclaimed[backend].update(set(needed) - self.claimed.get(backend, frozenset()))

    def passed(self, backend: str, needed: Iterable[str]) -> None:
        self.tests[backend] += 1
        self.exercised[backend].update(needed)

    def summary(self) -> list[str]:
        """One line per backend, for the end of the session."""
        lines = []
        for backend, claimed in sorted(self.claimed.items()):
            exercised = self.exercised[backend] & claimed
            parts = [
                f"backend {backend}: {self.tests[backend]} passed",
                f"claimed {_names(claimed)}",
                f"exercised {_names(exercised)}",
            ]
            if claimed - exercised:
                parts.append(f"claimed but not exercised {_names(claimed - exercised)}")
            if self.unclaimed[backend]:
                parts.append(f"not claimed, tests skipped {_names(self.unclaimed[backend])}")
            lines.append("; ".join(parts))
        return lines


def _names(capabilities: Iterable[str]) -> str:
    found = sorted(capabilities)
    return f"{len(found)} ({', '.join(found)})" if found else "0"


#: where the pytest plugin keeps the run's ledger (``config.stash[LEDGER]``)
LEDGER = pytest.StashKey[CapabilityLedger]()
#: on each suite test: the backend's name and the capabilities the test needs
NEEDED = pytest.StashKey[tuple[str, frozenset[str]]]()
