"""Webhook signing, verification and URL handling (our extension of spec §10.2)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from abaco_core.events import verify
from abaco_core.events.webhooks import WebhookFailed, post, redact

SECRET = "s3cret"


def test_a_non_ascii_signature_header_does_not_verify():
    assert not verify(SECRET, "1700000000", b"{}", "sha256=\u00e9\u00e9", now=1700000000)


def test_a_signature_header_with_a_lone_surrogate_does_not_verify():
    assert not verify(SECRET, "1700000000", b"{}", "sha256=\ud800", now=1700000000)


# -- one attempt ----------------------------------------------------------------------------------


class RawServer:
    """A TCP server that reads a request and answers ``reply`` (bytes), byte by byte every
    ``drip`` seconds when ``drip`` is set; it counts the connections."""

    def __init__(self, reply: bytes, drip: float = 0.0) -> None:
        self.reply, self.drip = reply, drip
        self.connections = 0
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
                conn.recv(65536)
                if not self.drip:
                    conn.sendall(self.reply)
                for byte in self.reply if self.drip else b"":
                    if self._stop.wait(self.drip):
                        return
                    conn.sendall(bytes([byte]))
                self._stop.wait(30)
            except OSError:
                return

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
    options: dict[str, Any] = {"delivery_id": "d1", "secret": SECRET, "timeout": 5.0, "agent": "abaco/test"}
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
