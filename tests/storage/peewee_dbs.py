"""Databases for the peewee store tests: the PostgreSQL server and throwaway schemas on it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from tests.queues.services import postgres_url, require_postgres

# one definition of the test server and of its skip-or-fail rule, shared with the queue tests
postgres_base_url = postgres_url


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
