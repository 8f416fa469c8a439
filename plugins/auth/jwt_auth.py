"""``jwt``: the JWTs an Abaco v2 gateway (WSO2 APIM) forwards (spec §3.1, Q36).

The header ``X-Jwt-Assertion-<TENANT>`` (prefix configurable, matched case-insensitively)
names the tenant, upper-cased; the fallback header ``Assertion`` implies ``DEV_STAGING``.
The header name is all that ties a JWT to a tenant, as upstream behind its gateway (§2.11);
``ABACO_JWT_TENANTS`` bounds the tenants a header may name and ``ABACO_JWT_TENANT_CLAIM``
makes a claim confirm it (a JWT failing either is invalid).
The signature is RS256 (WSO2 writes ``SHA256withRSA`` in the JWT header: the same algorithm)
under the configured public key. A JWT that is invalid for any reason — signature, expiry,
shape, no user — is treated as no JWT: the request may still carry a nonce.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509 import load_der_x509_certificate, load_pem_x509_certificate
from jwt.algorithms import RSAAlgorithm

from abaco_core.access import Identity
from abaco_core.errors import ConfigError
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings

__all__ = ["JwtAuth", "JwtSettings", "load_public_key"]

log = logging.getLogger(__name__)

#: ``exp`` values from here on are milliseconds since the epoch (year 33658 in seconds)
MILLISECONDS = 10**12
#: the names a JWT header may give RS256; WSO2 APIM writes ``SHA256withRSA``
ALGORITHMS = ("RS256", "SHA256withRSA", "SHA256WITHRSA")


def load_public_key(value: str) -> RSAPublicKey:
    """An RSA public key from PEM text (a public key or a certificate), base64 DER (upstream's
    ``apim_public_key``), or the path of a PEM or DER file."""
    text = (value or "").strip()
    if not text:
        raise ConfigError(
            "ABACO_AUTH includes jwt but no public key is set: ABACO_JWT_PUBLIC_KEY takes PEM text, "
            "base64 DER, or the path of a key file"
        )
    if text.startswith("-----BEGIN"):
        data = text.encode()
    elif os.path.isfile(text):
        with open(text, "rb") as handle:
            data = handle.read()
    else:
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                "ABACO_JWT_PUBLIC_KEY is neither PEM text, nor base64 DER, nor an existing file"
            ) from None
    key = _parse_key(data)
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"ABACO_JWT_PUBLIC_KEY is a {type(key).__name__}, not an RSA public key")
    return key


def _parse_key(data: bytes) -> object:
    pem = data.lstrip().startswith(b"-----BEGIN")
    if pem and b"CERTIFICATE" in data.split(b"\n", 1)[0]:
        loaders: tuple[Callable[[bytes], object], ...] = (
            lambda d: load_pem_x509_certificate(d).public_key(),
        )
    elif pem:
        loaders = (serialization.load_pem_public_key,)
    else:
        loaders = (serialization.load_der_public_key, lambda d: load_der_x509_certificate(d).public_key())
    for load in loaders:
        try:
            return load(data)
        except ValueError:
            continue
    raise ConfigError("ABACO_JWT_PUBLIC_KEY cannot be read as a public key or a certificate")


@dataclass(frozen=True)
class JwtSettings:
    header_prefix: str = "X-Jwt-Assertion-"
    fallback_header: str = "Assertion"
    fallback_tenant: str = "DEV_STAGING"
    user_claim: str = "http://wso2.org/claims/enduser"
    roles_claim: str = "http://wso2.org/claims/role"
    ms_exp_compat: bool = False
    leeway: int = 0
    #: the tenants a header may name; empty: any (upstream, behind a gateway that strips them)
    tenants: tuple[str, ...] = ()
    #: a claim that must name the header's tenant; empty: not checked
    tenant_claim: str = ""


class JwtAuth:
    """Recognises a request by a valid JWT in a tenant header."""

    name = "jwt"

    def __init__(
        self, key: RSAPublicKey, config: JwtSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.key = key
        self.config = config
        self.clock = clock
        self._prefix = config.header_prefix.lower()
        self._fallback = config.fallback_header.lower()
        self._tenants = frozenset(tenant.upper() for tenant in config.tenants)
        self._jws = jwt.PyJWS(algorithms=["RS256"])
        for alias in ALGORITHMS[1:]:
            self._jws.register_algorithm(alias, RSAAlgorithm(RSAAlgorithm.SHA256))

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtAuth:
        defaults = JwtSettings()
        config = JwtSettings(
            **{
                f.name: settings.get(f"jwt_{f.name}", getattr(defaults, f.name))
                for f in dataclasses.fields(JwtSettings)
            }
        )
        config = dataclasses.replace(config, tenants=tuple(config.tenants))
        if not config.header_prefix:
            raise ConfigError("ABACO_JWT_HEADER_PREFIX must not be empty")
        return cls(load_public_key(settings.get("jwt_public_key", "")), config)

    def authenticate(self, request: AuthRequest) -> Identity | None:
        found = self.find_header(request.headers)
        if found is None:
            return None
        header, tenant, token = found
        if self._tenants and tenant not in self._tenants:
            log.info("JWT in %s ignored: tenant %s is not in ABACO_JWT_TENANTS", header, tenant)
            return None
        claims = self.claims(token)
        if claims is None:
            return None
        if self.config.tenant_claim and tenant not in self.claimed_tenants(
            claims.get(self.config.tenant_claim)
        ):
            log.info(
                "JWT in %s ignored: claim %s does not name tenant %s",
                header,
                self.config.tenant_claim,
                tenant,
            )
            return None
        user = claims.get(self.config.user_claim)
        username = user.split("@", 1)[0].strip() if isinstance(user, str) else ""
        if not username:
            log.info("JWT in %s ignored: no user in claim %s", header, self.config.user_claim)
            return None
        return Identity(
            tenant,
            username,
            self.roles(claims.get(self.config.roles_claim)),
            # werkzeug's spelling of the name, as upstream filled _abaco_jwt_header_name
            jwt_header_name=header.title(),
            method="jwt",
        )

    def find_header(self, headers: Mapping[str, str]) -> tuple[str, str, str] | None:
        """``(header name, tenant, JWT)``; ``None`` without a JWT header, or when JWT headers
        of two tenants make the tenant ambiguous."""
        tenant_headers = [
            (name, name[len(self._prefix) :].upper())
            for name in headers
            if name.startswith(self._prefix) and len(name) > len(self._prefix)
        ]
        if len({tenant for _name, tenant in tenant_headers}) > 1:
            log.info("JWT headers of several tenants ignored: %s", ", ".join(n for n, _t in tenant_headers))
            return None
        if tenant_headers:
            name, tenant = tenant_headers[0]
        elif self._fallback and self._fallback in headers:
            name, tenant = self._fallback, self.config.fallback_tenant.upper()
        else:
            return None
        return name, tenant, headers[name].strip()

    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT whose signature and times are valid, else ``None``."""
        try:
            payload = self._jws.decode(token, self.key, algorithms=list(ALGORITHMS))
            claims = json.loads(payload)
        except (jwt.PyJWTError, ValueError) as exc:
            log.info("invalid JWT ignored: %s", exc)
            return None
        if not isinstance(claims, dict):
            return None
        problem = self._time_problem(claims)
        if problem:
            log.info("JWT ignored: %s", problem)
            return None
        return claims

    def _time_problem(self, claims: Mapping[str, Any]) -> str | None:
        now, leeway = self.clock(), self.config.leeway
        for claim in ("exp", "nbf"):
            value = claims.get(claim)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"{claim} is not a number"
            if value >= MILLISECONDS:
                if not self.config.ms_exp_compat:
                    return f"{claim} is in milliseconds (ABACO_JWT_MS_EXP_COMPAT is off)"
                continue  # upstream read it as seconds: never expired, long valid
            if claim == "exp" and value + leeway <= now:
                return "expired"
            if claim == "nbf" and value - leeway > now:
                return "not valid yet"
        return None

    @staticmethod
    def claimed_tenants(value: object) -> frozenset[str]:
        """The tenants a tenant claim names, upper-cased: a string or a list of strings."""
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return frozenset(v.strip().upper() for v in values if isinstance(v, str) and v.strip())

    @staticmethod
    def roles(value: object) -> tuple[str, ...]:
        """``a,b`` (or a JSON list) → ``("a", "b")``; missing → no roles (spec §3.1)."""
        if isinstance(value, str):
            parts = value.split(",")
        elif isinstance(value, list):
            parts = [str(v) for v in value]
        else:
            return ()
        return tuple(p.strip() for p in parts if p.strip())
