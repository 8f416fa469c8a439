"""Database URL → peewee database, with connection pooling suited to many threads.

Supported URLs::

    sqlite:///abs/path/abaco.db          (also sqlite:////abs/path.db, sqlite:relative.db)
    postgresql://user:pass@host:5432/db  (also postgres://...)

Both kinds of database are pooled: every store operation checks a connection out of a
thread-safe pool and returns it afterwards, so the API's event loop thread and any number
of worker threads share a bounded set of connections.

Query parameters the store reads itself (and removes before connecting):

``max_connections``  pool size (SQLite 32, PostgreSQL 20)
``pool_timeout``     seconds to wait for a free pooled connection (10)
``stale_timeout``    seconds after which a pooled connection is recycled (PostgreSQL 1800)
``busy_timeout``     SQLite only: seconds to wait for another writer's lock (5)

Every other query parameter of a PostgreSQL URL is passed to libpq unchanged
(``sslmode``, ``connect_timeout``, ``options``, ...).

SQLite connections run in WAL mode with ``synchronous=NORMAL`` and foreign keys on, and
open every transaction with ``BEGIN IMMEDIATE``, so a read-then-write transaction takes the
write lock up front and waits for it (up to the busy timeout) instead of failing midway.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import peewee as pw
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from abaco_core.errors import ConfigError

__all__ = ["DatabaseURL", "open_database", "parse_url"]

log = logging.getLogger(__name__)

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

_POOL_KEYS = ("max_connections", "pool_timeout", "stale_timeout")


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL."""

    dialect: str  #: ``sqlite`` or ``postgresql``
    #: SQLite: the absolute file path; PostgreSQL: the libpq URI without our own parameters
    target: str
    #: the URL with its password hidden, for messages and logs
    display: str
    options: dict[str, float] = field(default_factory=dict)


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"database URL parameter {name} must be a number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"database URL parameter {name} must not be negative")
    return number


def parse_url(url: str) -> DatabaseURL:
    """Parse a database URL; raise :class:`ConfigError` for one this store cannot serve."""
    scheme, sep, rest = url.partition(":")
    scheme = scheme.split("+", 1)[0].lower()
    if not sep:
        raise ConfigError(f"not a database URL: {url!r}")
    if scheme == SQLITE:
        return _parse_sqlite(url, rest)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    raise ConfigError(f"the peewee store serves sqlite: and postgresql: URLs, not {scheme}:")


def _parse_sqlite(url: str, rest: str) -> DatabaseURL:
    path, _, query = rest.partition("?")
    if path.startswith("//"):
        # sqlite://<authority>/<path>; only an empty authority (or localhost) makes sense
        authority, slash, remainder = path[2:].partition("/")
        if authority not in ("", "localhost"):
            # sqlite://relative/path.db: no authority, a relative path
            remainder, slash = path[2:], ""
        path = slash + remainder
    path = unquote(path)
    if path in ("", ":memory:", "/:memory:"):
        raise ConfigError(
            "an in-memory SQLite database cannot be shared between connections; "
            "give a file path, e.g. sqlite:////var/lib/abaco/abaco.db"
        )
    if path.startswith("/"):
        path = "/" + path.lstrip("/")
    path = os.path.abspath(os.path.expanduser(path))
    options: dict[str, float] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in (*_POOL_KEYS, "busy_timeout"):
            options[key] = _number(key, value)
        else:
            raise ConfigError(f"unknown SQLite database URL parameter {key!r}")
    return DatabaseURL(SQLITE, path, f"sqlite://{path}", options)


def _parse_postgres(url: str) -> DatabaseURL:
    parts = urlsplit(url)
    options: dict[str, float] = {}
    libpq: list[str] = []
    # keep libpq's parameters exactly as written (libpq decodes %XX but not "+")
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        if unquote(key) in _POOL_KEYS:
            options[unquote(key)] = _number(unquote(key), unquote(value))
        else:
            libpq.append(item)
    target = urlunsplit(("postgresql", parts.netloc, parts.path, "&".join(libpq), ""))
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    display = urlunsplit(("postgresql", netloc, parts.path, "", ""))
    return DatabaseURL(POSTGRESQL, target, display, options)


class _SqliteConnect(pw.SqliteDatabase):
    """Opens a SQLite connection: creates the file's directory, switches the file to WAL."""

    #: seconds to keep retrying the switch to WAL while another connection holds a lock
    wal_timeout = 5.0

    def _connect(self) -> Any:
        directory = os.path.dirname(self.database)
        if directory:
            os.makedirs(directory, exist_ok=True)
        conn = super()._connect()
        try:
            self._ensure_wal(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        # WAL is a property of the file: once set, later connections find it set. Switching
        # needs a moment with no other connection in a transaction, and SQLite answers
        # "database is locked" at once instead of waiting, so wait here.
        deadline = time.monotonic() + self.wal_timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    log.warning("SQLite database %s cannot use WAL; journal mode is %s", self.database, mode)
                return
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if ("locked" not in message and "busy" not in message) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)


class PooledSqlite(PooledSqliteDatabase, _SqliteConnect):
    """A pool of SQLite connections (each usable from any thread, one at a time)."""


class PooledPostgres(PooledPostgresqlDatabase):
    """A pool of psycopg2 connections that checks a connection cheaply on checkout.

    peewee's own check runs ``SELECT 1`` on every checkout, a round trip per store
    operation. Instead: a connection whose transaction status is known and idle, and whose
    socket has nothing to read, is healthy -- a server that restarted, or terminated the
    backend, or closed it for idling, has written its FATAL message and closed the socket,
    which makes it readable. Connections found dead are dropped and a new one is opened.
    """

    def _is_closed(self, conn: Any) -> bool:
        if conn.closed:
            return True
        status = self._adapter.txn_status(conn)
        if status == self._adapter.txn_unknown:
            return True
        if status != self._adapter.txn_idle:
            try:
                self._adapter.rollback(conn)
            except Exception:
                return True
            return False
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


def _libpq_defaults(target: str) -> dict[str, Any]:
    present = {unquote(item.partition("=")[0]) for item in urlsplit(target).query.split("&")}
    defaults: dict[str, Any] = {
        "connect_timeout": 5,
        "application_name": "abaco",
        # find a dead server or a broken network path within about a minute
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    return {key: value for key, value in defaults.items() if key not in present}


def open_database(url: str | DatabaseURL) -> pw.Database:
    """A peewee database for ``url``. Nothing is connected yet: connections open on first use."""
    parsed = parse_url(url) if isinstance(url, str) else url
    opts = parsed.options
    if parsed.dialect == SQLITE:
        busy = float(opts.get("busy_timeout", 5.0))
        db = PooledSqlite(
            parsed.target,
            max_connections=int(opts.get("max_connections", 32)) or None,
            timeout=float(opts.get("pool_timeout", 10.0)),
            stale_timeout=opts.get("stale_timeout"),
            pragmas=[
                ("busy_timeout", int(busy * 1000)),
                ("synchronous", "normal"),
                ("foreign_keys", 1),
            ],
            check_same_thread=False,
            lock_type="IMMEDIATE",
        )
        db.wal_timeout = max(busy, 1.0)
        return db
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise ConfigError(
            "PostgreSQL needs the psycopg2 driver: pip install 'abaco[postgres]' (or psycopg2-binary)"
        ) from None
    return PooledPostgres(
        parsed.target,
        max_connections=int(opts.get("max_connections", 20)) or None,
        timeout=float(opts.get("pool_timeout", 10.0)),
        stale_timeout=opts.get("stale_timeout", 1800),
        **_libpq_defaults(parsed.target),
    )
