"""Queue throughput: put, and reserve + ack, in messages per second, for the embedded local
queue (SQLite, ``synchronous=FULL`` as shipped and ``NORMAL``) and the Redis queue.

For each queue: N puts from one thread; N reserve + ack from one thread; N reserve + ack from
T threads over 4 actors (the same queue object, as a worker process shares it); and the
hand-off latency of a blocked ``reserve(timeout)`` woken by a ``put`` from another thread
(median and p90 over 200 hand-offs). Redis runs under a throwaway key prefix that is deleted
afterwards; nothing else in the database is touched.

    .venv/bin/python bench/queue_throughput.py [--messages 5000] [--threads 8]
        [--queues local local-normal redis] [--redis-url redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable

from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.interfaces import Queue


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f} msg/s ({seconds:.2f} s)"


def bench(queue: Queue, messages: int, threads: int) -> dict[str, str]:
    out: dict[str, str] = {}
    run = uuid.uuid4().hex[:6]

    t0 = time.perf_counter()
    for i in range(messages):
        queue.put(f"{run}_a", f"e{i}")
    out["put (1 thread)"] = rate(messages, time.perf_counter() - t0)

    t0 = time.perf_counter()
    for _ in range(messages):
        d = queue.reserve(f"{run}_a", "w")
        assert d is not None
        queue.ack(d)
    out["reserve+ack (1 thread)"] = rate(messages, time.perf_counter() - t0)
    assert queue.reserve(f"{run}_a", "w") is None

    actors = [f"{run}_b{k}" for k in range(4)]
    for i in range(messages):
        queue.put(actors[i % 4], f"f{i}")
    done = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def consume(t: int) -> None:
        barrier.wait()
        actor = actors[t % 4]
        while (d := queue.reserve(actor, f"w{t}")) is not None:
            queue.ack(d)
            done[t] += 1

    workers = [threading.Thread(target=consume, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    assert sum(done) == messages, (sum(done), messages)
    out[f"reserve+ack ({threads} threads, 4 actors)"] = rate(messages, time.perf_counter() - t0)

    def wait(ready: threading.Event, got: list[float]) -> None:
        ready.set()
        d = queue.reserve(f"{run}_c", "w", timeout=5)
        got.append(time.perf_counter())
        assert d is not None
        queue.ack(d)

    latencies: list[float] = []
    for i in range(200):
        got: list[float] = []
        ready = threading.Event()
        waiter = threading.Thread(target=wait, args=(ready, got))
        waiter.start()
        ready.wait()
        time.sleep(0.002)  # let it block
        sent = time.perf_counter()
        queue.put(f"{run}_c", f"g{i}")
        waiter.join()
        latencies.append((got[0] - sent) * 1000)
    out["blocked reserve woken by put"] = (
        f"median {statistics.median(latencies):.2f} ms, p90 {p90(latencies):.2f} ms"
    )
    return out


def local_queue(synchronous: str) -> Callable[[], tuple[Queue, Callable[[], None]]]:
    def build() -> tuple[Queue, Callable[[], None]]:
        tmp = tempfile.mkdtemp(prefix="abaco-bench-")
        q = LocalQueue(f"{tmp}/queue.db", synchronous=synchronous)

        def cleanup() -> None:
            q.close()
            shutil.rmtree(tmp, ignore_errors=True)

        return q, cleanup

    return build


def redis_queue(url: str) -> Callable[[], tuple[Queue, Callable[[], None]]]:
    def build() -> tuple[Queue, Callable[[], None]]:
        import redis
        from abaco_redis.queue import RedisQueue

        prefix = f"abaco-bench:{uuid.uuid4().hex[:8]}:"
        q = RedisQueue(url, prefix=prefix)
        q.ping()

        def cleanup() -> None:
            q.close()
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.unlink(*keys)
            client.close()

        return q, cleanup

    return build


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--queues", nargs="+", default=["local", "local-normal", "redis"])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    builders = {
        "local": ("local (SQLite, synchronous=FULL)", local_queue("FULL")),
        "local-normal": ("local (SQLite, synchronous=NORMAL)", local_queue("NORMAL")),
        "redis": (f"redis ({args.redis_url})", redis_queue(args.redis_url)),
    }
    print(f"{args.messages} messages, {args.threads} threads")
    for name in args.queues:
        title, build = builders[name]
        try:
            queue, cleanup = build()
        except Exception as exc:  # an unreachable Redis: say so and go on
            print(f"\n{title}: skipped ({exc})")
            continue
        try:
            results = bench(queue, args.messages, args.threads)
        finally:
            cleanup()
        print(f"\n{title}")
        for label, value in results.items():
            print(f"  {label:<34} {value}")


if __name__ == "__main__":
    main()
