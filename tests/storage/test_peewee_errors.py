"""Failures come out as abaco errors: unreachable, closed, locked and dropped databases,
values a database cannot hold. No peewee, psycopg2 or sqlite3 exception escapes."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid

import pytest
from abaco_peewee.db import PooledPostgres
from abaco_peewee.store import PeeweeStore
from peewee_dbs import postgres_base_url, require_postgres
from peewee_factories import T0, actor, execution, message, worker

from abaco_core.errors import AbacoError, InvalidRequest, StoreError, StoreUnavailable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def every_operation(store: PeeweeStore) -> list:
    ex = execution()
    return [
        store.migrate,
        store.schema_version,
        store.ping,
        lambda: store.create_actor(actor()),
        lambda: store.get_actor("dev", "a1"),
        lambda: store.list_actors(None),
        lambda: store.save_actor(actor()),
        lambda: store.delete_actor("dev", "a1"),
        lambda: store.create_execution(ex, message(ex)),
        lambda: store.get_execution("dev", "a1", "e1"),
        lambda: store.list_executions("dev", "a1"),
        lambda: store.executions_with_status(["RUNNING"]),
        lambda: store.execution_totals("dev", "a1"),
        lambda: store.update_execution(ex),
        lambda: store.get_message("dev", "a1", "e1"),
        lambda: store.delete_message("dev", "a1", "e1"),
        lambda: store.set_logs("dev", "a1", "e1", "x", None),
        lambda: store.get_logs("dev", "a1", "e1", T0),
        lambda: store.expire_logs(T0),
        lambda: store.add_result("dev", "a1", "e1", b"r", T0),
        lambda: store.pop_result("dev", "a1", "e1", T0),
        lambda: store.expire_results(T0),
        lambda: store.add_worker(worker()),
        lambda: store.get_worker("dev", "a1", "w1"),
        lambda: store.list_workers(None),
        lambda: store.save_worker(worker()),
        lambda: store.delete_worker("dev", "a1", "w1"),
    ]


def test_postgres_nothing_listening_is_unavailable():
    url = f"postgresql://abaco:s3cret@127.0.0.1:{free_port()}/abaco_test"
    store = PeeweeStore(url)  # building a store does not connect
    try:
        started = time.monotonic()
        for operation in every_operation(store):
            with pytest.raises(StoreUnavailable) as info:
                operation()
            assert "127.0.0.1" in str(info.value)
            assert "s3cret" not in str(info.value)
            assert info.value.status == 503
        assert time.monotonic() - started < 30
    finally:
        store.close()


def test_postgres_wrong_password_is_unavailable():
    require_postgres()
    base = postgres_base_url()
    scheme, rest = base.split("://", 1)
    userinfo, hostpart = rest.split("@", 1)
    store = PeeweeStore(f"{scheme}://{userinfo.split(':')[0]}:wrong-password@{hostpart}")
    try:
        with pytest.raises(StoreUnavailable, match="password"):
            store.ping()
    finally:
        store.close()


def test_sqlite_unopenable_file_is_unavailable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for url in (f"sqlite:///{blocker}/abaco.db", f"sqlite:///{tmp_path}"):
        store = PeeweeStore(url)
        try:
            with pytest.raises(StoreUnavailable):
                store.ping()
            with pytest.raises(StoreUnavailable):
                store.migrate()
        finally:
            store.close()


def test_sqlite_not_a_database_is_unavailable(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database file" * 200)
    store = PeeweeStore(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreUnavailable):
            store.migrate()
    finally:
        store.close()


def test_closed_store_is_unavailable(store):
    store.close()
    store.close()  # twice is fine
    for operation in every_operation(store):
        with pytest.raises(StoreUnavailable, match="closed"):
            operation()


def test_sqlite_write_lock_held_too_long_is_unavailable(tmp_path):
    path = tmp_path / "locked.db"
    store = PeeweeStore(f"sqlite:///{path}?busy_timeout=0.2")
    store.migrate()
    store.create_actor(actor(actor_id="there"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="locked"):
            store.create_actor(actor())
        assert time.monotonic() - started < 5
        with pytest.raises(StoreUnavailable, match="locked"):
            store.add_worker(worker("there"), max_workers=1)
        # WAL: readers are not blocked by the writer
        assert store.get_actor("dev", "there").id == "there"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.create_actor(actor())  # and writes work again once the lock is gone
    store.close()


def test_sqlite_waits_for_a_short_write_lock(tmp_path):
    path = tmp_path / "wait.db"
    store = PeeweeStore(f"sqlite:///{path}")
    store.migrate()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    store.create_actor(actor(actor_id="patient"))  # waits for the lock instead of failing
    assert store.get_actor("dev", "patient").id == "patient"
    holder.close()
    store.close()


def test_exhausted_pool_is_unavailable(db_url):
    sep = "&" if "?" in db_url else "?"
    store = PeeweeStore(f"{db_url}{sep}max_connections=1&pool_timeout=0.3")
    store.migrate()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.database.connection_context():
            store.database.execute_sql("SELECT 1")
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10)
        with pytest.raises(StoreUnavailable, match="max_connections"):
            store.ping()
    finally:
        release.set()
        thread.join()
    store.ping()
    store.close()


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda s: s.create_execution(e := execution(cpu=2**70), message(e)), id="int-too-big"),
        pytest.param(lambda s: s.create_execution(e := execution(), message(e, {1, 2})), id="set-payload"),
        pytest.param(lambda s: s.create_actor(actor(state={"x": object()})), id="object-state"),
        pytest.param(lambda s: s.create_actor(actor(status="BOGUS")), id="unknown-status"),
        pytest.param(lambda s: s.create_actor(actor(create_time="yesterday")), id="str-time"),
        pytest.param(lambda s: s.create_actor(actor(tenant="nul\x00")), id="nul-in-key"),
        pytest.param(lambda s: s.create_actor(actor(actor_id="lone\udcff")), id="surrogate-in-key"),
    ],
)
def test_values_a_database_cannot_hold_are_invalid_requests(store, operation):
    try:
        operation(store)
    except AbacoError as exc:
        assert isinstance(exc, InvalidRequest), repr(exc)
    # SQLite keeps a NUL in a key; then it must come back intact
    else:
        assert store.dialect == "sqlite"


@pytest.mark.postgres
def test_reads_survive_a_server_restart(postgresql_url, monkeypatch):
    """Pooled connections killed by the server are replaced without an error."""
    name = f"abaco-test-{uuid.uuid4().hex[:8]}"
    store = PeeweeStore(f"{postgresql_url}&application_name={name}")
    try:
        store.migrate()
        store.create_actor(actor(actor_id="a1"))
        _kill_connections(store, name)
        assert store.get_actor("dev", "a1").id == "a1"  # dead pooled connection found on checkout
        _kill_connections(store, name)
        store.create_actor(actor(actor_id="a2"))

        # even when the checkout check misses the dead connection, a read is retried once ...
        monkeypatch.setattr(PooledPostgres, "_is_closed", lambda self, conn: bool(conn.closed))
        _kill_connections(store, name)
        assert [a.id for a in store.list_actors("dev")] == ["a1", "a2"]
        # ... while a write fails cleanly (it may or may not have happened) and the next one works
        _kill_connections(store, name)
        with pytest.raises(StoreUnavailable):
            store.create_actor(actor(actor_id="a3"))
        store.create_actor(actor(actor_id="a3"))
        assert store.get_actor("dev", "a3").id == "a3"
    finally:
        store.close()


def _kill_connections(store: PeeweeStore, application_name: str) -> None:
    import psycopg2

    store.ping()  # at least one pooled connection exists
    admin = psycopg2.connect(postgres_base_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )
        assert cur.fetchall()
    admin.close()
    time.sleep(0.2)


def test_unmigrated_database_is_a_store_error_not_unavailable(make_store):
    store = make_store(migrate=False)
    with pytest.raises(StoreError) as info:
        store.list_actors(None)
    assert not isinstance(info.value, StoreUnavailable)
