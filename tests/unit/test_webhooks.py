"""Webhook signing, verification and URL handling (our extension of spec §10.2)."""

from __future__ import annotations

from abaco_core.events import verify

SECRET = "s3cret"


def test_a_non_ascii_signature_header_does_not_verify():
    assert not verify(SECRET, "1700000000", b"{}", "sha256=\u00e9\u00e9", now=1700000000)


def test_a_signature_header_with_a_lone_surrogate_does_not_verify():
    assert not verify(SECRET, "1700000000", b"{}", "sha256=\ud800", now=1700000000)
