"""Who calls and what they may do: identities, roles and permission levels (spec §3).

Plain values only; the HTTP side (authenticating a request, checking a route) lives in
``abaco_core.api``, the storage of permissions in the store (``Store.get_permissions`` ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from .errors import InvalidRequest

if TYPE_CHECKING:
    from .interfaces import Store

__all__ = [
    "ADMIN_ROLE",
    "ALL_ROLE",
    "BASIC_ROLES",
    "EVERYONE_ROLE",
    "LIMITED_ROLE",
    "PRIVILEGED_ROLE",
    "USER_ROLE",
    "WORLD",
    "Identity",
    "Level",
    "effective_level",
    "readable_keys",
]

#: ``access_control = none``: the caller is everything (spec §3.1, §3.2)
ALL_ROLE = "ALL"
ADMIN_ROLE = "Internal/abaco-admin"
PRIVILEGED_ROLE = "Internal/abaco-privileged"
#: the default ``[web] user_role``
USER_ROLE = "Internal/abaco-user"
LIMITED_ROLE = "Internal/abaco-limited"
EVERYONE_ROLE = "Internal/everyone"
BASIC_ROLES = frozenset({USER_ROLE, LIMITED_ROLE})

#: the special user whose level every user has at least (Q15)
WORLD = "ABACO_WORLD"


class Level(IntEnum):
    """Permission levels, ordered (spec §3.3)."""

    NONE = 0
    READ = 1
    EXECUTE = 2
    UPDATE = 3

    @classmethod
    def parse(
        cls, value: object, *, allowed: Iterable[Level] | None = None, what: str = "permission"
    ) -> Level:
        """``"READ"`` (any case) → ``Level.READ``; anything else is a 400 naming the valid values."""
        choices = list(allowed) if allowed is not None else list(cls)
        names = ", ".join(level.name for level in choices)
        if isinstance(value, str):
            try:
                level = cls[value.strip().upper()]
            except KeyError:
                level = None
            if level is not None and level in choices:
                return level
        raise InvalidRequest(f"Invalid {what} level: {value}. The valid values are {names}.")


def effective_level(permissions: Mapping[str, str | Level], username: str) -> Level:
    """The caller's level on an object: the max of their own entry and the ``ABACO_WORLD``
    entry, whatever the order of the entries (Q15). No entry at all → ``NONE``."""

    def level(name: str) -> Level:
        value = permissions.get(name)
        if value is None:
            return Level.NONE
        return value if isinstance(value, Level) else Level[str(value)]

    return max(level(username), level(WORLD))


def readable_keys(store: Store, tenant: str, kind: str, username: str) -> set[str]:
    """The keys of the objects of a kind on which ``username`` has at least READ, by an own
    entry or ``ABACO_WORLD`` (Q15); roles play no part (spec §5.1, Q13)."""
    found = store.permissions_of(tenant, kind, [username, WORLD])
    return {key for key, entries in found.items() if effective_level(entries, username) >= Level.READ}


@dataclass(frozen=True)
class Identity:
    """The caller of one request, once authenticated.

    ``roles`` are role strings as in spec §3.2. ``jwt_header_name`` is the header the
    identity came from (for ``_abaco_jwt_header_name``), ``nonce`` the id of the nonce that
    authenticated the request, if one did.
    """

    tenant: str
    username: str
    roles: tuple[str, ...] = ()
    jwt_header_name: str = ""
    nonce: str | None = None
    #: how the caller was recognised: ``none``, ``token``, ``jwt``, ``nonce`` ...
    method: str = "none"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles or ALL_ROLE in self.roles

    @property
    def is_privileged(self) -> bool:
        return self.is_admin or PRIVILEGED_ROLE in self.roles
