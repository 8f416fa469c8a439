"""Databases for the peewee store tests: the PostgreSQL server and throwaway schemas on it."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest

DEFAULT_POSTGRES_URL = "postgresql://abaco:abaco@127.0.0.1:5432/abaco_test"


def postgres_base_url() -> str:
    return os.environ.get("ABACO_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@functools.cache
def _postgres_problem() -> str | None:
    import psycopg2

    try:
        conn = psycopg2.connect(postgres_base_url(), connect_timeout=3)
    except psycopg2.Error as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    conn.close()
    return None


def require_postgres() -> None:
    """Skip the test when PostgreSQL is unreachable -- or fail, with ABACO_REQUIRE_POSTGRES=1."""
    problem = _postgres_problem()
    if problem is None:
        return
    message = (
        f"PostgreSQL at {postgres_base_url().rsplit('@', 1)[-1]} is unreachable ({problem}); "
        "start it with scripts/start-postgres.sh"
    )
    if os.environ.get("ABACO_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (ABACO_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode({"options": f"-c search_path={schema}"}, quote_via=quote)


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    require_postgres()
    import psycopg2

    schema = f"abaco_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_base_url(), connect_timeout=3)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
        yield with_search_path(postgres_base_url(), schema)
    finally:
        admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@contextlib.contextmanager
def fresh_database_url(kind: str, tmp_path) -> Iterator[str]:
    """An empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/{uuid.uuid4().hex[:8]}.db"
    else:
        with fresh_schema() as url:
            yield url
