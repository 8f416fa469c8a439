"""Authentication end to end: a real ``abaco up`` over real HTTP, the real ``abaco token`` CLI,
the real store (SQLite, and PostgreSQL for tenant isolation). The container backend is the
in-memory fake: what is under test is who the server lets in and what it records, and the
fake's echo image prints the environment a container would get (spec §3, §2.11, §8.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.auth.keys import gateway_jwt, private_key, public_pem
from tests.conftest import ROOT, AbacoProcess, free_port
from tests.queues.services import postgres_schema

NO_CREDENTIAL = "No JWT or nonce provided."
MISSING_ROLE = "Not authorized -- missing required role."
BAD_TOKEN = "Invalid API token: it is unknown or was revoked."
ADMIN = "Internal/abaco-admin"
USER = "Internal/everyone,Internal/abaco-user"


def abaco(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The ``abaco`` command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "abaco_core.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def create_token(data_dir: Path, user: str, role: str, *extra: str) -> str:
    done = abaco("token", "create", "--user", user, "--role", role, "--data-dir", str(data_dir), *extra)
    assert done.returncode == 0, done.stderr
    *_, last = done.stdout.strip().splitlines()
    assert last.startswith("abaco_") and " " not in last, done.stdout
    return last


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"message": message, "result": None, "status": "error", "version": "0.1.0"}


def wait_logs(server: AbacoProcess, actor_id: str, execution_id: str, headers: dict[str, str]) -> str:
    deadline = time.monotonic() + 30
    url = f"/actors/{actor_id}/executions/{execution_id}"
    while server.client.get(url, headers=headers).json()["result"]["status"] != "COMPLETE":
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)
    return server.client.get(url + "/logs", headers=headers).json()["result"]["logs"]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:
    """Start ``abaco up`` (fake backend) with ``env``; ``headers`` authenticate its client."""
    started: list[AbacoProcess] = []

    def start(headers: dict[str, str], data_dir: Path | None = None, **env: str) -> AbacoProcess:
        server = AbacoProcess(data_dir or tmp_path / f"data-{len(started)}", {"ABACO_BACKEND": "fake", **env})
        server.client.headers.update(headers)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        server.client.close()


# -- API tokens ---------------------------------------------------------------------------------


def test_tokens_made_by_the_cli_authenticate_until_revoked(servers, tmp_path):
    data_dir = tmp_path / "data"
    admin = create_token(data_dir, "root", "admin", "--description", "ops")  # store created here
    server = servers({"Authorization": f"Bearer {admin}"}, data_dir, ABACO_AUTH="token")
    anonymous = httpx.Client(base_url=server.url, timeout=30)

    assert_error(anonymous.get("/actors"), 400, NO_CREDENTIAL)
    assert_error(anonymous.get("/actors", headers={"Authorization": "Bearer not-ours"}), 400, NO_CREDENTIAL)

    alice = create_token(data_dir, "alice", "basic")  # while the server runs
    as_alice = {"Authorization": f"Bearer {alice}"}
    created = anonymous.post("/actors", json={"image": "abaco-test/busybox:1"}, headers=as_alice)
    assert created.status_code == 200, created.text
    actor = created.json()["result"]
    assert actor["owner"] == "alice"

    sent = anonymous.post(
        f"/actors/{actor['id']}/messages?_abaco_username=mallory", data={"message": "hi"}, headers=as_alice
    )
    assert sent.status_code == 200, sent.text
    logs = wait_logs(server, actor["id"], sent.json()["result"]["execution_id"], as_alice)
    assert "\n_abaco_username=alice\n" in logs
    assert "_abaco_jwt_header_name" not in logs

    listed = abaco("token", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    alice_id = alice.split("_")[1]
    assert alice_id in listed.stdout and admin.split("_")[1] in listed.stdout and "ops" in listed.stdout
    assert alice not in listed.stdout and admin not in listed.stdout

    revoked = abaco("token", "revoke", alice_id, "--data-dir", str(data_dir))
    assert revoked.returncode == 0 and f"Token {alice_id} of user alice" in revoked.stdout, revoked.stderr
    refused = anonymous.get(f"/actors/{actor['id']}", headers=as_alice)
    assert_error(refused, 401, BAD_TOKEN)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert_error(anonymous.get("/actors", headers={"Authorization": f"Bearer {alice[:-2]}"}), 401, BAD_TOKEN)
    assert server.client.get(f"/actors/{actor['id']}").status_code == 200  # the admin token still works

    unknown = abaco("token", "revoke", "000000000000", "--data-dir", str(data_dir))
    assert unknown.returncode == 2 and "no token with id '000000000000'" in unknown.stderr
    anonymous.close()

    # hashed at rest: neither token, nor its secret part, is in any file the server keeps
    server.stop()
    kept = b"".join(path.read_bytes() for path in data_dir.rglob("*") if path.is_file())
    assert b"abaco.db" in b" ".join(p.name.encode() for p in data_dir.iterdir())
    for token in (admin, alice):
        assert token.encode() not in kept
        assert token.split("_", 2)[2].encode() not in kept


def test_a_token_of_another_tenant_sees_nothing_of_this_one(servers, tmp_path):
    data_dir = tmp_path / "data"
    here = create_token(data_dir, "alice", "admin")
    elsewhere = create_token(data_dir, "alice", "admin", "--tenant", "ELSEWHERE")
    server = servers({"Authorization": f"Bearer {here}"}, data_dir, ABACO_AUTH="token")
    actor_id = server.register(image="abaco-test/busybox:1")["id"]
    there = {"Authorization": f"Bearer {elsewhere}"}
    assert_error(
        server.client.get(f"/actors/{actor_id}", headers=there),
        404,
        f"No actor found with identifier: {actor_id}.",
    )
    assert server.client.get("/actors", headers=there).json()["result"] == []


# -- none on a public address ---------------------------------------------------------------------


def test_none_on_a_public_address_does_not_start(tmp_path):
    for how in (["--auth", "none"], []):
        done = abaco(
            "up",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--backend",
            "fake",
            "--data-dir",
            str(tmp_path / "data"),
            *how,
            env={"ABACO_AUTH": "none"},
            timeout=30,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert "refusing to serve 0.0.0.0 with ABACO_AUTH=none" in done.stderr
        assert "--allow-public-none" in done.stderr and "listening on" not in done.stdout


def test_none_on_a_public_address_when_forced(servers):
    server = servers({}, ABACO_HOST="0.0.0.0", ABACO_AUTH="none", ABACO_ALLOW_PUBLIC_NONE="true")
    assert server.register(image="abaco-test/busybox:1")["owner"] == "local"
    assert "abaco: authentication none: every request acts as 'local' (an admin)." in server.log()


def test_a_public_address_defaults_to_tokens(servers, tmp_path):
    data_dir = tmp_path / "data"
    token = create_token(data_dir, "alice", "basic")
    server = servers({"Authorization": f"Bearer {token}"}, data_dir, ABACO_HOST="0.0.0.0")
    assert_error(httpx.get(f"{server.url}/actors", timeout=30), 400, NO_CREDENTIAL)
    assert "abaco: authentication token." in server.log()


# -- JWT and tenants ------------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.pem"
    path.write_text(public_pem(private_key()))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
    else:
        with postgres_schema() as url:
            yield {"ABACO_DATABASE_URL": url}


def test_jwt_tenants_are_isolated(servers, key_file, database):
    """One signed JWT, sent under two tenants' header names, acts in two worlds (spec §2.11).
    The caller is an admin, so no permission rule hides anything: the tenant alone does."""
    root = gateway_jwt("root@carbon.super", ADMIN)
    develop = {"X-Jwt-Assertion-DEV-DEVELOP": root}
    server = servers(develop, ABACO_AUTH="jwt", ABACO_JWT_PUBLIC_KEY=str(key_file), **database)
    staging = httpx.Client(base_url=server.url, headers={"X-Jwt-Assertion-DEV-STAGING": root}, timeout=30)
    mine = server.register(image="abaco-test/busybox:1", name="develop-only")["id"]
    theirs = staging.post("/actors", json={"image": "abaco-test/busybox:1"}).json()["result"]["id"]

    assert [a["id"] for a in server.client.get("/actors").json()["result"]] == [mine]
    assert [a["id"] for a in staging.get("/actors").json()["result"]] == [theirs]
    for method, path in (
        ("GET", f"/actors/{mine}"),
        ("GET", f"/actors/{mine}/executions"),
        ("POST", f"/actors/{mine}/messages"),
        ("DELETE", f"/actors/{mine}"),
    ):
        response = staging.request(method, path, data={"message": "x"})
        assert_error(response, 404, f"No actor found with identifier: {mine}.")
    assert_error(server.client.get(f"/actors/{theirs}"), 404, f"No actor found with identifier: {theirs}.")
    assert server.client.get(f"/actors/{mine}").json()["result"]["name"] == "develop-only"
    staging.close()


def test_jwt_tenants_can_be_bounded(servers, key_file):
    """With ``ABACO_JWT_TENANTS`` and ``ABACO_JWT_TENANT_CLAIM``, renaming the header no longer
    moves a JWT to another tenant: it is an invalid JWT there."""
    tenant_claim = "http://wso2.org/claims/tenant"
    root = gateway_jwt("root@carbon.super", ADMIN, **{tenant_claim: "DEV-DEVELOP"})
    server = servers(
        {"X-Jwt-Assertion-DEV-DEVELOP": root},
        ABACO_AUTH="jwt",
        ABACO_JWT_PUBLIC_KEY=str(key_file),
        ABACO_JWT_TENANTS="DEV-DEVELOP,DEV-STAGING",
        ABACO_JWT_TENANT_CLAIM=tenant_claim,
    )
    assert server.client.get("/actors").status_code == 200
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    for header in ("X-Jwt-Assertion-INVENTED", "X-Jwt-Assertion-DEV-STAGING"):
        assert_error(anonymous.get("/actors", headers={header: root}), 400, NO_CREDENTIAL)
    anonymous.close()


def test_jwt_callers_reach_the_container(servers, key_file):
    alice = {"X-Jwt-Assertion-Dev-Develop": gateway_jwt("alice@carbon.super", USER)}
    server = servers(alice, ABACO_AUTH="jwt", ABACO_JWT_PUBLIC_KEY=str(key_file))
    actor = server.register(image="abaco-test/busybox:1")
    assert actor["owner"] == "alice"
    sent = server.client.post(
        f"/actors/{actor['id']}/messages?_abaco_jwt_header_name=forged", data={"message": "hello"}
    )
    assert sent.status_code == 200, sent.text
    logs = wait_logs(server, actor["id"], sent.json()["result"]["execution_id"], alice)
    assert "\n_abaco_username=alice\n" in logs
    assert "\n_abaco_jwt_header_name=X-Jwt-Assertion-Dev-Develop\n" in logs


def test_jwts_that_do_not_authenticate(servers, key_file):
    valid = {"X-Jwt-Assertion-TACC": gateway_jwt("alice@carbon.super", USER)}
    server = servers(valid, ABACO_AUTH="jwt", ABACO_JWT_PUBLIC_KEY=str(key_file))
    cases = {
        "expired": gateway_jwt(exp=time.time() - 5),
        "signed by another key": gateway_jwt(key=private_key("intruder")),
        "exp in milliseconds": gateway_jwt(exp=(time.time() + 3600) * 1000),
        "not a JWT": "garbage",
    }
    for case, token in cases.items():
        response = server.client.get("/actors", headers={"X-Jwt-Assertion-TACC": token})
        assert response.status_code == 400 and response.json()["message"] == NO_CREDENTIAL, case
    # the right JWT under a header that names no tenant is no JWT either
    bare = httpx.get(f"{server.url}/actors", headers={"X-Jwt-Tenant-TACC": valid["X-Jwt-Assertion-TACC"]})
    assert_error(bare, 400, NO_CREDENTIAL)
    no_roles = server.client.get("/actors", headers={"X-Jwt-Assertion-TACC": gateway_jwt(roles=None)})
    assert_error(no_roles, 400, MISSING_ROLE)
    strangers = server.client.get(
        "/actors", headers={"X-Jwt-Assertion-TACC": gateway_jwt(roles="Internal/x")}
    )
    assert_error(strangers, 400, MISSING_ROLE)


def test_millisecond_exp_with_the_compatibility_setting(servers, key_file):
    in_ms = {"X-Jwt-Assertion-TACC": gateway_jwt(exp=(time.time() - 60) * 1000)}
    server = servers(
        in_ms, ABACO_AUTH="jwt", ABACO_JWT_PUBLIC_KEY=str(key_file), ABACO_JWT_MS_EXP_COMPAT="true"
    )
    assert server.client.get("/actors").status_code == 200
    expired = server.client.get("/actors", headers={"X-Jwt-Assertion-TACC": gateway_jwt(exp=time.time() - 5)})
    assert_error(expired, 400, NO_CREDENTIAL)


def test_jwt_then_tokens_then_nothing(servers, key_file, tmp_path):
    data_dir = tmp_path / "data"
    token = create_token(data_dir, "bob", "privileged", "--tenant", "TACC")
    server = servers(
        {"Authorization": f"Bearer {token}"},
        data_dir,
        ABACO_AUTH="jwt,token",
        ABACO_JWT_PUBLIC_KEY=str(key_file),
    )
    assert server.register(image="abaco-test/busybox:1")["owner"] == "bob"
    by_jwt = {"X-Jwt-Assertion-TACC": gateway_jwt("carol@carbon.super", USER), "Authorization": "Bearer x"}
    created = server.client.post("/actors", json={"image": "abaco-test/busybox:1"}, headers=by_jwt)
    assert created.json()["result"]["owner"] == "carol"
    assert_error(httpx.get(f"{server.url}/actors"), 400, NO_CREDENTIAL)


def test_a_bad_jwt_setup_does_not_start(tmp_path):
    done = abaco(
        "up", "--port", str(free_port()), "--backend", "fake", "--data-dir", str(tmp_path), "--auth", "jwt"
    )
    assert done.returncode == 2 and "no public key is set" in done.stderr, done.stderr
    unknown = abaco(
        "up", "--port", str(free_port()), "--backend", "fake", "--data-dir", str(tmp_path), "--auth", "ldap"
    )
    assert unknown.returncode == 2 and "unknown authentication method 'ldap'" in unknown.stderr
