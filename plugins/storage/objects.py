"""Objects (JSON documents by kind: aliases, nonces, configs, tokens ...) and permissions,
the part of :class:`~abaco_peewee.store.PeeweeStore` behind spec §3 and §5.9–5.13.

``update_object`` is the one read-modify-write: it locks the row (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) for the duration of the caller's ``change``, so
concurrent updates of one document (a nonce redeemed by many requests) are serialised across
threads and processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import peewee as pw

from abaco_core.errors import ObjectNotFound

from .codec import dumps, loads
from .db import POSTGRESQL
from .edge import _edge
from .models import ObjectRow, PermissionRow

if TYPE_CHECKING:
    from abaco_core.errors import AbacoError

__all__ = ["ObjectsMixin"]

_OBJECTS = f'"{ObjectRow._meta.table_name}"'
_PERMISSIONS = f'"{PermissionRow._meta.table_name}"'


class ObjectsMixin:
    """Mixed into ``PeeweeStore`` (which provides ``_exec``, ``_transaction``, ``dialect``,
    ``_db`` and ``_conflict``)."""

    _db: pw.Database
    dialect: str

    if TYPE_CHECKING:

        def _exec(self, sql: str, params: Any = ()) -> Any: ...

        def _transaction(self) -> Any: ...

        def _conflict(self, exc: pw.IntegrityError, message: str) -> AbacoError: ...

    def _where(self, *columns: str) -> str:
        return " AND ".join(f'"{c}" = {self._db.param}' for c in columns)

    # -- objects -------------------------------------------------------------------------

    @_edge()
    def create_object(self, tenant: str, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        p = self._db.param
        try:
            self._exec(
                f'INSERT INTO {_OBJECTS} ("tenant", "kind", "key", "doc") VALUES ({p}, {p}, {p}, {p})',
                (tenant, kind, key, dumps(dict(doc))),
            )
        except pw.IntegrityError as exc:
            raise self._conflict(exc, f"{kind} {key!r} already exists in tenant {tenant!r}") from exc

    def _get_doc(self, tenant: str, kind: str, key: str, *, lock: bool = False) -> dict[str, Any]:
        sql = f'SELECT "doc" FROM {_OBJECTS} WHERE {self._where("tenant", "kind", "key")}'
        if lock and self.dialect == POSTGRESQL:
            sql += " FOR UPDATE"
        row = self._exec(sql, (tenant, kind, key)).fetchone()
        if row is None:
            raise ObjectNotFound(f"no {kind} {key!r} in tenant {tenant!r}")
        return loads(row[0])

    @_edge(retry=True)
    def get_object(self, tenant: str, kind: str, key: str) -> dict[str, Any]:
        return self._get_doc(tenant, kind, key)

    @_edge(retry=True)
    def list_objects(self, tenant: str | None, kind: str) -> list[tuple[str, dict[str, Any]]]:
        if tenant is None:
            cursor = self._exec(
                f'SELECT "key", "doc" FROM {_OBJECTS} WHERE {self._where("kind")} ORDER BY "seq"', (kind,)
            )
        else:
            cursor = self._exec(
                f'SELECT "key", "doc" FROM {_OBJECTS} WHERE {self._where("tenant", "kind")} ORDER BY "seq"',
                (tenant, kind),
            )
        return [(key, loads(doc)) for key, doc in cursor.fetchall()]

    @_edge()
    def update_object(
        self, tenant: str, kind: str, key: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any]:
        with self._transaction():
            current = self._get_doc(tenant, kind, key, lock=True)
            new = change(loads(dumps(current)))
            if new is None:
                return current
            self._exec(
                f'UPDATE {_OBJECTS} SET "doc" = {self._db.param} WHERE {self._where("tenant", "kind", "key")}',
                (dumps(new), tenant, kind, key),
            )
            return new

    @_edge()
    def delete_object(self, tenant: str, kind: str, key: str) -> bool:
        cursor = self._exec(
            f"DELETE FROM {_OBJECTS} WHERE {self._where('tenant', 'kind', 'key')}", (tenant, kind, key)
        )
        return cursor.rowcount > 0

    # -- permissions -----------------------------------------------------------------------

    @_edge(retry=True)
    def get_permissions(self, tenant: str, kind: str, key: str) -> dict[str, str]:
        cursor = self._exec(
            f'SELECT "username", "level" FROM {_PERMISSIONS} '
            f'WHERE {self._where("tenant", "kind", "key")} ORDER BY "seq"',
            (tenant, kind, key),
        )
        return dict(cursor.fetchall())

    @_edge()
    def set_permission(self, tenant: str, kind: str, key: str, username: str, level: str) -> None:
        p = self._db.param
        self._exec(
            f'INSERT INTO {_PERMISSIONS} ("tenant", "kind", "key", "username", "level") '
            f"VALUES ({p}, {p}, {p}, {p}, {p}) "
            'ON CONFLICT ("tenant", "kind", "key", "username") DO UPDATE SET "level" = excluded."level"',
            (tenant, kind, key, username, level),
        )

    @_edge()
    def delete_permissions(self, tenant: str, kind: str, key: str) -> None:
        self._exec(
            f"DELETE FROM {_PERMISSIONS} WHERE {self._where('tenant', 'kind', 'key')}", (tenant, kind, key)
        )

    @_edge(retry=True)
    def permissions_of(self, tenant: str, kind: str, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
        names = list(dict.fromkeys(usernames))
        if not names:
            return {}
        marks = ", ".join([self._db.param] * len(names))
        cursor = self._exec(
            f'SELECT "key", "username", "level" FROM {_PERMISSIONS} '
            f'WHERE {self._where("tenant", "kind")} AND "username" IN ({marks}) ORDER BY "seq"',
            (tenant, kind, *names),
        )
        found: dict[str, dict[str, str]] = {}
        for key, username, level in cursor.fetchall():
            found.setdefault(key, {})[username] = level
        return found
