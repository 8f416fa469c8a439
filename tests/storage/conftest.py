"""Fixtures for the peewee store tests: every test that takes ``store`` or ``db_url`` runs
against SQLite (a temporary file) and PostgreSQL (a fresh schema per test).

PostgreSQL comes from ``ABACO_TEST_POSTGRES_URL`` (default: the database that
``scripts/start-postgres.sh`` creates). When it cannot be reached the PostgreSQL cases are
skipped, or fail when ``ABACO_REQUIRE_POSTGRES=1`` (as in CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from abaco_peewee.store import PeeweeStore
from peewee_dbs import fresh_schema


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema (dropped afterwards)."""
    with fresh_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/abaco.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_kind(request) -> str:
    return request.param


@pytest.fixture
def db_url(request, db_kind) -> str:
    """The URL of an empty database, once per kind of database."""
    return request.getfixturevalue(f"{db_kind}_url")


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
