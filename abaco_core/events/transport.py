"""One HTTP POST to a webhook, bounded and pointed where it was checked to point.

* **Where** (SSRF): the host is resolved once; unless private targets are allowed
  (``ABACO_WEBHOOK_ALLOW_PRIVATE``) an address that is not public — loopback, link-local,
  private, shared, multicast, reserved, or an IPv6 form embedding one of those — is skipped,
  and the connection goes to the address that passed the check. Resolving again to connect
  would let a name switch to another address in between (DNS rebinding). The ``Host`` header,
  TLS SNI and certificate check still use the name of the URL.
* **How long**: a watchdog shuts the socket down at the deadline, whatever it is waiting
  for, so a receiver that answers one byte at a time cannot hold a thread beyond it; every
  socket operation also times out at the deadline.

No proxy is used (an ``HTTP(S)_PROXY`` would connect on its own terms), nor are redirects
followed: a 3xx is an answer like any other.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

__all__ = ["AttemptFailed", "Resolver", "is_public", "resolve", "send"]

#: ``(host, port) -> addresses``, in the order to try them
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: printable ASCII but the space: what a request target may hold as it is; the rest is quoted
_TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
_TLS = ssl.create_default_context()


class AttemptFailed(Exception):
    """The attempt failed for a reason of our own (its message names no part of the URL
    beyond the host)."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (the system resolver's answer, in its order)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public(address: str) -> bool:
    """Whether an IP address is a public unicast one, also for the IPv4 address an IPv6 one
    carries (IPv4-mapped, 6to4, the NAT64 prefix)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(c.is_global and not c.is_multicast for c in candidates)


def send(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
    allow_private: bool,
    resolver: Resolver = resolve,
) -> int:
    """POST ``body`` to ``url``; the response status. Raises :class:`AttemptFailed` for a
    refused address or a deadline passed, anything else for other failures."""
    ends = time.monotonic() + deadline
    parts = urlsplit(url)
    host, secure = parts.hostname, parts.scheme == "https"
    if parts.scheme not in ("http", "https") or not host:
        raise AttemptFailed("not an absolute http or https URL")
    port = parts.port or (443 if secure else 80)
    addresses = resolver(host, port)
    address = next((a for a in addresses if allow_private or is_public(a)), None)
    if address is None:
        if host in addresses:  # an address literal
            raise AttemptFailed(f"{host} is not a public address")
        raise AttemptFailed(
            f"{host} resolves to no public address" if addresses else f"{host} does not resolve"
        )
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise AttemptFailed(f"no answer within {deadline:g} s")
    watchdog = _Watchdog(remaining)
    connection = (_PinnedHTTPS if secure else _PinnedHTTP)(host, port, address, remaining, watchdog)
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    watchdog.start()
    try:
        connection.request("POST", target, body, headers)
        return connection.getresponse().status
    except Exception:
        if watchdog.expired:
            raise AttemptFailed(f"no answer within {deadline:g} s") from None
        raise
    finally:
        watchdog.cancel()
        connection.close()


class _Watchdog:
    """Shuts the attempt's socket down when its time is up."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    """Wake whatever waits on the socket: the plain socket's shutdown, also for a TLS socket
    (whose own ``shutdown`` would drop its TLS state under a reading thread)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to ``host`` (its ``Host`` header) made to a checked ``address``."""

    def __init__(self, host: str, port: int, address: str, timeout: float, watchdog: _Watchdog) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._watchdog = watchdog

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self._watchdog.watch(sock)
        return sock

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    """The same over TLS, SNI and the certificate check on ``host``; the handshake is under
    the watchdog too."""

    def connect(self) -> None:
        tls = _TLS.wrap_socket(self._open(), server_hostname=self.host, do_handshake_on_connect=False)
        self.sock = tls
        self._watchdog.watch(tls)
        tls.do_handshake()
