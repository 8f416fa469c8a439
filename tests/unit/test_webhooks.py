"""Webhook signing, verification and URL handling (our extension of spec §10.2)."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from typing import Any

import pytest

from abaco_core.errors import InvalidRequest
from abaco_core.events import signature, verify
from abaco_core.events.transport import is_public
from abaco_core.events.webhooks import WebhookFailed, check_webhook, post, redact
from abaco_core.settings import Settings

SECRET = "s3cret"


def test_a_non_ascii_signature_header_does_not_verify():
    assert not verify(SECRET, "1700000000", "d1", b"{}", "sha256=\u00e9\u00e9", now=1700000000)


def test_a_signature_header_with_a_lone_surrogate_does_not_verify():
    assert not verify(SECRET, "1700000000", "d1", b"{}", "sha256=\ud800", now=1700000000)


def test_the_signature_covers_timestamp_delivery_and_body():
    mac = hmac.new(SECRET.encode(), b"1700000000.d1.{}", hashlib.sha256).hexdigest()
    assert signature(SECRET, "1700000000", "d1", b"{}") == f"sha256={mac}"
    header = f"sha256={mac}"
    assert verify(SECRET, "1700000000", "d1", b"{}", header, now=1700000100)
    assert not verify(SECRET, "1700000000", "d2", b"{}", header, now=1700000100)
    assert not verify(SECRET, "1700000001", "d1", b"{}", header, now=1700000100)
    assert not verify("other", "1700000000", "d1", b"{}", header, now=1700000100)
    assert not verify(SECRET, "1700000000", "d1", b"{}", header, now=1700000000 + 301)
    assert not verify(SECRET, "soon", "d1", b"{}", header, now=1700000000)


def test_an_attempt_is_signed_with_the_secret_it_is_given(raw_server):
    server = raw_server(NO_CONTENT)
    attempt(f"http://127.0.0.1:{server.port}/x", delivery_id="d-42")
    head, _, body = server.received[0].partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert headers["X-Abaco-Delivery"] == "d-42"
    assert verify(SECRET, headers["X-Abaco-Timestamp"], "d-42", body, headers["X-Abaco-Signature"])
    attempt(f"http://127.0.0.1:{server.port}/x", secret=None)
    assert b"X-Abaco-Signature" not in server.received[1]


# -- one attempt ----------------------------------------------------------------------------------


class RawServer:
    """A TCP server that reads a request and answers ``reply`` (bytes), byte by byte every
    ``drip`` seconds when ``drip`` is set; it counts the connections."""

    def __init__(self, reply: bytes, drip: float = 0.0) -> None:
        self.reply, self.drip = reply, drip
        self.connections = 0
        self.received: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.received.append(self._read(conn))
                if not self.drip:
                    conn.sendall(self.reply)
                for byte in self.reply if self.drip else b"":
                    if self._stop.wait(self.drip):
                        return
                    conn.sendall(bytes([byte]))
                self._stop.wait(30)
            except OSError:
                return

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        """A whole HTTP request (headers, then Content-Length bytes), or what came before the
        peer paused for half a second (a TLS ClientHello)."""
        conn.settimeout(0.5)
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if len(body) >= length:
                    return data
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return data
            if not chunk:
                return data
            data += chunk

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def raw_server():
    made: list[RawServer] = []

    def make(reply: bytes, drip: float = 0.0) -> RawServer:
        made.append(RawServer(reply, drip))
        return made[-1]

    yield make
    for server in made:
        server.close()


def attempt(url: str, **kwargs: Any) -> int:
    options: dict[str, Any] = {
        "delivery_id": "d1",
        "secret": SECRET,
        "deadline": 5.0,
        "agent": "abaco/test",
        "allow_private": True,
    }
    return post(url, b"{}", **{**options, **kwargs})


def test_a_garbage_answer_is_a_failed_attempt_that_does_not_show_the_url(raw_server):
    server = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    url = f"http://127.0.0.1:{server.port}/hooks/TOKEN123?x-nonce=LOCAL_nonce"
    with pytest.raises(WebhookFailed) as err:
        attempt(url)
    assert "TOKEN123" not in str(err.value) and "LOCAL_nonce" not in str(err.value)
    assert err.value.__context__ is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:abc/x?n=LOCAL_nonce", "http://[::1/x?n=LOCAL_nonce", "gopher://x"]
)
def test_a_malformed_url_is_a_failed_attempt(url):
    with pytest.raises(WebhookFailed) as err:
        attempt(url)
    assert "LOCAL_nonce" not in str(err.value)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://user:pw@hooks.example:8443/services/T0/B0/XYZ?x-nonce=N", "https://hooks.example:8443/..."),
        ("http://hooks.example", "http://hooks.example"),
        ("http://127.0.0.1:abc/x", "http://127.0.0.1:abc/..."),
        ("http://[::1/x", "<malformed URL>"),
    ],
)
def test_redact_keeps_only_scheme_host_and_port(url, shown):
    assert redact(url) == shown


NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def test_the_deadline_bounds_the_whole_attempt(raw_server):
    # one byte of the status line every 0.3 s: no single read ever waits 1 s
    server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: " + b"x" * 40 + b"\r\n\r\n", drip=0.3
    )
    started = time.monotonic()
    with pytest.raises(WebhookFailed, match="no answer within 1 s"):
        attempt(f"http://127.0.0.1:{server.port}/x", deadline=1.0)
    assert time.monotonic() - started < 2.5


def test_private_addresses_are_refused_before_connecting(raw_server):
    server = raw_server(NO_CONTENT)
    with pytest.raises(WebhookFailed, match="127.0.0.1 is not a public address"):
        attempt(f"http://127.0.0.1:{server.port}/x", allow_private=False)
    assert attempt(f"http://127.0.0.1:{server.port}/x", allow_private=True) == 204
    assert server.connections == 1


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(raw_server):
    server = raw_server(NO_CONTENT)
    lookups: list[tuple[str, int]] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        if len(lookups) > 1:
            raise AssertionError("resolved twice: the name could have been rebound in between")
        return ["127.0.0.1"]

    url = f"http://hooks.example:{server.port}/x?n=1"
    assert attempt(url, resolver=rebinding) == 204
    assert lookups == [("hooks.example", server.port)]
    request = server.received[0].decode()
    assert request.startswith("POST /x?n=1 HTTP/1.1\r\n")
    assert f"\r\nHost: hooks.example:{server.port}\r\n" in request

    def private(host: str, port: int) -> list[str]:
        return ["10.1.2.3", "169.254.169.254"]

    with pytest.raises(WebhookFailed, match="hooks.example resolves to no public address"):
        attempt(url, resolver=private, allow_private=False)
    assert server.connections == 1


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("ff0e::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),
    ],
)
def test_public_addresses(address, public):
    assert is_public(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://[::1]:8000/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x",
        "http://224.0.0.1/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://localhost:8000/x",
        "http://api.localhost/x",
    ],
)
def test_literal_private_targets_are_refused_at_registration_unless_allowed(url):
    with pytest.raises(InvalidRequest, match="loopback, link-local, private or multicast"):
        check_webhook(url, allow_private=False)
    check_webhook(url, allow_private=True)
    check_webhook("https://hooks.example/x", allow_private=False)  # names are checked at delivery


@pytest.mark.parametrize(
    "settings, allowed",
    [
        ({}, True),  # loopback: the single-user "none" mode
        ({"auth": ["none"]}, True),
        ({"auth": ["token"]}, False),
        ({"auth": ["token", "jwt"]}, False),
        ({"host": "0.0.0.0"}, False),  # tokens by default off loopback
        ({"auth": ["token"], "webhook_allow_private": True}, True),
        ({"auth": ["none"], "webhook_allow_private": False}, False),
    ],
)
def test_private_targets_are_allowed_by_default_only_with_none_authentication(settings, allowed):
    assert Settings(**settings).webhook_private_allowed is allowed


def test_the_deadline_bounds_a_stalled_tls_handshake_sent_to_the_checked_address(raw_server):
    server = raw_server(b"")  # reads the ClientHello, never answers it
    started = time.monotonic()
    with pytest.raises(WebhookFailed, match="no answer within 1 s"):
        attempt(f"https://hooks.example:{server.port}/x", deadline=1.0, resolver=lambda h, p: ["127.0.0.1"])
    assert time.monotonic() - started < 2.5
    assert b"hooks.example" in server.received[0]  # SNI names the URL's host
