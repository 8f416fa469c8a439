"""The versioned schema of the store: an ordered list of steps and :func:`migrate`.

The database records every applied step in ``abaco_schema_version`` (one row per version,
with its description and when it was applied); its version is the highest row. :func:`migrate`
applies the missing steps in order, each in its own transaction together with its version
row, so a database is always exactly at some version. It is idempotent, and safe when
several processes start at once: each transaction first takes a lock (a transaction-level
advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and re-reads the version under
it. DDL is transactional on both databases, so a failing step leaves no trace.

Adding a step (a later issue)
-----------------------------
Append a function decorated with the next version number; never edit an applied step
(databases in the field already ran it). A step sees the database only through its
:class:`StepContext`, and declares any model it needs inline -- a frozen copy, independent
of :mod:`abaco_peewee.models`, which always describes the *latest* schema::

    @step(4, "executions: the queue an execution was routed to")
    def _v4(ctx: StepContext) -> None:
        queue = pw.TextField(default="default", constraints=[pw.SQL("DEFAULT 'default'")])
        ctx.run(
            ctx.migrator.add_column("abaco_executions", "queue", queue),
            ctx.migrator.add_index("abaco_executions", ("queue",), False),
        )

A new NOT NULL column needs a server-side ``DEFAULT`` (``constraints=[SQL(...)]``):
peewee's ``default=`` only fills the rows already there, and a process still running the
previous release (rolling upgrade) inserts rows without the column.

Then change the model in ``models.py`` (and the store's column list in ``store.py`` if the
store reads the column). ``tests/storage/test_peewee_migrations.py`` checks that a
database migrated step by step has exactly the tables, columns and indexes of
``models.py``, and that a database at the previous version is upgraded with its rows
intact.

Fields that only live in a row's ``doc`` JSON need no step at all (see :mod:`abaco_peewee.codec`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import peewee as pw
from playhouse.migrate import Operation, SchemaMigrator
from playhouse.migrate import migrate as run_operations

from abaco_core.errors import StoreError

__all__ = ["STEPS", "Step", "StepContext", "current_version", "latest_version", "migrate", "step"]

VERSION_TABLE = "abaco_schema_version"

#: key of the PostgreSQL advisory lock that serialises migrations ("abacomig")
_PG_LOCK_KEY = 0x616261636F6D6967


def dialect_of(db: pw.Database) -> str:
    if isinstance(db, pw.SqliteDatabase):
        return "sqlite"
    if isinstance(db, pw.PostgresqlDatabase):
        return "postgresql"
    raise StoreError(f"unsupported database {type(db).__name__}")


def write_transaction(db: pw.Database) -> Any:
    """A transaction that holds the write lock from its start (``BEGIN IMMEDIATE`` on SQLite)."""
    if isinstance(db, pw.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()


@dataclass
class StepContext:
    """What a migration step works with."""

    db: pw.Database
    dialect: str  #: ``sqlite`` or ``postgresql``

    @property
    def migrator(self) -> SchemaMigrator:
        """playhouse.migrate's schema migrator (add/drop/rename columns and indexes...)."""
        return SchemaMigrator.from_database(self.db)

    def run(self, *operations: Operation) -> None:
        """Run playhouse.migrate operations (already inside the step's transaction)."""
        run_operations(*operations)

    def create_tables(self, *models: type[pw.Model]) -> None:
        """Create frozen models' tables (and their indexes) on this database."""
        with self.db.bind_ctx(models, bind_refs=False, bind_backrefs=False):
            self.db.create_tables(models, safe=False)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute_sql(sql, params)


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[StepContext], None]


#: every step, in version order (1, 2, ...)
STEPS: list[Step] = []


def step(
    version: int, description: str
) -> Callable[[Callable[[StepContext], None]], Callable[[StepContext], None]]:
    """Register the next migration step (versions must be consecutive)."""

    def register(fn: Callable[[StepContext], None]) -> Callable[[StepContext], None]:
        expected = len(STEPS) + 1
        if version != expected:
            raise ValueError(f"migration step {version} registered where {expected} was expected")
        STEPS.append(Step(version, description, fn))
        return fn

    return register


def latest_version(steps: Sequence[Step] | None = None) -> int:
    steps = STEPS if steps is None else steps
    return steps[-1].version if steps else 0


def _check(steps: Sequence[Step]) -> None:
    for index, item in enumerate(steps, start=1):
        if item.version != index:
            raise StoreError(f"migration steps must be numbered 1, 2, ...; found {item.version} at {index}")


# -- the bookkeeping table (never changes shape) ---------------------------------------


class _SchemaVersion(pw.Model):
    version = pw.IntegerField(primary_key=True)
    description = pw.TextField()
    applied_at = pw.TextField()

    class Meta:
        table_name = VERSION_TABLE


def current_version(db: pw.Database) -> int:
    """The version of the schema in ``db``; 0 for a database without one."""
    with db.connection_context():
        if VERSION_TABLE not in db.get_tables():
            return 0
        (version,) = db.execute_sql(f'SELECT MAX("version") FROM "{VERSION_TABLE}"').fetchone()
        return int(version or 0)


