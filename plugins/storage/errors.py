"""Translation of peewee, psycopg2 and sqlite3 errors into abaco's error tree.

The store calls :func:`translate` at its edge (every public method), so no driver or ORM
exception ever reaches the core.
"""

from __future__ import annotations

import sqlite3

import peewee as pw
from playhouse.pool import MaxConnectionsExceeded

from abaco_core.errors import AbacoError, Conflict, InvalidRequest, StoreError, StoreUnavailable

__all__ = ["is_disconnect", "translate"]

# SQLSTATE classes and codes (PostgreSQL appendix A)
_PG_CONNECTION_CLASS = "08"  # connection exception
_PG_UNAVAILABLE = {
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
    "57014",  # query_canceled (statement_timeout)
    "55P03",  # lock_not_available (lock_timeout)
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
}
_PG_UNIQUE_VIOLATION = "23505"
_PG_UNDEFINED = {"42P01", "42703"}  # undefined_table, undefined_column

_SQLITE_UNAVAILABLE = (
    "unable to open database",
    "database is locked",
    "database is busy",
    "disk i/o error",
    "readonly database",
    "cannot operate on a closed database",
    "database disk image is malformed",
    "file is not a database",
)
_SQLITE_SCHEMA = ("no such table", "no such column", "has no column named")


def _original(exc: BaseException) -> BaseException:
    """The driver exception behind a peewee exception."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        return orig
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, pw.PeeweeException) and cause is not None and _is_driver_error(cause):
        return cause
    return exc


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("psycopg2", "psycopg", "sqlite3", "_sqlite3"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _pgcode(exc: BaseException) -> str | None:
    code = getattr(exc, "pgcode", None)
    return code if isinstance(code, str) else None


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the database was lost or never made."""
    orig = _original(exc)
    if isinstance(orig, sqlite3.Error):
        return False
    module = type(orig).__module__ or ""
    if not module.startswith("psycopg"):
        return False
    name = type(orig).__name__
    code = _pgcode(orig)
    if code is not None:
        return code.startswith(_PG_CONNECTION_CLASS) or code in {"57P01", "57P02", "57P03"}
    if name == "InterfaceError":
        return True  # "connection already closed"
    if name == "OperationalError":
        conn_closed = getattr(getattr(orig, "cursor", None), "connection", None)
        return bool(getattr(conn_closed, "closed", True))
    return False


def translate(exc: BaseException, where: str) -> AbacoError | None:
    """The abaco error for a database failure, or ``None`` when ``exc`` is not one.

    ``where`` names the database (its URL without the password) for the message.
    """
    if isinstance(exc, AbacoError):
        return exc
    if isinstance(exc, MaxConnectionsExceeded):
        return StoreUnavailable(
            f"every pooled connection to {where} is in use and none was freed in time "
            "(raise max_connections or pool_timeout in the database URL)"
        )
    if isinstance(exc, UnicodeError):
        return InvalidRequest(f"text that cannot be stored: {exc}")
    if isinstance(exc, (ValueError, OverflowError)) and not isinstance(exc, pw.PeeweeException):
        # raised by the driver while adapting a parameter: a NUL character for PostgreSQL,
        # an integer beyond 64 bits for SQLite
        return InvalidRequest(f"a value cannot be stored: {exc}")
    orig = _original(exc)
    detail = _first_line(orig)

    if isinstance(orig, sqlite3.Error) or (isinstance(exc, pw.PeeweeException) and "sqlite" in where):
        return _translate_sqlite(exc, orig, detail, where)
    if isinstance(exc, pw.PeeweeException) or _is_driver_error(orig):
        return _translate_postgres(exc, orig, detail, where)
    if isinstance(exc, OSError):
        # creating the SQLite database's directory failed
        return StoreUnavailable(f"cannot open the database {where}: {exc}")
    return None


def _translate_sqlite(exc: BaseException, orig: BaseException, detail: str, where: str) -> AbacoError:
    lowered = detail.lower()
    if isinstance(exc, pw.IntegrityError) or isinstance(orig, sqlite3.IntegrityError):
        if "unique" in lowered or "primary key" in lowered:
            return Conflict(f"already exists ({detail})")
        return StoreError(f"{where} refused a record: {detail}")
    if any(marker in lowered for marker in _SQLITE_SCHEMA):
        return _schema_error(where, detail)
    if any(marker in lowered for marker in _SQLITE_UNAVAILABLE):
        if "locked" in lowered or "busy" in lowered:
            return StoreUnavailable(
                f"the SQLite database {where} stayed locked by another writer longer than the "
                f"busy timeout ({detail})"
            )
        return StoreUnavailable(f"cannot use the SQLite database {where}: {detail}")
    if isinstance(exc, pw.DataError) or isinstance(orig, sqlite3.DataError):
        return InvalidRequest(f"a value cannot be stored: {detail}")
    if lowered.startswith(("database or disk is full", "out of memory")):
        return StoreUnavailable(f"the SQLite database {where} cannot grow: {detail}")
    return StoreError(f"the SQLite database {where} failed: {detail}")


def _translate_postgres(exc: BaseException, orig: BaseException, detail: str, where: str) -> AbacoError:
    code = _pgcode(orig)
    name = type(orig).__name__
    if code == _PG_UNIQUE_VIOLATION:
        return Conflict(f"already exists ({detail})")
    if code in _PG_UNDEFINED:
        return _schema_error(where, detail)
    if is_disconnect(exc) or (code is None and name in ("OperationalError", "InterfaceError")):
        return StoreUnavailable(f"cannot reach the PostgreSQL database {where}: {detail}")
    if code is not None and (code in _PG_UNAVAILABLE or code.startswith(_PG_CONNECTION_CLASS)):
        return StoreUnavailable(f"the PostgreSQL database {where} is unavailable: {detail}")
    if code is not None and code.startswith("22"):  # data exception
        return InvalidRequest(f"a value cannot be stored: {detail}")
    if isinstance(exc, pw.IntegrityError) or (code is not None and code.startswith("23")):
        return StoreError(f"{where} refused a record: {detail}")
    return StoreError(f"the PostgreSQL database {where} failed: {detail}")


def _schema_error(where: str, detail: str) -> StoreError:
    return StoreError(
        f"the database {where} has no abaco schema or an outdated one ({detail}); "
        "migrate it with the store's migrate()"
    )
