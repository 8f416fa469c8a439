"""The tables of the current schema version, as peewee models behind a :class:`DatabaseProxy`.

These models describe the schema that :func:`abaco_peewee.migrations.migrate` produces
(a test checks that they agree). The store builds its SQL from them once, at start-up,
and runs it directly: peewee's per-query builder costs several times the query itself
on SQLite, and these statements are on the platform's hot path.

Each table keeps in columns what is queried or summed and the rest of its dataclass in
``doc`` (JSON text), see :mod:`abaco_peewee.codec`. Every table has ``seq``, an
auto-increment primary key that gives insertion order. Tables are prefixed ``abaco_`` so
the schema can share a PostgreSQL database with others.

Changing a model here never changes a database: append a migration step too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from .codec import from_micros, to_micros

__all__ = [
    "MODELS",
    "ActorRow",
    "BaseModel",
    "ExecutionRow",
    "LogRow",
    "MessageRow",
    "ObjectRow",
    "PermissionRow",
    "ResultRow",
    "CronFireRow",
    "SchemaVersionRow",
    "TimestampField",
    "WorkerRow",
    "database_proxy",
]

database_proxy = pw.DatabaseProxy()


class TimestampField(pw.BigIntegerField):
    """An aware UTC datetime stored as integer microseconds since the Unix epoch.

    Portable (the same on SQLite and PostgreSQL), exact to the microsecond, indexable, and
    compared as integers. In psql: ``to_timestamp(col / 1e6)``.
    """

    def db_value(self, value: datetime | None) -> int | None:
        return to_micros(value)

    def python_value(self, value: Any) -> datetime | None:
        return from_micros(value)


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy


class SchemaVersionRow(BaseModel):
    """One row per applied migration step."""

    version = pw.IntegerField(primary_key=True)
    description = pw.TextField()
    applied_at = pw.TextField()

    class Meta:
        table_name = "abaco_schema_version"


class ActorRow(BaseModel):
    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    status = pw.TextField()
    doc = pw.TextField()

    class Meta:
        table_name = "abaco_actors"
        indexes = ((("tenant", "actor_id"), True),)


class ExecutionRow(BaseModel):
    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    execution_id = pw.TextField()
    status = pw.TextField(index=True)
    worker_id = pw.TextField(null=True)
    runtime = pw.BigIntegerField(default=0)
    cpu = pw.BigIntegerField(default=0)
    io = pw.BigIntegerField(default=0)
    message_received_time = TimestampField(null=True)
    start_time = TimestampField(null=True)
    finish_time = TimestampField(null=True)
    doc = pw.TextField()

    class Meta:
        table_name = "abaco_executions"
        indexes = (
            (("tenant", "actor_id", "execution_id"), True),
            (("tenant", "actor_id", "seq"), False),
        )


class MessageRow(BaseModel):
    """A message kept until its execution is final. ``payload`` is the raw bytes of a binary
    message, else the UTF-8 JSON of the message value (``is_binary`` tells which)."""

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


class LogRow(BaseModel):
    """An execution's logs: UTF-8 bytes (a BLOB, so any text -- even NUL characters, which
    PostgreSQL's text refuses -- is kept exactly). ``expires_at`` NULL keeps them forever."""

    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    execution_id = pw.TextField()
    logs = pw.BlobField()
    expires_at = TimestampField(null=True, index=True)

    class Meta:
        table_name = "abaco_logs"
        indexes = ((("tenant", "actor_id", "execution_id"), True),)


class ResultRow(BaseModel):
    """One result (a datagram an execution's container sent), kept until it is popped or
    expires. Popped oldest first (``seq``)."""

    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    execution_id = pw.TextField()
    created = TimestampField(index=True)
    data = pw.BlobField()

    class Meta:
        table_name = "abaco_results"
        indexes = ((("tenant", "actor_id", "execution_id", "seq"), False),)


class WorkerRow(BaseModel):
    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    worker_id = pw.TextField()
    status = pw.TextField()
    doc = pw.TextField()

    class Meta:
        table_name = "abaco_workers"
        indexes = ((("tenant", "actor_id", "worker_id"), True),)


class CronFireRow(BaseModel):
    """A cron slot of an actor that fired (or was skipped while the schedule was off); the
    unique key makes each slot fire at most once, whatever the number of schedulers."""

    seq = pw.BigAutoField()
    tenant = pw.TextField()
    actor_id = pw.TextField()
    slot = TimestampField()
    fired = TimestampField()

    class Meta:
        table_name = "abaco_cron_fires"
        indexes = ((("tenant", "actor_id", "slot"), True),)


class ObjectRow(BaseModel):
    """A JSON document of some kind (alias, nonce, config, token ...), unique per
    tenant, kind and key."""

    seq = pw.BigAutoField()
    tenant = pw.TextField()
    kind = pw.TextField()
    key = pw.TextField()
    doc = pw.TextField()

    class Meta:
        table_name = "abaco_objects"
        indexes = ((("tenant", "kind", "key"), True),)


class PermissionRow(BaseModel):
    """One user's level on one object (an actor, alias or config), spec §3.3."""

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


#: every table of the current schema, in creation order
MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersionRow,
    ActorRow,
    WorkerRow,
    ExecutionRow,
    MessageRow,
    LogRow,
    ResultRow,
    CronFireRow,
    ObjectRow,
    PermissionRow,
)