def migrate(db: pw.Database, *, target: int | None = None, steps: Sequence[Step] | None = None) -> list[int]:
    """Bring ``db`` to version ``target`` (default: the latest). Return the versions applied.

    A database newer than the steps known here is an error: an older abaco must not write
    a schema it does not understand.
    """
    steps = list(STEPS if steps is None else steps)
    _check(steps)
    latest = latest_version(steps)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise StoreError(f"no schema version {target}; versions go from 0 to {latest}")
    dialect = dialect_of(db)
    applied: list[int] = []
    with db.connection_context():
        while True:
            with write_transaction(db):
                if dialect == "postgresql":
                    db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))
                with db.bind_ctx([_SchemaVersion]):
                    db.create_tables([_SchemaVersion], safe=True)
                (version,) = db.execute_sql(f'SELECT MAX("version") FROM "{VERSION_TABLE}"').fetchone()
                version = int(version or 0)
                if version > latest:
                    raise StoreError(
                        f"the database schema is at version {version}, newer than this abaco "
                        f"knows (up to {latest}): upgrade abaco"
                    )
                if version >= target:
                    break
                todo = steps[version]
                todo.apply(StepContext(db, dialect))
                db.execute_sql(
                    f'INSERT INTO "{VERSION_TABLE}" ("version", "description", "applied_at") '
                    f"VALUES ({db.param}, {db.param}, {db.param})",
                    (todo.version, todo.description, datetime.now(UTC).isoformat(timespec="milliseconds")),
                )
            applied.append(todo.version)
    return applied


# -- the steps -----------------------------------------------------------------------------
# Frozen copies of the tables as each step made them. Never edit a step that has shipped.


@step(1, "actors, workers, executions and their messages")
def _v1(ctx: StepContext) -> None:
    class Actor(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        status = pw.TextField()
        doc = pw.TextField()

        class Meta:
            table_name = "abaco_actors"
            indexes = ((("tenant", "actor_id"), True),)

    class Worker(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        worker_id = pw.TextField()
        status = pw.TextField()
        doc = pw.TextField()

        class Meta:
            table_name = "abaco_workers"
            indexes = ((("tenant", "actor_id", "worker_id"), True),)

    class Execution(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        execution_id = pw.TextField()
        status = pw.TextField(index=True)
        worker_id = pw.TextField(null=True)
        runtime = pw.BigIntegerField(default=0)
        cpu = pw.BigIntegerField(default=0)
        io = pw.BigIntegerField(default=0)
        message_received_time = pw.BigIntegerField(null=True)
        start_time = pw.BigIntegerField(null=True)
        finish_time = pw.BigIntegerField(null=True)
        doc = pw.TextField()

        class Meta:
            table_name = "abaco_executions"
            indexes = (
                (("tenant", "actor_id", "execution_id"), True),
                (("tenant", "actor_id", "seq"), False),
            )

    class Message(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        execution_id = pw.TextField()
        content_type = pw.TextField()
        is_binary = pw.BooleanField()
        payload = pw.BlobField()
        metadata = pw.TextField()

        class Meta:
            table_name = "abaco_messages"
            indexes = ((("tenant", "actor_id", "execution_id"), True),)

    ctx.create_tables(Actor, Worker, Execution, Message)


@step(2, "execution logs, with an optional expiry")
def _v2(ctx: StepContext) -> None:
    class Log(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        execution_id = pw.TextField()
        logs = pw.BlobField()
        expires_at = pw.BigIntegerField(null=True, index=True)

        class Meta:
            table_name = "abaco_logs"
            indexes = ((("tenant", "actor_id", "execution_id"), True),)

    ctx.create_tables(Log)


@step(3, "execution results, popped oldest first")
def _v3(ctx: StepContext) -> None:
    class Result(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        execution_id = pw.TextField()
        created = pw.BigIntegerField(index=True)
        data = pw.BlobField()

        class Meta:
            table_name = "abaco_results"
            indexes = ((("tenant", "actor_id", "execution_id", "seq"), False),)

    ctx.create_tables(Result)


@step(4, "cron slots that fired, one row per actor and slot")
def _v4(ctx: StepContext) -> None:
    class CronFire(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        actor_id = pw.TextField()
        slot = pw.BigIntegerField()
        fired = pw.BigIntegerField()

        class Meta:
            table_name = "abaco_cron_fires"
            indexes = ((("tenant", "actor_id", "slot"), True),)

    ctx.create_tables(CronFire)


@step(5, "objects (aliases, nonces, configs, tokens ...) and permissions")
def _v5(ctx: StepContext) -> None:
    class Obj(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        kind = pw.TextField()
        key = pw.TextField()
        doc = pw.TextField()

        class Meta:
            table_name = "abaco_objects"
            indexes = ((("tenant", "kind", "key"), True),)

    class Permission(pw.Model):
        seq = pw.BigAutoField()
        tenant = pw.TextField()
        kind = pw.TextField()
        key = pw.TextField()
        username = pw.TextField()
        level = pw.TextField()

        class Meta:
            table_name = "abaco_permissions"
            indexes = (
                (("tenant", "kind", "key", "username"), True),
                (("tenant", "kind", "username"), False),
            )

    ctx.create_tables(Obj, Permission)


@step(6, "permissions: owners of actors registered before permissions existed get UPDATE")
def _v6(ctx: StepContext) -> None:
    """Data only. Before step 5 an actor's owner was implied; from step 5 on, the creator's
    UPDATE entry is what lets anyone see an actor in ``GET /actors``. Actors of an older
    database get that entry now (existing entries are kept)."""
    param = ctx.db.param
    rows = ctx.execute('SELECT "tenant", "actor_id", "doc" FROM "abaco_actors"').fetchall()
    for tenant, actor_id, doc in rows:
        owner = json.loads(doc).get("owner")
        if not owner:
            continue
        ctx.execute(
            'INSERT INTO "abaco_permissions" ("tenant", "kind", "key", "username", "level") '
            f"VALUES ({param}, 'actor', {param}, {param}, 'UPDATE') "
            'ON CONFLICT ("tenant", "kind", "key", "username") DO NOTHING',
            (tenant, actor_id, owner),
        )
