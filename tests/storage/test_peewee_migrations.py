"""The versioned schema: fresh databases, upgrades, appended steps, failures."""

from __future__ import annotations

import peewee as pw
import pytest
from abaco_peewee import migrations
from abaco_peewee.migrations import STEPS, Step, StepContext, latest_version
from abaco_peewee.models import MODELS
from abaco_peewee.store import PeeweeStore
from peewee_dbs import fresh_database_url
from peewee_factories import T0, actor, execution, full_actor, full_execution, message, worker

from abaco_core.errors import StoreError

LATEST = latest_version()


def shape(db: pw.Database) -> dict[str, tuple[set, set]]:
    """Tables → (columns as (name, type, null, pk), indexes as (columns, unique))."""
    out = {}
    for table in db.get_tables():
        columns = {(c.name, c.data_type.lower(), c.null, c.primary_key) for c in db.get_columns(table)}
        indexes = {(tuple(i.columns), i.unique) for i in db.get_indexes(table)}
        out[table] = (columns, indexes)
    return out


def test_steps_are_numbered_from_one():
    assert [s.version for s in STEPS] == list(range(1, len(STEPS) + 1))
    assert LATEST >= 2


def test_fresh_database(make_store):
    store = make_store(migrate=False)
    assert store.schema_version() == 0
    store.migrate()
    assert store.schema_version() == LATEST
    rows = store.database.execute_sql(
        'SELECT "version", "description", "applied_at" FROM "abaco_schema_version" ORDER BY 1'
    ).fetchall()
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))
    assert [r[1] for r in rows] == [s.description for s in STEPS]
    assert all(r[2] for r in rows)


def test_migrate_is_idempotent(store):
    assert migrations.migrate(store.database) == []
    store.migrate()
    assert store.schema_version() == LATEST


def test_migrated_schema_matches_the_models(store, db_kind, tmp_path):
    """models.py describes exactly what the steps build (tables, columns, types, indexes)."""
    with fresh_database_url(db_kind, tmp_path) as url:
        reference = PeeweeStore(url)
        try:
            with reference.database.bind_ctx(MODELS):
                reference.database.create_tables(MODELS)
            assert shape(store.database) == shape(reference.database)
        finally:
            reference.close()


@pytest.mark.parametrize("start", range(LATEST))
def test_upgrade_from_every_older_version(make_store, start):
    store = make_store(migrate=False)
    assert migrations.migrate(store.database, target=start) == list(range(1, start + 1))
    assert store.schema_version() == start
    store.migrate()
    assert store.schema_version() == LATEST


def test_upgrade_from_the_previous_version_keeps_the_rows(make_store, db_kind, tmp_path):
    store = make_store(migrate=False)
    migrations.migrate(store.database, target=LATEST - 1)
    assert store.schema_version() == LATEST - 1
    # rows written by the store at version N-1 (in tables that exist there)
    store.create_actor(full_actor(actor_id="a1"))
    done = full_execution(actor_id="a1")
    store.create_execution(done, message(done, b"\x00bin"))
    store.add_worker(worker("a1", worker_id="w1"))
    store.set_logs("dev", "a1", done.id, "logs before the upgrade", None)

    store.migrate()

    assert store.schema_version() == LATEST
    assert store.get_actor("dev", "a1") == full_actor(actor_id="a1")
    assert store.get_execution("dev", "a1", done.id) == done
    assert store.get_message("dev", "a1", done.id).payload == b"\x00bin"
    assert [w.id for w in store.list_workers("dev", "a1")] == ["w1"]
    assert store.get_logs("dev", "a1", done.id, T0) == "logs before the upgrade"
    store.add_result("dev", "a1", done.id, b"result after the upgrade", T0)
    assert store.pop_result("dev", "a1", done.id, T0) == b"result after the upgrade"
    # and the upgraded database has the shape of a fresh one
    with fresh_database_url(db_kind, tmp_path) as url:
        fresh = PeeweeStore(url)
        try:
            fresh.migrate()
            assert shape(store.database) == shape(fresh.database)
        finally:
            fresh.close()


def _add_queue_column(ctx: StepContext) -> None:
    """What a later issue's step looks like: a column with a default, and its index.

    The server-side DEFAULT lets code that does not know the column (an older process in a
    rolling upgrade) still insert rows."""
    column = pw.TextField(default="default", constraints=[pw.SQL("DEFAULT 'default'")])
    ctx.run(
        ctx.migrator.add_column("abaco_executions", "queue", column),
        ctx.migrator.add_index("abaco_executions", ("queue",), False),
    )


def test_an_appended_step_upgrades_a_database_with_rows(store):
    ex = execution("a1", execution_id="before")
    store.create_execution(ex, message(ex))
    steps = [*STEPS, Step(LATEST + 1, "executions: queue", _add_queue_column)]

    assert migrations.migrate(store.database, steps=steps) == [LATEST + 1]
    assert migrations.migrate(store.database, steps=steps) == []
    assert store.schema_version() == LATEST + 1
    db = store.database
    assert "queue" in {c.name for c in db.get_columns("abaco_executions")}
    assert db.execute_sql('SELECT "queue" FROM "abaco_executions"').fetchall() == [("default",)]
    # the store keeps working on the newer schema
    after = execution("a1", execution_id="after")
    store.create_execution(after, message(after))
    assert [e.id for e in store.list_executions("dev", "a1")] == ["before", "after"]
    # but an abaco that knows fewer steps refuses to migrate it
    with pytest.raises(StoreError, match="newer"):
        store.migrate()


def test_a_failing_step_leaves_the_previous_version(store):
    def broken(ctx: StepContext) -> None:
        ctx.execute('CREATE TABLE "abaco_half_done" ("x" INTEGER)')
        ctx.execute('INSERT INTO "abaco_half_done" VALUES (1)')
        raise RuntimeError("step failed midway")

    steps = [*STEPS, Step(LATEST + 1, "broken", broken)]
    with pytest.raises(RuntimeError, match="midway"):
        migrations.migrate(store.database, steps=steps)
    assert store.schema_version() == LATEST
    assert "abaco_half_done" not in store.database.get_tables()


def test_bad_targets_and_step_lists(store):
    with pytest.raises(StoreError):
        migrations.migrate(store.database, target=LATEST + 1)
    with pytest.raises(StoreError):
        migrations.migrate(store.database, target=-1)
    with pytest.raises(StoreError):
        migrations.migrate(store.database, steps=[STEPS[1]])
    with pytest.raises(ValueError):
        migrations.step(LATEST + 5, "out of order")(lambda ctx: None)


def test_an_unmigrated_database_says_so(make_store):
    store = make_store(migrate=False)
    with pytest.raises(StoreError, match="migrate") as info:
        store.get_actor("dev", "a1")
    assert type(info.value) is StoreError  # not "unavailable": the database answered
    with pytest.raises(StoreError, match="migrate"):
        store.create_actor(actor())
