"""Registers the ``none``, ``token`` and ``jwt`` authentication methods and the JWT settings.

Cheap to import: PyJWT and cryptography are imported only when the ``jwt`` method is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abaco_core import AuthMethodInfo, SettingSpec, hookimpl, parse_bool, parse_list

if TYPE_CHECKING:
    from abaco_core.interfaces import AuthMethod, Store
    from abaco_core.settings import Settings


def _none(settings: Settings, store: Store) -> AuthMethod:
    from .none import NoneAuth

    return NoneAuth(settings)


def _token(settings: Settings, store: Store) -> AuthMethod:
    from .token import TokenAuth

    return TokenAuth(settings, store)


def _jwt(settings: Settings, store: Store) -> AuthMethod:
    from .jwt_auth import JwtAuth

    return JwtAuth.from_settings(settings)


@hookimpl
def abaco_auth_methods() -> list[AuthMethodInfo]:
    return [
        AuthMethodInfo(
            "none", _none, "single-user mode: every request is the configured user, role ALL", ambient=True
        ),
        AuthMethodInfo("token", _token, "API tokens (abaco token create) as Authorization: Bearer"),
        AuthMethodInfo("jwt", _jwt, "Abaco v2 gateway JWTs in X-Jwt-Assertion-<TENANT> headers (RS256)"),
    ]


@hookimpl
def abaco_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "jwt_public_key",
            "",
            "the RSA public key that signs the JWTs: PEM text, base64 DER (upstream's "
            "apim_public_key), or the path of a PEM or DER file",
        ),
        SettingSpec("jwt_header_prefix", "X-Jwt-Assertion-", "JWT header name; the rest is the tenant"),
        SettingSpec("jwt_fallback_header", "Assertion", "JWT header that implies jwt_fallback_tenant"),
        SettingSpec("jwt_fallback_tenant", "DEV_STAGING", "tenant of a JWT in jwt_fallback_header"),
        SettingSpec("jwt_user_claim", "http://wso2.org/claims/enduser", "claim naming the user (up to '@')"),
        SettingSpec(
            "jwt_roles_claim", "http://wso2.org/claims/role", "claim listing the roles (comma-separated)"
        ),
        SettingSpec(
            "jwt_ms_exp_compat",
            False,
            "accept JWTs whose exp is in milliseconds, never expiring them, as upstream (spec Q36)",
            parse_bool,
        ),
        SettingSpec("jwt_leeway", 0, "seconds of clock skew allowed on exp and nbf", int),
        SettingSpec(
            "jwt_tenants",
            [],
            "the tenants a JWT header may name (comma-separated); a header naming another is an "
            "invalid JWT. Empty: any, as upstream behind its gateway",
            parse_list,
        ),
        SettingSpec(
            "jwt_tenant_claim",
            "",
            "a claim that must name the tenant of the JWT's header (a string, or a list of them); "
            "empty: not checked",
        ),
    ]
