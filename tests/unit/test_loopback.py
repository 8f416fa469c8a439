"""The single-user mode's request checks, without HTTP (abaco_core/loopback.py)."""

from __future__ import annotations

import pytest

from abaco_core.errors import ForbiddenOrigin
from abaco_core.loopback import LocalOnly, host_name
from abaco_core.settings import Settings


@pytest.mark.parametrize(
    "value, name",
    [
        ("localhost", "localhost"),
        ("LocalHost:8000", "localhost"),
        ("127.0.0.1:1", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("abaco.example.org", "abaco.example.org"),
        ("::1", None),
        ("[::1", None),
        ("localhost:port", None),
        ("localhost:123456", None),
        ("evil@localhost", None),
        ("localhost/x", None),
        ("", None),
    ],
)
def test_host_names(value, name):
    assert host_name(value) == name


@pytest.mark.parametrize(
    "origin, allowed",
    [
        ("http://localhost:3000", True),
        ("https://127.0.0.1", True),
        ("http://[::1]:8000", True),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example", False),
        ("ftp://localhost", False),
        ("http://localhost/path", False),
        ("null", False),
        ("", False),
    ],
)
def test_local_origins(origin, allowed):
    assert LocalOnly(Settings()).allows_origin(origin) is allowed


def test_a_request_without_host_or_origin_is_no_page():
    LocalOnly(Settings()).check({})
    with pytest.raises(ForbiddenOrigin, match="Host 'x.example'"):
        LocalOnly(Settings()).check({"host": "x.example"})
