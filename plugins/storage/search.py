"""Reads for search and accounting (spec §5.12, §5.14), the part of
:class:`~abaco_peewee.store.PeeweeStore` that reads across actors: the executions and logs
of a set of actors, and execution totals grouped by actor.

Sets of actors are read in chunks, so the statements stay within every database's limit
on parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import peewee as pw

from abaco_core.models import Execution
from abaco_core.records import ExecutionTotals

from .codec import to_micros
from .edge import _edge
from .models import ExecutionRow, LogRow

__all__ = ["SearchMixin"]

_EXECUTIONS = f'"{ExecutionRow._meta.table_name}"'
_LOGS = f'"{LogRow._meta.table_name}"'
#: actor ids per statement
CHUNK = 500


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


class SearchMixin:
    """Mixed into ``PeeweeStore`` (which provides ``_exec``, ``_db`` and ``_sql``)."""

    _db: pw.Database

    if TYPE_CHECKING:
        _sql: Any

        def _exec(self, sql: str, params: Any = ()) -> Any: ...

    @_edge(retry=True)
    def executions_of(self, tenant: str, actor_ids: Iterable[str]) -> list[Execution]:
        from .store import EXECUTIONS

        p = self._db.param
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(actor_ids):
            marks = ", ".join([p] * len(chunk))
            sql = (
                f'SELECT "seq", {self._sql.execution_select.removeprefix("SELECT ")} '
                f'WHERE "tenant" = {p} AND "actor_id" IN ({marks})'
            )
            rows.extend(self._exec(sql, (tenant, *chunk)).fetchall())
        rows.sort(key=lambda row: row[0])
        return [EXECUTIONS.load(row[1:-1], row[-1]) for row in rows]

    @_edge(retry=True)
    def logs_of(self, tenant: str, actor_ids: Iterable[str], now: datetime) -> list[tuple[str, str, str]]:
        p = self._db.param
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(actor_ids):
            marks = ", ".join([p] * len(chunk))
            sql = (
                f'SELECT "seq", "actor_id", "execution_id", "logs" FROM {_LOGS} '
                f'WHERE "tenant" = {p} AND "actor_id" IN ({marks}) '
                f'AND ("expires_at" IS NULL OR "expires_at" > {p})'
            )
            rows.extend(self._exec(sql, (tenant, *chunk, to_micros(now))).fetchall())
        rows.sort(key=lambda row: row[0])
        return [(aid, eid, bytes(data).decode("utf-8", "surrogatepass")) for _, aid, eid, data in rows]

    @_edge(retry=True)
    def execution_totals_by_actor(self) -> dict[tuple[str, str], ExecutionTotals]:
        cursor = self._exec(
            'SELECT "tenant", "actor_id", COUNT(*), COALESCE(SUM("cpu"), 0), COALESCE(SUM("io"), 0), '
            f'COALESCE(SUM("runtime"), 0), MIN("seq") FROM {_EXECUTIONS} '
            'GROUP BY "tenant", "actor_id" ORDER BY MIN("seq")'
        )
        return {
            (tenant, actor_id): ExecutionTotals(count=int(n), cpu=int(cpu), io=int(io), runtime=int(runtime))
            for tenant, actor_id, n, cpu, io, runtime, _ in cursor.fetchall()
        }
