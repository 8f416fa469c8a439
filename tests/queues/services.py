"""Redis and PostgreSQL for the queue and ordering tests: where they are, scratch space on
them that never touches other data, and the skip-or-fail rule when they are down.

* Redis comes from ``ABACO_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``, the server
  ``scripts/start-engines.sh`` starts). Each test gets its own key prefix
  (``abaco-test:<random>:``) and only keys under it are deleted afterwards: nothing is ever
  flushed. Unreachable: skip, or fail with ``ABACO_REQUIRE_REDIS=1`` (CI).
* PostgreSQL comes from ``ABACO_TEST_POSTGRES_URL`` (default: the database of
  ``scripts/start-postgres.sh``); each user gets a fresh schema, dropped afterwards.
  Unreachable: skip, or fail with ``ABACO_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_POSTGRES_URL = "postgresql://abaco:abaco@127.0.0.1:5432/abaco_test"
#: a port nothing listens on (checked by the test that uses it)
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


def redis_url() -> str:
    return os.environ.get("ABACO_TEST_REDIS_URL") or DEFAULT_REDIS_URL


def _unavailable(message: str, require_env: str) -> None:
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{message} ({require_env}=1)", pytrace=False)
    pytest.skip(message)


@functools.cache
def _redis_problem() -> str | None:
    import redis

    client = redis.Redis.from_url(redis_url(), socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


def require_redis() -> None:
    """Skip the test when Redis is unreachable -- or fail, with ABACO_REQUIRE_REDIS=1."""
    problem = _redis_problem()
    if problem is not None:
        _unavailable(
            f"Redis at {redis_url()} is unreachable ({problem}); start it with scripts/start-engines.sh",
            "ABACO_REQUIRE_REDIS",
        )


def scratch_prefix() -> str:
    return f"abaco-test:{uuid.uuid4().hex[:12]}:"


def delete_prefix(prefix: str) -> int:
    """Delete the keys under ``prefix`` (and only those); return how many."""
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        gone = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                gone += client.unlink(*batch)
                batch.clear()
        if batch:
            gone += client.unlink(*batch)
        return gone
    finally:
        client.close()


@contextlib.contextmanager
def redis_scratch() -> Iterator[str]:
    """A fresh key prefix on the test Redis, its keys deleted afterwards."""
    require_redis()
    prefix = scratch_prefix()
    try:
        yield prefix
    finally:
        delete_prefix(prefix)


def postgres_url() -> str:
    return os.environ.get("ABACO_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@functools.cache
def _postgres_problem() -> str | None:
    import psycopg2

    try:
        conn = psycopg2.connect(postgres_url(), connect_timeout=3)
    except psycopg2.Error as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    conn.close()
    return None


def require_postgres() -> None:
    problem = _postgres_problem()
    if problem is not None:
        _unavailable(
            f"PostgreSQL at {postgres_url().rsplit('@', 1)[-1]} is unreachable ({problem}); "
            "start it with scripts/start-postgres.sh",
            "ABACO_REQUIRE_POSTGRES",
        )


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    require_postgres()
    import psycopg2

    schema = f"abaco_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_url(), connect_timeout=3)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in postgres_url() else "?"
        options = urlencode({"options": f"-c search_path={schema}"}, quote_via=quote)
        yield postgres_url() + separator + options
    finally:
        admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()
