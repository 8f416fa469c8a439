"""``PeeweeStore``: abaco's :class:`~abaco_core.interfaces.Store` on SQLite or PostgreSQL.

Every public method checks a pooled connection out for its duration and translates any
database error into abaco's error tree (:mod:`abaco_peewee.errors`) on the way out. Read
operations are retried once on a fresh connection when the one they got turns out to be
dead (the server restarted); writes are not retried, so a write is never applied twice.

The SQL is built once per store from the models of :mod:`abaco_peewee.models` and run
directly. Hot paths cost one statement each: ``create_execution`` (one statement on
PostgreSQL, one short transaction on SQLite), ``update_execution`` (one compare-and-set
``UPDATE``), ``get_execution``, ``execution_totals`` (one aggregate).

Concurrency: ``add_worker`` reads the worker count and inserts in one transaction that
first locks the actor (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so it is atomic across threads and processes; ``delete_actor`` deletes the
actor row first, under the same lock, so no worker is added to a deleted actor.
``pop_result`` hands each result to exactly one caller (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import peewee as pw

from abaco_core.errors import (
    AbacoError,
    ActorNotFound,
    Conflict,
    ExecutionNotFound,
    InvalidRequest,
    WorkerNotFound,
)
from abaco_core.models import Actor, Execution, ExecutionStatus, Message, Worker, WorkerStatus
from abaco_core.records import ExecutionTotals

from . import migrations
from .codec import RecordCodec, dumps, from_micros, loads, to_micros
from .db import POSTGRESQL, DatabaseURL, open_database, parse_url
from .edge import _edge
from .errors import translate
from .models import ActorRow, BaseModel, CronFireRow, ExecutionRow, LogRow, MessageRow, ResultRow, WorkerRow
from .objects import ObjectsMixin
from .search import SearchMixin

__all__ = ["PeeweeStore"]

P = ParamSpec("P")
R = TypeVar("R")

ACTORS = RecordCodec(Actor, {"tenant": "tenant", "id": "actor_id", "status": "status"})
WORKERS = RecordCodec(
    Worker, {"tenant": "tenant", "actor_id": "actor_id", "id": "worker_id", "status": "status"}
)
EXECUTIONS = RecordCodec(
    Execution,
    {
        "tenant": "tenant",
        "actor_id": "actor_id",
        "id": "execution_id",
        "status": "status",
        "worker_id": "worker_id",
        "runtime": "runtime",
        "cpu": "cpu",
        "io": "io",
        "message_received_time": "message_received_time",
        "start_time": "start_time",
        "finish_time": "finish_time",
    },
)
_KEYS = 3  # every codec above starts with its three key columns: tenant, actor_id, id
MESSAGE_COLUMNS = ("tenant", "actor_id", "execution_id", "content_type", "is_binary", "payload", "metadata")
LOG_COLUMNS = ("tenant", "actor_id", "execution_id", "logs", "expires_at")
RESULT_COLUMNS = ("tenant", "actor_id", "execution_id", "created", "data")
CRON_COLUMNS = ("tenant", "actor_id", "slot", "fired")


def _check_models() -> None:
    """The codecs and column lists name columns that exist in the models (fail at import)."""
    pairs: list[tuple[type[BaseModel], Sequence[str]]] = [
        (ActorRow, [*ACTORS.column_names, "doc"]),
        (WorkerRow, [*WORKERS.column_names, "doc"]),
        (ExecutionRow, [*EXECUTIONS.column_names, "doc"]),
        (MessageRow, MESSAGE_COLUMNS),
        (LogRow, LOG_COLUMNS),
        (ResultRow, RESULT_COLUMNS),
        (CronFireRow, CRON_COLUMNS),
    ]
    for model, columns in pairs:
        known = {f.column_name for f in model._meta.sorted_fields}
        missing = set(columns) - known
        if missing:
            raise RuntimeError(f"{model._meta.table_name} has no columns {sorted(missing)}")


_check_models()


def _table(model: type[BaseModel]) -> str:
    return f'"{model._meta.table_name}"'


def _cols(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class _Statements:
    """The store's SQL, with the driver's parameter placeholder."""

    def __init__(self, param: str) -> None:
        self.param = param

        def marks(n: int) -> str:
            return ", ".join([param] * n)

        def key(prefix: str = "") -> str:
            return f'{prefix}"tenant" = {param} AND {prefix}"actor_id" = {param}'

        actors, workers, executions = _table(ActorRow), _table(WorkerRow), _table(ExecutionRow)
        messages, logs = _table(MessageRow), _table(LogRow)

        a_cols = [*ACTORS.column_names, "doc"]
        self.actor_insert = f"INSERT INTO {actors} ({_cols(a_cols)}) VALUES ({marks(len(a_cols))})"
        self.actor_select = f"SELECT {_cols(a_cols)} FROM {actors}"
        self.actor_get = f"{self.actor_select} WHERE {key()}"
        self.actor_update = f'UPDATE {actors} SET "status" = {param}, "doc" = {param} WHERE {key()}'
        self.actor_lock = f"SELECT 1 FROM {actors} WHERE {key()}"
        self.actor_delete = f"DELETE FROM {actors} WHERE {key()}"

        w_cols = [*WORKERS.column_names, "doc"]
        self.worker_insert = f"INSERT INTO {workers} ({_cols(w_cols)}) VALUES ({marks(len(w_cols))})"
        self.worker_select = f"SELECT {_cols(w_cols)} FROM {workers}"
        self.worker_get = f'{self.worker_select} WHERE {key()} AND "worker_id" = {param}'
        self.worker_count = f"SELECT COUNT(*) FROM {workers} WHERE {key()}"
        self.worker_update = (
            f'UPDATE {workers} SET "status" = {param}, "doc" = {param} '
            f'WHERE {key()} AND "worker_id" = {param}'
        )
        self.worker_delete = f'DELETE FROM {workers} WHERE {key()} AND "worker_id" = {param}'
        self.workers_delete = f"DELETE FROM {workers} WHERE {key()}"

        e_cols = [*EXECUTIONS.column_names, "doc"]
        self.execution_insert = f"INSERT INTO {executions} ({_cols(e_cols)}) VALUES ({marks(len(e_cols))})"
        self.execution_select = f"SELECT {_cols(e_cols)} FROM {executions}"
        self.execution_get = f'{self.execution_select} WHERE {key()} AND "execution_id" = {param}'
        sets = ", ".join(f'"{c}" = {param}' for c in e_cols[_KEYS:])
        self.execution_update = f'UPDATE {executions} SET {sets} WHERE {key()} AND "execution_id" = {param}'
        self.execution_totals = (
            'SELECT COUNT(*), COALESCE(SUM("cpu"), 0), COALESCE(SUM("io"), 0), '
            f'COALESCE(SUM("runtime"), 0) FROM {executions} WHERE {key()}'
        )

        self.message_insert = (
            f"INSERT INTO {messages} ({_cols(MESSAGE_COLUMNS)}) VALUES ({marks(len(MESSAGE_COLUMNS))})"
        )
        # PostgreSQL: the execution and its message in one statement (atomic by itself)
        self.execution_message_insert = f"WITH e AS ({self.execution_insert}) {self.message_insert}"
        self.message_get = (
            f'SELECT "content_type", "is_binary", "payload", "metadata" FROM {messages} '
            f'WHERE {key()} AND "execution_id" = {param}'
        )
        self.message_delete = f'DELETE FROM {messages} WHERE {key()} AND "execution_id" = {param}'
        self.messages_delete = f"DELETE FROM {messages} WHERE {key()}"

        self.log_upsert = (
            f"INSERT INTO {logs} ({_cols(LOG_COLUMNS)}) VALUES ({marks(len(LOG_COLUMNS))}) "
            'ON CONFLICT ("tenant", "actor_id", "execution_id") '
            'DO UPDATE SET "logs" = excluded."logs", "expires_at" = excluded."expires_at"'
        )
        self.log_get = f'SELECT "logs", "expires_at" FROM {logs} WHERE {key()} AND "execution_id" = {param}'
        self.logs_expire = f'DELETE FROM {logs} WHERE "expires_at" <= {param}'
        self.logs_delete = f"DELETE FROM {logs} WHERE {key()}"

        results = _table(ResultRow)
        self.result_insert = (
            f"INSERT INTO {results} ({_cols(RESULT_COLUMNS)}) VALUES ({marks(len(RESULT_COLUMNS))})"
        )
        oldest = (
            f'FROM {results} WHERE {key()} AND "execution_id" = {param} '
            f'AND "created" >= {param} ORDER BY "seq" LIMIT 1'
        )
        self.result_oldest = f'SELECT "seq", "data" {oldest}'
        self.result_delete = f'DELETE FROM {results} WHERE "seq" = {param}'
        # PostgreSQL: take the oldest row nobody else is taking, in one statement
        self.result_pop = (
            f'DELETE FROM {results} WHERE "seq" = (SELECT "seq" {oldest} FOR UPDATE SKIP LOCKED) '
            'RETURNING "data"'
        )
        self.results_expire = f'DELETE FROM {results} WHERE "created" < {param}'
        self.results_delete = f"DELETE FROM {results} WHERE {key()}"

        fires = _table(CronFireRow)
        self.cron_record = (
            f"INSERT INTO {fires} ({_cols(CRON_COLUMNS)}) VALUES ({marks(len(CRON_COLUMNS))}) "
            'ON CONFLICT ("tenant", "actor_id", "slot") DO NOTHING'
        )
        self.cron_last = f'SELECT MAX("slot") FROM {fires} WHERE {key()}'
        self.cron_delete = f"DELETE FROM {fires} WHERE {key()}"

    def marks(self, n: int) -> str:
        return ", ".join([self.param] * n)


def _statuses(statuses: Iterable[ExecutionStatus | str]) -> list[str]:
    try:
        return sorted({ExecutionStatus(s).value for s in statuses})
    except ValueError as exc:
        raise InvalidRequest(f"unknown execution status: {exc}") from None


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes(value)


class PeeweeStore(ObjectsMixin, SearchMixin):
    """The abaco store on a SQLite file or a PostgreSQL database.

    ``PeeweeStore(url)`` connects lazily; call :meth:`migrate` once at start-up (it is
    idempotent and safe to run from several processes at once).
    """

    name = "peewee"

    def __init__(self, url: str | DatabaseURL) -> None:
        self.url: DatabaseURL = parse_url(url) if isinstance(url, str) else url
        self.dialect: str = self.url.dialect
        self._db: pw.Database = open_database(self.url)
        self._sql = _Statements(self._db.param)
        self._closed = False

    def __repr__(self) -> str:
        return f"PeeweeStore({self.url.display!r})"

    @property
    def database(self) -> pw.Database:
        """The peewee database (for tools and tests; the store's methods are the API)."""
        return self._db

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute_sql(sql, params)

    def _transaction(self) -> Any:
        return migrations.write_transaction(self._db)

    # -- schema and lifecycle --------------------------------------------------------

    @_edge()
    def migrate(self) -> None:
        migrations.migrate(self._db)

    @_edge(retry=True)
    def schema_version(self) -> int:
        return migrations.current_version(self._db)

    def close(self) -> None:
        """Close every pooled connection; the store cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        try:
            self._db.close_all()
        except Exception:  # closing is best effort: the connections may be dead already
            pass

    @_edge(retry=True)
    def ping(self) -> None:
        self._exec("SELECT 1").fetchone()

    # -- actors ------------------------------------------------------------------------

    @_edge()
    def create_actor(self, actor: Actor) -> None:
        try:
            self._exec(self._sql.actor_insert, [*ACTORS.column_values(actor), ACTORS.doc(actor)])
        except pw.IntegrityError as exc:
            raise self._conflict(
                exc, f"actor {actor.id!r} already exists in tenant {actor.tenant!r}"
            ) from exc

    @_edge(retry=True)
    def get_actor(self, tenant: str, actor_id: str) -> Actor:
        row = self._exec(self._sql.actor_get, (tenant, actor_id)).fetchone()
        if row is None:
            raise ActorNotFound(f"no actor {actor_id!r} in tenant {tenant!r}")
        return ACTORS.load(row[:-1], row[-1])

    @_edge(retry=True)
    def list_actors(self, tenant: str | None) -> list[Actor]:
        if tenant is None:
            cursor = self._exec(f'{self._sql.actor_select} ORDER BY "seq"')
        else:
            cursor = self._exec(
                f'{self._sql.actor_select} WHERE "tenant" = {self._db.param} ORDER BY "seq"', (tenant,)
            )
        return [ACTORS.load(row[:-1], row[-1]) for row in cursor.fetchall()]

    @_edge()
    def save_actor(self, actor: Actor) -> None:
        values = ACTORS.column_values(actor)
        cursor = self._exec(self._sql.actor_update, (values[2], ACTORS.doc(actor), actor.tenant, actor.id))
        if cursor.rowcount == 0:
            raise ActorNotFound(f"no actor {actor.id!r} in tenant {actor.tenant!r}")

    @_edge()
    def delete_actor(self, tenant: str, actor_id: str) -> None:
        key = (tenant, actor_id)
        with self._transaction():
            # the actor row first: its row lock orders this against add_worker
            self._exec(self._sql.actor_delete, key)
            self._exec(self._sql.workers_delete, key)
            self._exec(self._sql.logs_delete, key)
            self._exec(self._sql.messages_delete, key)
            self._exec(self._sql.results_delete, key)
            self._exec(self._sql.cron_delete, key)

    # -- executions and their messages ---------------------------------------------------

    @_edge()
    def create_execution(self, execution: Execution, message: Message) -> None:
        if (message.tenant, message.actor_id, message.execution_id) != (
            execution.tenant,
            execution.actor_id,
            execution.id,
        ):
            raise InvalidRequest(
                f"message for {message.actor_id}/{message.execution_id} does not belong to "
                f"execution {execution.actor_id}/{execution.id}"
            )
        ex_values = [*EXECUTIONS.column_values(execution), EXECUTIONS.doc(execution)]
        msg_values = self._message_values(message)
        try:
            if self.dialect == POSTGRESQL:
                self._exec(self._sql.execution_message_insert, [*ex_values, *msg_values])
            else:
                with self._transaction():
                    self._exec(self._sql.execution_insert, ex_values)
                    self._exec(self._sql.message_insert, msg_values)
        except pw.IntegrityError as exc:
            raise self._conflict(
                exc, f"execution {execution.id!r} of actor {execution.actor_id!r} already exists"
            ) from exc

    @staticmethod
    def _message_values(message: Message) -> list[Any]:
        payload = message.payload
        if isinstance(payload, (bytes, bytearray, memoryview)):
            is_binary, data = True, bytes(payload)
        else:
            is_binary, data = False, dumps(payload).encode("ascii")
        return [
            message.tenant,
            message.actor_id,
            message.execution_id,
            message.content_type,
            is_binary,
            data,
            dumps(message.metadata or {}),
        ]

    @_edge(retry=True)
    def get_execution(self, tenant: str, actor_id: str, execution_id: str) -> Execution:
        row = self._exec(self._sql.execution_get, (tenant, actor_id, execution_id)).fetchone()
        if row is None:
            raise ExecutionNotFound(f"no execution {execution_id!r} of actor {actor_id!r}")
        return EXECUTIONS.load(row[:-1], row[-1])

    @_edge(retry=True)
    def list_executions(
        self,
        tenant: str,
        actor_id: str,
        *,
        statuses: Iterable[ExecutionStatus] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Execution]:
        p = self._db.param
        sql = f'{self._sql.execution_select} WHERE "tenant" = {p} AND "actor_id" = {p}'
        params: list[Any] = [tenant, actor_id]
        if statuses is not None:
            wanted = _statuses(statuses)
            if not wanted:
                return []
            sql += f' AND "status" IN ({self._sql.marks(len(wanted))})'
            params.extend(wanted)
        sql += ' ORDER BY "seq"'
        if limit is not None or offset:
            if (limit is not None and limit < 0) or offset < 0:
                raise InvalidRequest("limit and offset must not be negative")
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            elif self.dialect != POSTGRESQL:
                sql += " LIMIT -1"
            if offset:
                sql += f" OFFSET {int(offset)}"
        return [EXECUTIONS.load(row[:-1], row[-1]) for row in self._exec(sql, params).fetchall()]

    @_edge(retry=True)
    def executions_with_status(self, statuses: Iterable[ExecutionStatus]) -> list[Execution]:
        wanted = _statuses(statuses)
        if not wanted:
            return []
        sql = (
            f'{self._sql.execution_select} WHERE "status" IN ({self._sql.marks(len(wanted))}) ORDER BY "seq"'
        )
        return [EXECUTIONS.load(row[:-1], row[-1]) for row in self._exec(sql, wanted).fetchall()]

    @_edge(retry=True)
    def execution_totals(self, tenant: str, actor_id: str) -> ExecutionTotals:
        count, cpu, io, runtime = self._exec(self._sql.execution_totals, (tenant, actor_id)).fetchone()
        return ExecutionTotals(count=int(count), cpu=int(cpu), io=int(io), runtime=int(runtime))

    @_edge(retry=True)
    def count_executions(
        self, tenant: str, actor_id: str, *, statuses: Iterable[ExecutionStatus] | None = None
    ) -> int:
        p = self._db.param
        sql = f'SELECT COUNT(*) FROM {_table(ExecutionRow)} WHERE "tenant" = {p} AND "actor_id" = {p}'
        params: list[Any] = [tenant, actor_id]
        if statuses is not None:
            wanted = _statuses(statuses)
            if not wanted:
                return 0
            sql += f' AND "status" IN ({self._sql.marks(len(wanted))})'
            params.extend(wanted)
        (count,) = self._exec(sql, params).fetchone()
        return int(count)

    @_edge()
    def update_execution(
        self,
        execution: Execution,
        *,
        expected: Iterable[ExecutionStatus] | None = None,
        expected_worker: str | None = None,
    ) -> bool:
        values = EXECUTIONS.column_values(execution)
        params = [*values[_KEYS:], EXECUTIONS.doc(execution), *values[:_KEYS]]
        sql = self._sql.execution_update
        if expected is not None:
            wanted = _statuses(expected)
            if not wanted:
                return False
            sql += f' AND "status" IN ({self._sql.marks(len(wanted))})'
            params.extend(wanted)
        if expected_worker is not None:
            sql += f' AND "worker_id" = {self._sql.param}'
            params.append(expected_worker)
        return self._exec(sql, params).rowcount > 0

    @_edge(retry=True)
    def get_message(self, tenant: str, actor_id: str, execution_id: str) -> Message | None:
        row = self._exec(self._sql.message_get, (tenant, actor_id, execution_id)).fetchone()
        if row is None:
            return None
        content_type, is_binary, payload, metadata = row
        data = _bytes(payload)
        return Message(
            tenant=tenant,
            actor_id=actor_id,
            execution_id=execution_id,
            payload=data if is_binary else loads(data),
            content_type=content_type,
            metadata=loads(metadata),
        )

    @_edge()
    def delete_message(self, tenant: str, actor_id: str, execution_id: str) -> None:
        self._exec(self._sql.message_delete, (tenant, actor_id, execution_id))

    # -- logs --------------------------------------------------------------------------

    @_edge()
    def set_logs(
        self, tenant: str, actor_id: str, execution_id: str, logs: str, expires_at: datetime | None
    ) -> None:
        if not isinstance(logs, str):
            raise InvalidRequest(f"logs must be text, not {type(logs).__name__}")
        data = logs.encode("utf-8", "surrogatepass")
        self._exec(self._sql.log_upsert, (tenant, actor_id, execution_id, data, to_micros(expires_at)))

    @_edge(retry=True)
    def get_logs(self, tenant: str, actor_id: str, execution_id: str, now: datetime) -> str:
        row = self._exec(self._sql.log_get, (tenant, actor_id, execution_id)).fetchone()
        if row is None:
            return ""
        data, expires_at = row
        if expires_at is not None and expires_at <= to_micros(now):
            return ""
        return _bytes(data).decode("utf-8", "surrogatepass")

    @_edge()
    def expire_logs(self, now: datetime) -> int:
        return int(self._exec(self._sql.logs_expire, (to_micros(now),)).rowcount)

    # -- results -------------------------------------------------------------------------

    @_edge()
    def add_result(
        self, tenant: str, actor_id: str, execution_id: str, data: bytes, created: datetime
    ) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidRequest(f"a result must be bytes, not {type(data).__name__}")
        self._exec(self._sql.result_insert, (tenant, actor_id, execution_id, to_micros(created), bytes(data)))

    @_edge()
    def pop_result(self, tenant: str, actor_id: str, execution_id: str, not_before: datetime) -> bytes | None:
        params = (tenant, actor_id, execution_id, to_micros(not_before))
        if self.dialect == POSTGRESQL:
            row = self._exec(self._sql.result_pop, params).fetchone()
            return None if row is None else _bytes(row[0])
        with self._transaction():  # BEGIN IMMEDIATE: pops are serialised
            row = self._exec(self._sql.result_oldest, params).fetchone()
            if row is None:
                return None
            self._exec(self._sql.result_delete, (row[0],))
            return _bytes(row[1])

    @_edge()
    def expire_results(self, before: datetime) -> int:
        return int(self._exec(self._sql.results_expire, (to_micros(before),)).rowcount)

    # -- cron --------------------------------------------------------------------------

    @_edge()
    def record_cron_slot(self, tenant: str, actor_id: str, slot: datetime, fired: datetime) -> bool:
        cur = self._exec(self._sql.cron_record, (tenant, actor_id, to_micros(slot), to_micros(fired)))
        return cur.rowcount == 1

    @_edge(retry=True)
    def last_cron_slot(self, tenant: str, actor_id: str) -> datetime | None:
        row = self._exec(self._sql.cron_last, (tenant, actor_id)).fetchone()
        return None if row is None or row[0] is None else from_micros(row[0])

    # -- workers -----------------------------------------------------------------------

    @_edge()
    def add_worker(self, worker: Worker, *, max_workers: int | None = None) -> bool:
        key = (worker.tenant, worker.actor_id)
        lock = self._sql.actor_lock + (" FOR UPDATE" if self.dialect == POSTGRESQL else "")
        values = [*WORKERS.column_values(worker), WORKERS.doc(worker)]
        try:
            with self._transaction():
                if self._exec(lock, key).fetchone() is None:
                    return False  # no actor (any more): a worker must not outlive it
                if max_workers is not None:
                    (count,) = self._exec(self._sql.worker_count, key).fetchone()
                    if count >= max_workers:
                        return False
                self._exec(self._sql.worker_insert, values)
        except pw.IntegrityError as exc:
            raise self._conflict(
                exc, f"worker {worker.id!r} of actor {worker.actor_id!r} already exists"
            ) from exc
        return True

    @_edge(retry=True)
    def get_worker(self, tenant: str, actor_id: str, worker_id: str) -> Worker:
        row = self._exec(self._sql.worker_get, (tenant, actor_id, worker_id)).fetchone()
        if row is None:
            raise WorkerNotFound(f"no worker {worker_id!r} of actor {actor_id!r}")
        return WORKERS.load(row[:-1], row[-1])

    @_edge(retry=True)
    def list_workers(self, tenant: str | None, actor_id: str | None = None) -> list[Worker]:
        p = self._db.param
        where: list[str] = []
        params: list[Any] = []
        if tenant is not None:
            where.append(f'"tenant" = {p}')
            params.append(tenant)
        if actor_id is not None:
            where.append(f'"actor_id" = {p}')
            params.append(actor_id)
        sql = self._sql.worker_select
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += ' ORDER BY "seq"'
        return [WORKERS.load(row[:-1], row[-1]) for row in self._exec(sql, params).fetchall()]

    @_edge()
    def save_worker(self, worker: Worker, *, expected: Iterable[WorkerStatus] | None = None) -> bool:
        values = WORKERS.column_values(worker)
        sql = self._sql.worker_update
        params: list[Any] = [values[3], WORKERS.doc(worker), worker.tenant, worker.actor_id, worker.id]
        if expected is not None:
            wanted = sorted({WorkerStatus(s).value for s in expected})
            if wanted:
                sql += f' AND "status" IN ({self._sql.marks(len(wanted))})'
                params.extend(wanted)
            else:
                sql += " AND 1 = 0"
        if self._exec(sql, params).rowcount > 0:
            return True
        if self._exec(self._sql.worker_get, (worker.tenant, worker.actor_id, worker.id)).fetchone() is None:
            raise WorkerNotFound(f"no worker {worker.id!r} of actor {worker.actor_id!r}")
        return False

    @_edge()
    def delete_worker(self, tenant: str, actor_id: str, worker_id: str) -> None:
        self._exec(self._sql.worker_delete, (tenant, actor_id, worker_id))

    # -- helpers -------------------------------------------------------------------------

    def _conflict(self, exc: pw.IntegrityError, message: str) -> AbacoError:
        error = translate(exc, self.url.display)
        if isinstance(error, Conflict):
            return Conflict(message)
        return error or Conflict(message)
