"""Which authentication methods run, and the setups that must not start (spec §3.1, §3.2)."""

from __future__ import annotations

import pytest
from abaco_harness.fakes import MemoryStore

from abaco_core.access import ALL_ROLE, Identity
from abaco_core.auth import Authenticator, build_authenticator, check_auth_settings
from abaco_core.errors import ConfigError, InvalidRequest
from abaco_core.plugins import build_plugin_manager
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_addresses(host):
    assert is_loopback(host)
    assert Settings(host=host).auth_methods == ["none"]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.1.2.3", "example.org", "abaco.local"])
def test_any_other_address_defaults_to_tokens(host):
    assert not is_loopback(host)
    assert Settings(host=host).auth_methods == ["token"]
    assert check_auth_settings(Settings(host=host)) == ["token"]


def test_none_on_a_public_address_is_refused_unless_forced():
    with pytest.raises(ConfigError, match="refusing to serve 0.0.0.0 with ABACO_AUTH=none") as refused:
        check_auth_settings(Settings(host="0.0.0.0", auth=["none"]))
    assert "--allow-public-none" in str(refused.value)
    assert check_auth_settings(Settings(host="0.0.0.0", auth=["none"], allow_public_none=True)) == ["none"]
    assert check_auth_settings(Settings(host="0.0.0.0", auth=["jwt", "none"], allow_public_none=True))


@pytest.mark.parametrize(
    "auth, fragment",
    [(["none", "token"], "put it last"), (["token", "TOKEN"], "twice")],
)
def test_impossible_method_lists(auth, fragment):
    with pytest.raises(ConfigError, match=fragment):
        check_auth_settings(Settings(auth=auth))


def test_unknown_and_misconfigured_methods_stop_the_build():
    pm = build_plugin_manager()
    with pytest.raises(
        ConfigError, match="unknown authentication method 'kerberos'.*installed: jwt, none, token"
    ):
        build_authenticator(pm, Settings(auth=["kerberos"]), MemoryStore())
    with pytest.raises(ConfigError, match="no public key is set"):
        build_authenticator(pm, Settings(auth=["jwt"]), MemoryStore())
    names = [m.name for m in build_authenticator(pm, Settings(auth=["token", "none"]), MemoryStore()).methods]
    assert names == ["token", "none"]


class Fixed:
    def __init__(self, name: str, who: Identity | None) -> None:
        self.name, self.who, self.calls = name, who, 0

    def authenticate(self, request: AuthRequest) -> Identity | None:
        self.calls += 1
        return self.who


def test_methods_are_tried_in_order_and_the_first_caller_wins():
    request = AuthRequest("GET", "/actors")
    first = Fixed("a", None)
    second = Fixed("b", Identity("T", "bob", ("Internal/abaco-user",)))
    third = Fixed("c", Identity("T", "carol", (ALL_ROLE,)))
    assert Authenticator(Settings(), [first, second, third]).authenticate(request).username == "bob"
    assert (first.calls, second.calls, third.calls) == (1, 1, 0)
    assert Authenticator(Settings(), [first]).authenticate(request) is None


def test_the_caller_of_a_method_passes_the_role_gate():
    request = AuthRequest("GET", "/actors")
    nobody = Fixed("a", Identity("T", "eve", ("Internal/other",)))
    with pytest.raises(InvalidRequest, match="Not authorized -- missing required role."):
        Authenticator(Settings(), [nobody]).authenticate(request)
    custom = Fixed("a", Identity("T", "eve", ("Internal/other",)))
    assert Authenticator(Settings(user_role="Internal/other"), [custom]).authenticate(request)


def test_none_takes_the_tenant_header():
    pm = build_plugin_manager()
    none = build_authenticator(pm, Settings(tenant="home", user="me"), MemoryStore())
    who = none.authenticate(AuthRequest("GET", "/actors"))
    assert (who.tenant, who.username, who.roles) == ("home", "me", (ALL_ROLE,))
    assert none.authenticate(AuthRequest("GET", "/actors", {"tenant": "DEV-DEVELOP"})).tenant == "DEV-DEVELOP"


def test_the_start_banner_says_how_callers_are_recognised():
    from abaco_core.auth_cli import auth_banner
    from abaco_core.tokens import create_token, revoke_token

    store = MemoryStore()
    assert auth_banner(Settings(user="me"), store) == (
        "abaco: authentication none: every request acts as 'me' (an admin)."
    )
    hint = "no API token yet: abaco token create"
    assert hint in auth_banner(Settings(auth=["jwt", "token"]), store)
    _token, record = create_token(store, user="alice", role="basic", tenant="T")
    assert auth_banner(Settings(auth=["jwt", "token"]), store) == "abaco: authentication jwt,token."
    revoke_token(store, record["id"])
    assert hint in auth_banner(Settings(host="0.0.0.0"), store)


def test_a_method_without_credentials_makes_the_server_local_only():
    """``none`` is ambient: with it anywhere in the list, the API keeps web pages out."""
    pm = build_plugin_manager()
    for auth, local_only in ((["none"], True), (["token", "none"], True), (["token"], False)):
        built = build_authenticator(pm, Settings(auth=auth), MemoryStore())
        assert (built.local_only is not None) is local_only, auth
