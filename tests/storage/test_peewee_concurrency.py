"""Atomicity under concurrency: threads sharing a store, stores in separate processes."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from abaco_peewee.migrations import latest_version
from abaco_peewee.store import PeeweeStore
from peewee_factories import T0, actor, execution, message, worker

from abaco_core.models import ExecutionStatus

THREADS = 8
ROUNDS = 10


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` for i in range(n) in n threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
def test_add_first_worker_race_between_threads(store, make_store, shared):
    stores = [store] * THREADS if shared else [make_store(migrate=False) for _ in range(THREADS)]
    for round_ in range(ROUNDS):
        actor_id = f"race{round_}"
        store.create_actor(actor(actor_id=actor_id))
        results = _race(
            THREADS,
            lambda i, actor_id=actor_id: stores[i].add_worker(
                worker(actor_id, worker_id=f"w{i}"), max_workers=1
            ),
        )
        assert results.count(True) == 1, results
        assert len(store.list_workers("dev", actor_id)) == 1


def test_add_worker_race_fills_exactly_max_workers(store):
    store.create_actor(actor(actor_id="many"))
    results = _race(THREADS * 2, lambda i: store.add_worker(worker("many", worker_id=f"w{i}"), max_workers=5))
    assert results.count(True) == 5
    assert len(store.list_workers("dev", "many")) == 5


def _process_racer(url: str, barrier: Any, actor_ids: list[str], tag: str, results: Any) -> None:
    store = PeeweeStore(url)
    try:
        won = []
        for actor_id in actor_ids:
            barrier.wait(timeout=60)
            if store.add_worker(worker(actor_id, worker_id=f"{tag}-{actor_id}"), max_workers=1):
                won.append(actor_id)
        results.put((tag, won))
    except BaseException as exc:  # report, don't hang the parent
        results.put((tag, repr(exc)))
    finally:
        store.close()


def test_add_first_worker_race_between_processes(store, db_url):
    actor_ids = [f"proc{n}" for n in range(15)]
    for actor_id in actor_ids:
        store.create_actor(actor(actor_id=actor_id))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_process_racer, args=(db_url, barrier, actor_ids, tag, results))
        for tag in ("p1", "p2")
    ]
    for proc in procs:
        proc.start()
    outcome = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
    for tag, won in outcome.items():
        assert isinstance(won, list), f"{tag} failed: {won}"
    assert sorted(outcome["p1"] + outcome["p2"]) == sorted(actor_ids)
    for actor_id in actor_ids:
        assert len(store.list_workers("dev", actor_id)) == 1


def test_only_one_thread_claims_an_execution(store):
    for round_ in range(ROUNDS):
        ex = execution(execution_id=f"claim{round_}")
        store.create_execution(ex, message(ex))
        results = _race(
            THREADS,
            lambda i, ex=ex: store.update_execution(
                ex.replace(status=ExecutionStatus.RUNNING, worker_id=f"w{i}"),
                expected=[ExecutionStatus.SUBMITTED],
            ),
        )
        assert results.count(True) == 1
        winner = results.index(True)
        assert store.get_execution("dev", "a1", ex.id).worker_id == f"w{winner}"


def test_each_result_is_popped_once(store):
    total = 120
    for n in range(total):
        store.add_result("dev", "a1", "e1", f"r{n}".encode(), T0)

    def drain(i: int) -> list[bytes]:
        got: list[bytes] = []
        while (data := store.pop_result("dev", "a1", "e1", T0)) is not None:
            got.append(data)
        return got

    popped = [data for got in _race(THREADS, drain) for data in got]
    assert sorted(popped) == sorted(f"r{n}".encode() for n in range(total))
    assert store.pop_result("dev", "a1", "e1", T0) is None


def test_concurrent_writes_from_many_threads(store):
    """Executions created and updated by many threads at once: none lost, no busy errors."""

    def work(i: int) -> None:
        for n in range(20):
            ex = execution(f"act{i % 3}", execution_id=f"t{i}-{n}", cpu=1)
            store.create_execution(ex, message(ex, {"n": n}))
            assert store.update_execution(
                ex.replace(status=ExecutionStatus.RUNNING), expected=[ExecutionStatus.SUBMITTED]
            )
            assert store.get_execution(ex.tenant, ex.actor_id, ex.id).status is ExecutionStatus.RUNNING

    _race(THREADS, work)
    total = sum(store.execution_totals("dev", f"act{k}").count for k in range(3))
    assert total == THREADS * 20
    assert len(store.executions_with_status([ExecutionStatus.RUNNING])) == THREADS * 20


def test_concurrent_migrations(db_url):
    stores = [PeeweeStore(db_url) for _ in range(4)]
    try:
        _race(len(stores), lambda i: stores[i].migrate())
        assert {s.schema_version() for s in stores} == {latest_version()}
        rows = (
            stores[0]
            .database.execute_sql('SELECT "version" FROM "abaco_schema_version" ORDER BY 1')
            .fetchall()
        )
        assert [r[0] for r in rows] == list(range(1, latest_version() + 1))
    finally:
        for s in stores:
            s.close()
