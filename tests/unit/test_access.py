"""Permission levels and identities (spec §3.2–3.3, Q15)."""

from __future__ import annotations

import pytest

from abaco_core.access import (
    ADMIN_ROLE,
    ALL_ROLE,
    PRIVILEGED_ROLE,
    USER_ROLE,
    WORLD,
    Identity,
    Level,
    effective_level,
)
from abaco_core.errors import InvalidRequest


def test_levels_are_ordered_and_parsed():
    assert Level.NONE < Level.READ < Level.EXECUTE < Level.UPDATE
    assert Level.parse("execute") is Level.EXECUTE
    with pytest.raises(
        InvalidRequest, match=r"Invalid permission level: ALL\. The valid values are NONE, READ"
    ):
        Level.parse("ALL")
    with pytest.raises(InvalidRequest, match="The valid values are NONE, READ, EXECUTE.$"):
        Level.parse("UPDATE", allowed=[Level.NONE, Level.READ, Level.EXECUTE])
    with pytest.raises(InvalidRequest):
        Level.parse(3)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({}, Level.NONE),
        ({"alice": "READ"}, Level.READ),
        ({WORLD: "EXECUTE"}, Level.EXECUTE),
        # the world level is a floor whatever the order (Q15) ...
        ({WORLD: "READ", "alice": "UPDATE"}, Level.UPDATE),
        ({"alice": "NONE", WORLD: "READ"}, Level.READ),
        # ... and never more than itself
        ({WORLD: "READ", "bob": "UPDATE"}, Level.READ),
    ],
)
def test_effective_level(entries, expected):
    assert effective_level(entries, "alice") is expected


def test_roles():
    assert Identity("t", "u", (ALL_ROLE,)).is_admin
    assert Identity("t", "u", (ADMIN_ROLE,)).is_privileged
    assert Identity("t", "u", (PRIVILEGED_ROLE,)).is_privileged
    assert not Identity("t", "u", (PRIVILEGED_ROLE,)).is_admin
    assert not Identity("t", "u", (USER_ROLE,)).is_privileged
