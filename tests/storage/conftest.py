"""Fixtures for the peewee store tests: every test that takes ``store`` or ``db_url`` runs
against SQLite (a temporary file) and PostgreSQL (a fresh schema per test).

PostgreSQL comes from ``ABACO_TEST_POSTGRES_URL`` (default: the database that
``scripts/start-postgres.sh`` creates). When it cannot be reached the PostgreSQL cases are
skipped, or fail when ``ABACO_REQUIRE_POSTGRES=1`` (as in CI).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlencode

import pytest

from abaco_peewee.store import PeeweeStore

DEFAULT_POSTGRES_URL = "postgresql://abaco:abaco@127.0.0.1:5432/abaco_test"


def postgres_base_url() -> str:
    return os.environ.get("ABACO_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@functools.cache
def _postgres_problem() -> str | None:
    import psycopg2

    try:
        conn = psycopg2.connect(postgres_base_url(), connect_timeout=3)
    except psycopg2.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    conn.close()
    return None


def require_postgres() -> None:
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


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema (dropped afterwards)."""
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


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/abaco.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """The URL of an empty database, once per kind of database."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def make_store(db_url) -> Iterator[Callable[..., PeeweeStore]]:
    """Build more stores on the same database (closed at the end of the test)."""
    stores: list[PeeweeStore] = []

    def build(url: str | None = None, *, migrate: bool = True) -> PeeweeStore:
        built = PeeweeStore(url or db_url)
        stores.append(built)
        if migrate:
            built.migrate()
        return built

    yield build
    for built in stores:
        built.close()


@pytest.fixture
def store(make_store) -> PeeweeStore:
    """A migrated store on an empty database."""
    return make_store()
