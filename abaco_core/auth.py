"""Choosing and running the configured authentication methods, and the required-role gate
(spec §3.1, §3.2). No web framework here: :mod:`abaco_core.api.authn` hands in an
:class:`~abaco_core.records.AuthRequest`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from .access import ADMIN_ROLE, ALL_ROLE, EVERYONE_ROLE, LIMITED_ROLE, PRIVILEGED_ROLE, Identity
from .errors import ConfigError, InvalidRequest
from .loopback import LocalOnly
from .records import AuthRequest
from .settings import Settings, is_loopback

if TYPE_CHECKING:
    import pluggy

    from .interfaces import AuthMethod, Store

__all__ = [
    "MISSING_ROLE",
    "Authenticator",
    "build_authenticator",
    "check_auth_settings",
    "known_roles",
    "require_known_role",
]

MISSING_ROLE = "Not authorized -- missing required role."


def check_auth_settings(settings: Settings) -> list[str]:
    """The method names to run, in order; a :class:`ConfigError` for a setup that must not
    start: ``none`` on a non-loopback address without ``allow_public_none``, methods listed
    after ``none`` (never reached), a method listed twice."""
    names = settings.auth_methods
    if not names:
        raise ConfigError("ABACO_AUTH names no authentication method")
    if len(set(names)) != len(names):
        raise ConfigError(f"ABACO_AUTH lists a method twice: {','.join(names)}")
    if "none" in names:
        if names[-1] != "none":
            raise ConfigError(
                "ABACO_AUTH: 'none' recognises every request, so the methods after it would never "
                "be tried; put it last"
            )
        if not is_loopback(settings.host) and not settings.allow_public_none:
            raise ConfigError(
                f"refusing to serve {settings.host} with ABACO_AUTH=none: every caller would be an "
                "admin. Choose token or jwt authentication (ABACO_AUTH / --auth), listen on "
                "127.0.0.1, or force it with ABACO_ALLOW_PUBLIC_NONE=true / --allow-public-none"
            )
    return names


def known_roles(settings: Settings) -> frozenset[str]:
    """Roles that let a caller in at all (spec §3.2)."""
    return frozenset({ALL_ROLE, ADMIN_ROLE, PRIVILEGED_ROLE, LIMITED_ROLE, settings.user_role})


def require_known_role(who: Identity, settings: Settings) -> Identity:
    """The identity with an empty role list replaced by ``Internal/everyone``; 400
    ``Not authorized -- missing required role.`` when none of its roles is known."""
    if not who.roles:
        who = replace(who, roles=(EVERYONE_ROLE,))
    if known_roles(settings).isdisjoint(who.roles):
        raise InvalidRequest(MISSING_ROLE)
    return who


class Authenticator:
    """The configured methods, tried in order; the first that recognises a request wins and
    its caller must hold a known role. ``local_only`` is set when a method lets callers in
    without a credential (``AuthMethodInfo.ambient``): the API then refuses requests from
    elsewhere than this machine (:mod:`abaco_core.loopback`)."""

    def __init__(self, settings: Settings, methods: Iterable[AuthMethod], *, ambient: bool = False) -> None:
        self.settings = settings
        self.methods = list(methods)
        self.local_only = LocalOnly(settings) if ambient else None

    def authenticate(self, request: AuthRequest) -> Identity | None:
        for method in self.methods:
            who = method.authenticate(request)
            if who is not None:
                return require_known_role(who, self.settings)
        return None


def build_authenticator(pm: pluggy.PluginManager, settings: Settings, store: Store) -> Authenticator:
    """Build the methods ``ABACO_AUTH`` names (:class:`ConfigError` when one is unknown, or
    misconfigured, or the setup is unsafe, see :func:`check_auth_settings`)."""
    from .plugins import auth_methods

    names = check_auth_settings(settings)
    known = auth_methods(pm)
    infos = []
    for name in names:
        try:
            infos.append(known[name])
        except KeyError:
            raise ConfigError(
                f"unknown authentication method {name!r} in ABACO_AUTH; installed: "
                f"{', '.join(sorted(known)) or 'none'}"
            ) from None
    methods = [info.factory(settings, store) for info in infos]
    return Authenticator(settings, methods, ambient=any(info.ambient for info in infos))
