"""Restricted registration fields (spec §3.5, Q9, Q10): fields only admins and privileged users
may set on an actor."""

from __future__ import annotations

from .access import Identity
from .actor_fields import MISSING, FieldSource, parse_field
from .errors import PermissionDenied

__all__ = ["RESTRICTED_FIELDS", "check_restricted_fields"]

_PREFIX = "Not authorized -- only admins and privileged users can "

#: (field, message), checked in this order
RESTRICTED_FIELDS: tuple[tuple[str, str], ...] = (
    ("privileged", _PREFIX + "make privileged actors."),
    ("max_workers", _PREFIX + "set max workers."),
    ("max_cpus", _PREFIX + "set max CPUs."),
    ("mem_limit", _PREFIX + "set mem limit."),
    ("queue", _PREFIX + "set queue."),
    ("use_container_uid", _PREFIX + "use container uid."),
)


def check_restricted_fields(source: FieldSource, who: Identity, *, case: str, use_tas_uid: bool) -> None:
    """Refuse (400) a body that sets a restricted field, unless the caller is admin or
    privileged. A field counts as set when its *parsed* value is truthy (Q9: ``"False"`` is
    false); a value that does not parse is left to the field validation, which names it.
    ``use_container_uid`` is restricted only when ``use_tas_uid`` is on (Q10)."""
    if who.is_privileged:
        return
    for field, message in RESTRICTED_FIELDS:
        if field == "use_container_uid" and not use_tas_uid:
            continue
        try:
            value = parse_field(source, field, case)
        except ValueError:
            continue
        if value is not MISSING and value:
            raise PermissionDenied(message)
