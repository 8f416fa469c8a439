"""Locally generated RSA key pairs and JWTs shaped like the ones an Abaco v2 gateway sends."""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm

USER_CLAIM = "http://wso2.org/claims/enduser"
ROLES_CLAIM = "http://wso2.org/claims/role"


@functools.cache
def private_key(name: str = "gateway") -> RSAPrivateKey:
    """One key pair per name, per test session (the name only tells keys apart)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_der_base64(key: RSAPrivateKey) -> str:
    """The form of upstream's ``[web] apim_public_key``."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def gateway_jwt(
    user: str = "alice@carbon.super",
    roles: str | None = "Internal/everyone,Internal/abaco-user",
    *,
    key: RSAPrivateKey | None = None,
    exp: float | None = None,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    """A signed JWT with WSO2's claim names; ``exp`` defaults to an hour from now, ``roles=None``
    leaves the role claim out."""
    payload: dict[str, Any] = {
        "iss": "wso2.org/products/am",
        "exp": int(time.time() + 3600) if exp is None else exp,
        USER_CLAIM: user,
        **claims,
    }
    if roles is not None:
        payload[ROLES_CLAIM] = roles
    jws = jwt.PyJWS()
    if algorithm == "SHA256withRSA":  # WSO2 APIM's name for RS256
        jws.register_algorithm(algorithm, RSAAlgorithm(RSAAlgorithm.SHA256))
    return jws.encode(json.dumps(payload).encode(), key or private_key(), algorithm=algorithm)
