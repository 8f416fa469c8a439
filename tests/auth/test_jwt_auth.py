"""The ``jwt`` method against JWTs signed with locally generated keys (spec §3.1, Q36)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest
from abaco_auth.jwt_auth import JwtAuth, JwtSettings, load_public_key
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from abaco_core.access import EVERYONE_ROLE, USER_ROLE
from abaco_core.auth import MISSING_ROLE, require_known_role
from abaco_core.errors import ConfigError, InvalidRequest
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings
from tests.auth.keys import ROLES_CLAIM, USER_CLAIM, gateway_jwt, private_key, public_der_base64, public_pem

NOW = 1_700_000_000.0


def base64url(data: bytes) -> bytes:
    return jwt.utils.base64url_encode(data)


def method(**config: object) -> JwtAuth:
    return JwtAuth(load_public_key(public_pem(private_key())), JwtSettings(**config), clock=lambda: NOW)


def request(headers: dict[str, str]) -> AuthRequest:
    return AuthRequest("GET", "/actors", {k.lower(): v for k, v in headers.items()})


def test_a_valid_jwt_names_user_roles_tenant_and_header():
    token = gateway_jwt("alice@carbon.super", "Internal/everyone, Internal/abaco-user", exp=NOW + 60)
    who = method().authenticate(request({"X-Jwt-Assertion-dev-develop": token}))
    assert who is not None
    assert (who.tenant, who.username, who.method) == ("DEV-DEVELOP", "alice", "jwt")
    assert who.roles == ("Internal/everyone", "Internal/abaco-user")
    # upstream's spelling (werkzeug), what _abaco_jwt_header_name carries
    assert who.jwt_header_name == "X-Jwt-Assertion-Dev-Develop"


def test_wso2_algorithm_name_is_rs256():
    token = gateway_jwt(exp=NOW + 60, algorithm="SHA256withRSA")
    assert jwt.get_unverified_header(token)["alg"] == "SHA256withRSA"
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": token})).tenant == "TACC"


def test_an_expired_jwt_is_no_jwt():
    expired = gateway_jwt(exp=NOW - 1)
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": expired})) is None
    assert method(leeway=5).authenticate(request({"X-Jwt-Assertion-TACC": expired})) is not None


def test_a_jwt_signed_by_another_key_is_no_jwt():
    forged = gateway_jwt(exp=NOW + 60, key=private_key("intruder"))
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": forged})) is None


def test_an_hmac_jwt_keyed_with_the_public_key_is_refused():
    """The classic algorithm confusion: HS256 with the public PEM as the shared secret."""
    pem = public_pem(private_key()).encode()
    payload = {USER_CLAIM: "mallory", ROLES_CLAIM: "Internal/abaco-admin", "exp": NOW + 60}
    signing_input = b".".join(
        base64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, payload)
    )
    signature = base64url(hmac.new(pem, signing_input, hashlib.sha256).digest())
    forged = (signing_input + b"." + signature).decode()
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": forged})) is None


def test_a_tampered_payload_is_no_jwt():
    header, payload, signature = gateway_jwt(exp=NOW + 60).split(".")
    other = gateway_jwt("mallory@carbon.super", exp=NOW + 60).split(".")[1]
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": f"{header}.{other}.{signature}"})) is None


def test_the_tenant_comes_from_the_header_name():
    token = gateway_jwt(exp=NOW + 60)
    auth = method()
    assert auth.authenticate(request({"X-JWT-ASSERTION-Dev-Staging": token})).tenant == "DEV-STAGING"
    assert auth.authenticate(request({"Assertion": token})).tenant == "DEV_STAGING"
    # a header of another name, or the bare prefix, carries no tenant: not a JWT header
    assert auth.authenticate(request({"X-Jwt-Assert-TACC": token})) is None
    assert auth.authenticate(request({"X-Jwt-Assertion-": token})) is None
    assert auth.authenticate(request({"Authorization": f"Bearer {token}"})) is None


def test_jwt_headers_of_two_tenants_are_ambiguous():
    token = gateway_jwt(exp=NOW + 60)
    assert method().authenticate(request({"X-Jwt-Assertion-A": token, "X-Jwt-Assertion-B": token})) is None


def test_an_allow_list_of_tenants_makes_other_tenant_headers_invalid():
    """Renaming the header moves a JWT to another tenant (§2.11); ``ABACO_JWT_TENANTS`` bounds
    where it can move."""
    token = gateway_jwt(exp=NOW + 60)
    auth = method(tenants=("dev-develop", "TACC"))
    assert auth.authenticate(request({"X-Jwt-Assertion-DEV-DEVELOP": token})).tenant == "DEV-DEVELOP"
    assert auth.authenticate(request({"x-jwt-assertion-tacc": token})).tenant == "TACC"
    assert auth.authenticate(request({"X-Jwt-Assertion-INVENTED": token})) is None
    assert auth.authenticate(request({"X-Jwt-Assertion-DEV-STAGING": token})) is None
    # the fallback header's tenant is a tenant like the others
    assert auth.authenticate(request({"Assertion": token})) is None
    assert (
        method(tenants=("DEV_STAGING",)).authenticate(request({"Assertion": token})).tenant == "DEV_STAGING"
    )


def test_a_tenant_claim_must_name_the_header_tenant():
    auth = method(tenant_claim="tenant")
    develop = gateway_jwt(exp=NOW + 60, tenant="dev-develop")
    assert auth.authenticate(request({"X-Jwt-Assertion-Dev-Develop": develop})).tenant == "DEV-DEVELOP"
    assert auth.authenticate(request({"X-Jwt-Assertion-DEV-STAGING": develop})) is None
    assert auth.authenticate(request({"X-Jwt-Assertion-Dev-Develop": gateway_jwt(exp=NOW + 60)})) is None
    both = gateway_jwt(exp=NOW + 60, tenant=["TACC", "DEV-DEVELOP"])
    assert auth.authenticate(request({"X-Jwt-Assertion-tacc": both})).tenant == "TACC"
    assert auth.authenticate(request({"X-Jwt-Assertion-SD2E": both})) is None
    for odd in (5, None, {"tenant": "TACC"}, [["TACC"]]):
        token = gateway_jwt(exp=NOW + 60, tenant=odd)
        assert auth.authenticate(request({"X-Jwt-Assertion-TACC": token})) is None, odd


def test_header_and_claim_names_are_configurable():
    token = jwt.encode(
        {"sub": "bob@example.org", "groups": ["Internal/abaco-admin"], "exp": NOW + 60},
        private_key(),
        algorithm="RS256",
    )
    auth = method(header_prefix="X-Tenant-Token-", user_claim="sub", roles_claim="groups")
    who = auth.authenticate(request({"X-Tenant-Token-lab": token}))
    assert (who.tenant, who.username, who.roles) == ("LAB", "bob", ("Internal/abaco-admin",))
    assert auth.authenticate(request({"X-Jwt-Assertion-lab": token})) is None


def test_millisecond_exp_needs_the_compatibility_setting():
    in_ms = gateway_jwt(exp=int(NOW * 1000) - 1000)  # a second ago, in milliseconds
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": in_ms})) is None
    who = method(ms_exp_compat=True).authenticate(request({"X-Jwt-Assertion-TACC": in_ms}))
    assert who is not None and who.username == "alice"


def test_the_compatibility_setting_still_expires_second_exp():
    assert (
        method(ms_exp_compat=True).authenticate(request({"X-Jwt-Assertion-TACC": gateway_jwt(exp=NOW - 1)}))
        is None
    )


def test_not_before_is_enforced():
    early = gateway_jwt(exp=NOW + 120, nbf=NOW + 60)
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": early})) is None


def test_a_missing_role_claim_means_no_roles_and_the_gate_refuses():
    who = method().authenticate(request({"X-Jwt-Assertion-TACC": gateway_jwt(roles=None, exp=NOW + 60)}))
    assert who is not None and who.roles == ()
    with pytest.raises(InvalidRequest, match=MISSING_ROLE):
        require_known_role(who, Settings())
    # a deployment whose basic role is Internal/everyone lets such users in (spec §3.2)
    let_in = require_known_role(who, Settings(user_role=EVERYONE_ROLE))
    assert let_in.roles == (EVERYONE_ROLE,)


def test_unknown_roles_only_are_refused_known_ones_pass():
    auth = method()
    stranger = auth.authenticate(request({"X-Jwt-Assertion-TACC": gateway_jwt(roles="Internal/x")}))
    with pytest.raises(InvalidRequest, match=MISSING_ROLE):
        require_known_role(stranger, Settings())
    member = auth.authenticate(request({"X-Jwt-Assertion-TACC": gateway_jwt(roles=f"x,{USER_ROLE}")}))
    assert require_known_role(member, Settings()) is member


@pytest.mark.parametrize("user", [None, "", "@carbon.super", 42])
def test_a_jwt_without_a_user_is_no_jwt(user):
    token = jwt.encode(
        {USER_CLAIM: user, ROLES_CLAIM: USER_ROLE, "exp": time.time() + 60} if user is not None else {},
        private_key(),
        algorithm="RS256",
    )
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": token})) is None


def test_garbage_is_no_jwt():
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": "not.a.jwt"})) is None
    assert method().authenticate(request({"X-Jwt-Assertion-TACC": ""})) is None


# -- the key ----------------------------------------------------------------------------------


def test_the_key_is_read_as_pem_base64_der_or_a_file(tmp_path):
    key = private_key()
    expected = key.public_key().public_numbers()
    pem_file = tmp_path / "key.pem"
    pem_file.write_text(public_pem(key))
    der_file = tmp_path / "key.der"
    der_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    der_b64 = public_der_base64(key)
    wrapped = "\n".join(der_b64[i : i + 64] for i in range(0, len(der_b64), 64))
    for value in (public_pem(key), der_b64, wrapped, str(pem_file), str(der_file)):
        assert load_public_key(value).public_numbers() == expected


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "no public key is set"),
        ("%%% not base64 %%%", "neither PEM text, nor base64 DER"),
        ("aGVsbG8=", "cannot be read"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "cannot be read"),
    ],
)
def test_a_bad_key_is_a_config_error(value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_public_key(value)


def test_a_key_that_is_not_rsa_is_a_config_error():
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigError, match="not an RSA public key"):
        load_public_key(pem)


def test_settings_build_the_method():
    from abaco_core.plugins import build_plugin_manager, settings_from

    pm = build_plugin_manager()
    settings = settings_from(pm)
    settings.plugin.update(jwt_public_key=public_der_base64(private_key()), jwt_ms_exp_compat=True)
    auth = JwtAuth.from_settings(settings)
    assert auth.config.ms_exp_compat and auth.config.header_prefix == "X-Jwt-Assertion-"
    assert auth.config.tenants == () and auth.config.tenant_claim == ""


def test_tenant_settings_from_the_environment(monkeypatch):
    from abaco_core.plugins import build_plugin_manager, settings_from

    monkeypatch.setenv("ABACO_JWT_PUBLIC_KEY", public_der_base64(private_key()))
    monkeypatch.setenv("ABACO_JWT_TENANTS", "dev-develop, TACC")
    monkeypatch.setenv("ABACO_JWT_TENANT_CLAIM", "http://wso2.org/claims/tenant")
    auth = JwtAuth.from_settings(settings_from(build_plugin_manager()))
    assert auth.config.tenants == ("dev-develop", "TACC")
    assert auth.config.tenant_claim == "http://wso2.org/claims/tenant"
    token = gateway_jwt(exp=time.time() + 60, **{"http://wso2.org/claims/tenant": "tacc"})
    assert auth.authenticate(request({"X-Jwt-Assertion-TACC": token})).tenant == "TACC"
