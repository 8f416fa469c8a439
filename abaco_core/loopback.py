"""Keeping web pages out of a server that lets every caller in (``ABACO_AUTH=none``).

Such a server trusts whoever can connect, which on loopback means "this machine". A browser
on this machine can connect too, on behalf of any page it shows: a cross-site form or
``fetch`` (CSRF), a page whose DNS name is rebound to 127.0.0.1 (DNS rebinding, same-origin
to the browser), or a reverse proxy on this machine that forwards the world's requests. So
the server answers only requests that name it by a loopback address (``Host``), come from no
page or a page served from this machine (``Origin``, ``Sec-Fetch-Site``), and did not pass a
proxy (``Forwarded``, ``X-Forwarded-*``, ``X-Real-IP``). No web framework here: the API hands
in the lower-case request headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import ForbiddenOrigin
from .settings import Settings, is_loopback

__all__ = ["PROXY_HEADERS", "LocalOnly", "host_name"]

#: headers a reverse proxy adds; none of them reaches a server that is called directly
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")

#: ``name`` or ``[IPv6]``, then an optional port: a Host header, or an origin after ``scheme://``
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[^\[\]:/@?#\s]+))(?::\d{1,5})?", re.IGNORECASE)
_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<host>.+)", re.IGNORECASE)
_REFUSED = "Forbidden: this server lets every caller in without a credential (ABACO_AUTH=none), so "


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header value (``name[:port]``, ``[ipv6][:port]``), lower-case and
    without brackets; ``None`` when the value is not one."""
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    return (match["ipv6"] or match["name"]).lower()


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")


class LocalOnly:
    """The checks for one server's settings: ``check(headers)`` raises
    :class:`~abaco_core.errors.ForbiddenOrigin` for a request from elsewhere, and
    ``allows_origin(origin)`` says whether a CORS response may name that origin.

    Hosts served: loopback names and addresses (``localhost``, 127.0.0.0/8, ``[::1]``) with any
    port, and the host of the configured API server (``ABACO_API_SERVER``: actor containers
    call the API by that name). ``allow_public_none`` (the operator chose to serve everyone
    who can connect) lifts the ``Host`` and proxy checks; the ``Origin`` check stays, since a
    browser inside that network is still no reason to obey every page it shows.
    """

    def __init__(self, settings: Settings) -> None:
        self.public = settings.allow_public_none
        own = urlsplit(settings.resolved_api_server).hostname
        self.hosts = frozenset({own.lower()} if own else ())

    def allows_host(self, name: str | None) -> bool:
        return name is not None and (is_loopback(name) or name in self.hosts)

    def allows_origin(self, origin: str) -> bool:
        """Whether ``origin`` is a page served from this machine (or by the API server's host)."""
        match = _ORIGIN.fullmatch(origin.strip())
        return match is not None and self.allows_host(host_name(match["host"]))

    def check(self, headers: Mapping[str, str]) -> None:
        """Refuse a request from elsewhere; ``headers`` have lower-case names."""
        if not self.public:
            host = headers.get("host")
            # a browser always sends Host; a bare HTTP/1.0 client may not, and is no page
            if host is not None and not self.allows_host(host_name(host)):
                raise ForbiddenOrigin(
                    f"{_REFUSED}it answers only requests addressed to localhost, 127.0.0.0/8 or "
                    f"[::1] (or the host of ABACO_API_SERVER), not Host {_shown(host)}: a page whose "
                    "name was rebound to this machine would be an admin. Call it as "
                    "http://127.0.0.1:<port>, or choose token or jwt authentication."
                )
            proxied = [name for name in PROXY_HEADERS if name in headers]
            if proxied:
                raise ForbiddenOrigin(
                    f"{_REFUSED}it refuses requests through a proxy ({', '.join(proxied)}): every "
                    "client of the proxy would be an admin. Choose token or jwt authentication, "
                    "or force it with ABACO_ALLOW_PUBLIC_NONE=true."
                )
        origin = headers.get("origin")
        if origin is not None:
            if not self.allows_origin(origin):
                raise ForbiddenOrigin(
                    f"{_REFUSED}it refuses requests from web pages not served from this machine "
                    f"(Origin {_shown(origin)}): any page could act as an admin. Choose token or "
                    "jwt authentication to serve browser clients."
                )
        elif headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
            raise ForbiddenOrigin(
                f"{_REFUSED}it refuses cross-site requests (Sec-Fetch-Site: cross-site): a page "
                "of another site would act as an admin."
            )
