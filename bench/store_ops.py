"""Store hot-path throughput: create_execution + 3 update_execution per execution.

This is what one message costs the store: the API creates the execution (with its
message), a worker marks it RUNNING (compare-and-set), records its figures, and finishes
it. Prints executions/s and store operations/s, single-threaded and with several threads,
for SQLite (a temporary file, WAL) and PostgreSQL (when reachable).

    .venv/bin/python bench/store_ops.py [--count 2000] [--threads 4] [--postgres URL]

PostgreSQL URL: --postgres, else ABACO_TEST_POSTGRES_URL, else the database that
scripts/start-postgres.sh creates. The benchmark works in a schema of its own, dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from abaco_peewee.store import PeeweeStore

from abaco_core.errors import StoreUnavailable
from abaco_core.models import Execution, ExecutionStatus, Message

S = ExecutionStatus
DEFAULT_PG = "postgresql://abaco:abaco@127.0.0.1:5432/abaco_test"


def one_execution(store: PeeweeStore, actor_id: str, n: int) -> None:
    now = datetime.now(UTC)
    ex = Execution(
        tenant="bench", actor_id=actor_id, id=f"{actor_id}-{n}", executor="bench", message_received_time=now
    )
    msg = Message(
        "bench", actor_id, ex.id, {"n": n, "text": "hello"}, "application/json", {"_abaco_username": "b"}
    )
    store.create_execution(ex, msg)
    running = ex.replace(status=S.RUNNING, worker_id="w1", start_time=now)
    assert store.update_execution(running, expected=[S.SUBMITTED])
    assert store.update_execution(running.replace(cpu=1000, io=10), expected=[S.RUNNING])
    done = running.replace(status=S.COMPLETE, finish_time=datetime.now(UTC), runtime=1, exit_code=0)
    assert store.update_execution(done, expected=[S.RUNNING])


def run(store: PeeweeStore, count: int, threads: int) -> float:
    """Executions per second, ``count`` executions spread over ``threads`` threads."""
    per_thread = count // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        actor_id = f"a{t}-{uuid.uuid4().hex[:6]}"
        barrier.wait()
        try:
            for n in range(per_thread):
                one_execution(store, actor_id, n)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per_thread * threads / elapsed


def report(label: str, store: PeeweeStore, count: int, threads: int) -> None:
    store.migrate()
    run(store, min(200, count), 1)  # warm up: connections, caches
    for n in sorted({1, threads}):
        rate = run(store, count, n)
        print(f"{label:<11} threads={n}  {rate:8.0f} executions/s  {rate * 4:8.0f} store ops/s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="executions per run")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres", default=os.environ.get("ABACO_TEST_POSTGRES_URL") or DEFAULT_PG)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = PeeweeStore(f"sqlite:///{tmp}/bench.db")
        try:
            report("sqlite", store, args.count, args.threads)
        finally:
            store.close()

    import psycopg2

    schema = f"abaco_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg2.connect(args.postgres, connect_timeout=3)
    except psycopg2.Error as exc:
        print(f"postgresql  skipped: {str(exc).strip().splitlines()[0]}")
        return 0
    admin.autocommit = True
    admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in args.postgres else "?"
    store = PeeweeStore(f"{args.postgres}{sep}options={quote(f'-c search_path={schema}')}")
    try:
        report("postgresql", store, args.count, args.threads)
    except StoreUnavailable as exc:
        print(f"postgresql  failed: {exc}")
        return 1
    finally:
        store.close()
        admin.cursor().execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
