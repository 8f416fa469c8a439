"""The single-user mode (``ABACO_AUTH=none``) over real HTTP: a web page cannot drive it, by
a cross-site request (CSRF), a rebound DNS name (DNS rebinding) or through a local reverse
proxy; the authenticated methods keep the spec's permissive CORS (§2.9). docs/api.md,
"The single-user mode and web pages"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from abaco_core.tokens import create_token
from tests.integration.inprocess import ApiServer

ECHO = "abaco-fake/echo:1"
EVIL = "https://evil.example"
REFUSED_PREFIX = "Forbidden: this server lets every caller in without a credential (ABACO_AUTH=none)"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:
    started: list[ApiServer] = []

    def start(**settings: object) -> ApiServer:
        server = ApiServer(tmp_path / f"data-{len(started)}", **settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def local(servers) -> ApiServer:
    """The default: ``none`` on 127.0.0.1."""
    return servers()


def refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert set(body) == {"message", "result", "status", "version"}, body
    assert body["status"] == "error" and body["result"] is None, body
    assert body["message"].startswith(REFUSED_PREFIX), body["message"]
    assert fragment in body["message"], body["message"]
    assert response.headers.get("access-control-allow-origin") in (None, "null"), response.headers


def actors(server: ApiServer) -> list[dict]:
    return server.client.get("/actors").json()["result"]


def test_the_reported_rebinding_and_cross_site_form_are_refused(local):
    """The review's reproduction: a page on a rebound name posts a form that registers a
    privileged actor (root on the host)."""
    r = local.client.post(
        "/actors",
        headers={"Origin": EVIL, "Host": "rebind.evil.example"},
        data={"image": ECHO, "privileged": "true"},
    )
    refused(r, "rebind.evil.example")
    assert actors(local) == []


@pytest.mark.parametrize(
    "host", ["rebind.evil.example", "rebind.evil.example:8000", "10.0.0.5", "[fe80::1]:80"]
)
def test_a_host_that_is_not_loopback_is_refused(local, host):
    """DNS rebinding: the page's own origin, so no Origin on a GET and no preflight; only the
    Host header gives the name away."""
    refused(local.client.get("/actors", headers={"Host": host}), "Host")
    refused(local.client.post("/actors", headers={"Host": host}, json={"image": ECHO}), "Host")
    assert actors(local) == []


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:{port}", "127.9.9.9:1", "[::1]", "[::1]:{port}"],
)
def test_loopback_hosts_with_any_port_are_served(local, host):
    r = local.client.get("/actors", headers={"Host": host.format(port=local.settings.port)})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "host", ["localhost@evil.example", "evil.example/localhost", "::1", "[::1", "local host"]
)
def test_a_malformed_host_is_refused(local, host):
    refused(local.client.get("/actors", headers={"Host": host}), "Host")


@pytest.mark.parametrize(
    "origin", [EVIL, "http://rebind.evil.example:8000", "null", "file://", "http://10.0.0.5"]
)
def test_a_page_elsewhere_is_refused_and_never_told_it_may_read(local, origin):
    refused(local.client.post("/actors", headers={"Origin": origin}, data={"image": ECHO}), "Origin")
    refused(local.client.get("/actors", headers={"Origin": origin}), "Origin")
    assert actors(local) == []


def test_a_preflight_from_a_page_elsewhere_gets_no_permission(local):
    r = local.client.options(
        "/actors",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert r.headers.get("access-control-allow-origin") is None, r.headers


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:{port}", "https://[::1]:8443"])
def test_a_local_page_is_served_with_its_own_origin_echoed(local, origin):
    origin = origin.format(port=local.settings.port)
    r = local.client.post("/actors", headers={"Origin": origin}, json={"image": ECHO})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == origin
    assert "Origin" in r.headers["vary"]
    r = local.client.options(
        f"/actors/{r.json()['result']['id']}/messages",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "authorization, content-type"


def test_no_request_in_this_mode_is_answered_with_a_wildcard_origin(local):
    for method in ("GET", "OPTIONS"):
        r = local.client.request(method, "/actors")
        assert "access-control-allow-origin" not in r.headers, (method, r.headers)


def test_a_cross_site_request_without_origin_is_refused(local):
    """An <img>/<script> GET or a link followed from another site: no Origin header, but the
    browser says where it comes from."""
    refused(local.client.get("/actors", headers={"Sec-Fetch-Site": "cross-site"}), "cross-site")
    for site in ("same-origin", "same-site", "none"):
        assert local.client.get("/actors", headers={"Sec-Fetch-Site": site}).status_code == 200


@pytest.mark.parametrize(
    "header, value",
    [
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Host", "abaco.example.org"),
        ("X-Real-IP", "203.0.113.9"),
    ],
)
def test_a_request_through_a_proxy_is_refused(local, header, value):
    """A reverse proxy on this machine would make every client of the proxy an admin."""
    refused(local.client.post("/actors", headers={header: value}, json={"image": ECHO}), "proxy")
    assert actors(local) == []


def test_forcing_public_none_lifts_the_host_and_proxy_checks_not_the_origin_check(servers):
    server = servers(allow_public_none=True)
    headers = {"Host": "abaco.lan:8000", "X-Forwarded-For": "10.0.0.7"}
    assert server.client.post("/actors", headers=headers, json={"image": ECHO}).status_code == 200
    refused(server.client.post("/actors", headers={"Origin": EVIL}, json={"image": ECHO}), "Origin")
    assert len(actors(server)) == 1


def test_the_configured_api_server_host_is_served(servers):
    """Containers call ``_abaco_api_server``: its host is this server's own name."""
    server = servers(api_server="http://172.17.0.1:8000/")
    for host in ("172.17.0.1:8000", "172.17.0.1"):
        assert server.client.get("/actors", headers={"Host": host}).status_code == 200
    r = server.client.get("/actors", headers={"Host": "172.17.0.1", "Origin": "http://172.17.0.1:8000"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://172.17.0.1:8000"
    refused(server.client.get("/actors", headers={"Host": "172.17.0.2:8000"}), "Host")


def test_token_mode_keeps_the_spec_cors_and_any_host(servers):
    """A browser cannot ride a bearer token: the spec's permissive CORS stays (§2.9)."""
    server = servers(auth=["token"])
    token, _record = create_token(server.platform.store, user="alice", role="basic", tenant="local")
    headers = {
        "Authorization": f"Bearer {token}",
        "Origin": EVIL,
        "Host": "abaco.example.org",
        "X-Forwarded-For": "203.0.113.9",
    }
    r = server.client.post("/actors", headers=headers, json={"image": ECHO})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    r = server.client.options(
        "/actors",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == "authorization, content-type"
