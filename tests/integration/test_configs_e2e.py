"""Actor configs over real HTTP (spec §4.7, §5.13, §8.2): a secret's plaintext appears in no
response (GET, list, PUT, errors), no log record and no byte of the database; a real Docker
container gets ``_actor_configs`` with the secret decrypted; PostgreSQL keeps ciphertext too."""

from __future__ import annotations

import ast
import hashlib
import logging
import uuid
from pathlib import Path

import psycopg2
import pytest
from cryptography.fernet import Fernet

from abaco_core.crypto import KEY_FILE
from tests.conftest import require_engine
from tests.integration.inprocess import InProcessAbaco
from tests.storage.peewee_dbs import fresh_schema


def plaintext() -> str:
    return f"pw-{uuid.uuid4().hex}"


@pytest.fixture
def abaco(tmp_path, caplog):
    require_engine("docker")
    caplog.set_level(logging.DEBUG)
    server = InProcessAbaco(str(tmp_path / "data"), backend="docker", cron_interval=0).start()
    yield server
    server.stop()


def body(response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def assert_no_leak(secret: str, responses: list, caplog) -> None:
    for r in responses:
        assert secret not in r.text, f"{r.request.method} {r.request.url} leaked the secret"
    for record in caplog.records:
        assert secret not in record.getMessage(), f"log record {record.name} leaked the secret"
        assert secret not in repr(record.args)


def test_a_secret_is_never_shown_and_reaches_the_container(abaco, tmp_path, caplog):
    c = abaco.client
    # the container proves it got the value without printing it (its output is its logs)
    runner = abaco.register(
        image="abaco-test/sh:1",
        default_environment={"SCRIPT": 'printf %s "$_actor_configs" | sha256sum'},
    )
    other = abaco.register(image="abaco-test/busybox:1")
    secret, new_secret = plaintext(), plaintext()
    seen = []

    r = c.post(
        "/actors/configs",
        json={"name": "db.password", "value": secret, "is_secret": True, "actors": runner["id"]},
    )
    seen.append(r)
    assert r.status_code == 200, r.text
    created = body(r)["result"]
    assert created["is_secret"] is True and created["actors"] == runner["id"]
    key = (tmp_path / "data" / KEY_FILE).read_bytes()
    assert Fernet(key).decrypt(created["value"].encode()).decode() == secret  # ciphertext of it

    plain = c.post(
        "/actors/configs",
        data={"name": "greeting", "value": "hello", "is_secret": "false", "actors": runner["id"]},
    )
    assert plain.status_code == 200 and body(plain)["result"]["value"] == "hello"

    for r in (
        c.get("/actors/configs/db.password"),
        c.get("/actors/v2/configs/db.password"),
        c.get("/actors/configs"),
    ):
        seen.append(r)
        assert r.status_code == 200
    listed = {cfg["name"]: cfg for cfg in body(seen[-1])["result"]}
    assert listed["db.password"]["value"] == created["value"]
    assert listed["greeting"] == {
        "name": "greeting",
        "value": "hello",
        "is_secret": False,
        "actors": runner["id"],
    }

    # errors carrying the secret in their request: duplicate, unknown actor, bad fields, reserved name
    errors = [
        (
            c.post(
                "/actors/configs",
                json={"name": "db.password", "value": secret, "is_secret": True, "actors": runner["id"]},
            ),
            400,
        ),
        (
            c.post(
                "/actors/configs", json={"name": "x", "value": secret, "is_secret": True, "actors": "nope"}
            ),
            404,
        ),
        (
            c.post(
                "/actors/configs",
                json={"name": "x", "value": secret, "is_secret": "maybe", "actors": runner["id"]},
            ),
            400,
        ),
        (
            c.post(
                "/actors/configs",
                json={"name": "logs", "value": secret, "is_secret": True, "actors": runner["id"]},
            ),
            400,
        ),
        (
            c.put("/actors/configs/db.password", json={"value": secret, "is_secret": True, "actors": "nope"}),
            404,
        ),
        (
            c.put(
                "/actors/configs/nosuch", json={"value": secret, "is_secret": True, "actors": runner["id"]}
            ),
            404,
        ),
        (
            c.post(
                "/actors/configs",
                content=b'{"value": "' + secret.encode(),
                headers={"content-type": "application/json"},
            ),
            400,
        ),
    ]
    for r, status in errors:
        assert r.status_code == status, r.text
        assert body(r)["status"] == "error"
        seen.append(r)
    assert "already exists; please choose another name for your config" in errors[0][0].json()["message"]
    assert errors[1][0].json()["message"] == "No actor or alias found with id: nope."

    # PUT: re-encrypted, attached to both actors
    r = c.put(
        "/actors/configs/db.password",
        json={"value": new_secret, "is_secret": True, "actors": f"{runner['id']},{other['id']}"},
    )
    seen.append(r)
    assert r.status_code == 200, r.text
    assert body(r)["message"] == "Actor config updated successfully."
    assert Fernet(key).decrypt(body(r)["result"]["value"].encode()).decode() == new_secret

    # nothing so far put either plaintext into the database or its WAL
    for path in (tmp_path / "data").iterdir():
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and new_secret.encode() not in data, path.name

    # a real container gets _actor_configs as a Python literal, secret decrypted
    r = c.post(f"/actors/{runner['id']}/messages", data={"message": "show"})
    execution = abaco.wait_execution(runner["id"], r.json()["result"]["execution_id"])
    assert execution["status"] == "COMPLETE", execution
    expected = repr({"db.password": new_secret, "greeting": "hello"})
    assert ast.literal_eval(expected) == {"db.password": new_secret, "greeting": "hello"}
    assert hashlib.sha256(expected.encode()).hexdigest() in abaco.logs(runner["id"], execution["id"])

    assert_no_leak(secret, seen, caplog)
    assert_no_leak(new_secret, seen, caplog)

    # deleting the config removes it and its permissions
    r = c.delete("/actors/configs/db.password")
    assert r.status_code == 200 and body(r) == {
        "message": "Actor config db.password deleted successfully.",
        "result": None,
        "status": "success",
        "version": body(r)["version"],
    }
    assert c.get("/actors/configs/db.password").status_code == 404
    assert abaco.platform.store.get_permissions("local", "config", "db.password") == {}


def test_deleting_an_actor_removes_it_from_configs_over_http(abaco):
    c = abaco.client
    a = abaco.register(image="abaco-test/busybox:1")
    b = abaco.register(image="abaco-test/busybox:1")
    r = c.post(
        "/actors/configs",
        json={"name": "shared", "value": "v", "is_secret": False, "actors": f"{a['id']},{b['id']}"},
    )
    assert r.status_code == 200, r.text
    assert c.delete(f"/actors/{a['id']}").status_code == 200
    assert c.get("/actors/configs/shared").json()["result"]["actors"] == b["id"]


def test_configs_routes_answer_405_for_other_methods(abaco):
    r = abaco.client.delete("/actors/configs")
    assert r.status_code == 405 and r.json()["status"] == "error"
    r = abaco.client.post("/actors/configs/x", json={})
    assert r.status_code == 405


@pytest.mark.postgres
def test_postgresql_keeps_only_ciphertext(tmp_path):
    """The store is PostgreSQL (cluster mode): the key must be configured, and the row holds
    the Fernet token, never the plaintext."""
    secret = plaintext()
    key = Fernet.generate_key().decode()
    with fresh_schema() as url:
        no_key = InProcessAbaco(
            str(tmp_path / "a"), backend="fake", database_url=url, cron_interval=0
        ).start()
        try:
            actor = no_key.register(image="abaco-test/busybox:1")
            r = no_key.client.post(
                "/actors/configs",
                json={"name": "s", "value": secret, "is_secret": True, "actors": actor["id"]},
            )
            assert r.status_code == 503 and "ABACO_ENCRYPTION_KEY" in r.json()["message"], r.text
            assert secret not in r.text
        finally:
            no_key.stop()
        server = InProcessAbaco(
            str(tmp_path / "b"), backend="fake", database_url=url, encryption_key=key, cron_interval=0
        ).start()
        try:
            r = server.client.post(
                "/actors/configs",
                json={"name": "s", "value": secret, "is_secret": True, "actors": actor["id"]},
            )
            assert r.status_code == 200, r.text
            token = r.json()["result"]["value"]
        finally:
            server.stop()
        conn = psycopg2.connect(url)
        try:
            cur = conn.cursor()
            cur.execute("SELECT doc FROM abaco_objects WHERE kind = 'config'")
            rows = [str(row[0]) for row in cur.fetchall()]
        finally:
            conn.close()
    assert len(rows) == 1 and token in rows[0] and secret not in rows[0]
    assert Fernet(key.encode()).decrypt(token.encode()).decode() == secret
    assert not (Path(tmp_path / "b") / KEY_FILE).exists()
