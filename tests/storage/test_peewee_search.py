"""The store's reads for search and accounting (``executions_of``, ``logs_of``,
``execution_totals_by_actor``) and the created-actors counter, on SQLite and PostgreSQL, and
the same contract on the harness's MemoryStore."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from abaco_harness.fakes import MemoryStore
from abaco_peewee import search as search_module
from abaco_peewee.store import PeeweeStore
from peewee_factories import T0, actor, execution, message

from abaco_core.counters import actors_created, count_actor_created, init_actor_counter
from abaco_core.interfaces import Store
from abaco_core.records import ExecutionTotals


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "memory"])
def any_store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    built = PeeweeStore(request.getfixturevalue(f"{request.param}_url"))
    built.migrate()
    yield built
    built.close()


def _run(store: Store, actor_id: str, tenant: str = "dev", **fields) -> str:
    ex = execution(actor_id, tenant, **fields)
    store.create_execution(ex, message(ex))
    return ex.id


def test_executions_of_given_actors_in_insertion_order(any_store):
    s = any_store
    for a in ("a1", "a2", "a3"):
        s.create_actor(actor("dev", a))
    s.create_actor(actor("other", "a1"))
    made = [_run(s, "a2"), _run(s, "a1"), _run(s, "a3"), _run(s, "a1", "other"), _run(s, "a2")]
    found = s.executions_of("dev", ["a1", "a2"])
    assert [(e.actor_id, e.id) for e in found] == [("a2", made[0]), ("a1", made[1]), ("a2", made[4])]
    assert [e.id for e in s.executions_of("other", ["a1"])] == [made[3]]
    assert s.executions_of("dev", []) == []
    assert s.executions_of("dev", ["nope"]) == []
    # a deleted actor's executions are kept, and still found
    s.delete_actor("dev", "a3")
    assert [e.id for e in s.executions_of("dev", ["a3", "a3"])] == [made[2]]
    # the records come back whole
    assert s.executions_of("dev", ["a1"])[0] == s.get_execution("dev", "a1", made[1])


def test_executions_of_many_actors_spans_chunks(any_store, monkeypatch):
    monkeypatch.setattr(search_module, "CHUNK", 2)
    s = any_store
    made = [_run(s, f"a{i}") for i in range(5)]
    assert [e.id for e in s.executions_of("dev", [f"a{i}" for i in reversed(range(5))])] == made


def test_logs_of_skips_expired_and_other_actors(any_store, monkeypatch):
    monkeypatch.setattr(search_module, "CHUNK", 1)
    s = any_store
    now = T0
    s.set_logs("dev", "a1", "e1", "first ✓", None)
    s.set_logs("dev", "a2", "e2", "second", now + timedelta(seconds=1))
    s.set_logs("dev", "a2", "e3", "expired", now)
    s.set_logs("dev", "a3", "e4", "not asked for", None)
    s.set_logs("other", "a1", "e5", "other tenant", None)
    s.set_logs("dev", "a1", "e1", "first, updated", None)  # an update keeps its place
    assert s.logs_of("dev", ["a2", "a1"], now) == [("a1", "e1", "first, updated"), ("a2", "e2", "second")]
    assert s.logs_of("dev", ["a2"], now + timedelta(seconds=1)) == []
    assert s.logs_of("dev", [], now) == []


def test_execution_totals_by_actor_every_tenant_deleted_actors_included(any_store):
    s = any_store
    s.create_actor(actor("dev", "a1"))
    s.create_actor(actor("dev", "a2"))
    _run(s, "a1", cpu=5, io=7, runtime=1)
    _run(s, "a1", cpu=1, io=1, runtime=2)
    _run(s, "a2", cpu=10, io=0, runtime=0)
    _run(s, "a1", "other", cpu=2, io=3, runtime=4)
    s.delete_actor("dev", "a2")
    assert s.execution_totals_by_actor() == {
        ("dev", "a1"): ExecutionTotals(count=2, cpu=6, io=8, runtime=3),
        ("dev", "a2"): ExecutionTotals(count=1, cpu=10, io=0, runtime=0),
        ("other", "a1"): ExecutionTotals(count=1, cpu=2, io=3, runtime=4),
    }


def test_no_executions_no_totals(any_store):
    assert any_store.execution_totals_by_actor() == {}


def test_created_actors_counter_is_atomic_and_starts_from_existing_actors(any_store):
    s = any_store
    s.create_actor(actor("dev", "old1"))
    s.create_actor(actor("other", "old2"))
    assert actors_created(s) == 2  # never set: the actors there are
    init_actor_counter(s)
    init_actor_counter(s)  # idempotent
    s.delete_actor("dev", "old1")
    assert actors_created(s) == 2
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: count_actor_created(s), range(40)))
    assert actors_created(s) == 42
    assert s.get_object("", "counter", "actors_created") == {"value": 42}


def test_a_tenants_created_actors_counter(any_store):
    s = any_store
    s.create_actor(actor("dev", "old1"))
    s.create_actor(actor("other", "old2"))
    assert actors_created(s, "dev") == 1  # never set: the tenant's actors there are
    s.create_actor(actor("dev", "new1"))
    count_actor_created(s, "dev")  # starts the tenant's counter from its actors, this one included
    s.delete_actor("dev", "old1")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: count_actor_created(s, "dev"), range(10)))
    assert (actors_created(s, "dev"), actors_created(s, "other"), actors_created(s, "none")) == (12, 1, 0)
    assert actors_created(s) == 3 + 10  # the platform counter: from the 3 actors there, then 10
