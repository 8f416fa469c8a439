"""Accept and completion throughput of ``abaco up`` (SQLite store), with the harness's no-op
``fake`` container backend so the platform's own cost is what is measured. Figures only: it
asserts nothing about speed.

- accept: ``POST /actors/{id}/messages`` (messages/s) with the embedded ``local`` queue and
  with the ``redis`` queue, to an actor whose one worker is busy (a fake container that
  sleeps an hour), so only accepting is measured. Sent by Python clients (keep-alive
  ``http.client`` threads) and, when ``wrk`` is installed, by ``wrk`` with a Lua script, so
  the figure is not capped by the client. ``cpu/msg`` is the server's CPU time per accepted
  message (from ``/proc``), which the other load on the machine disturbs much less than the
  rate.
- complete: executions/s from the first POST until every execution is ``COMPLETE``, for a
  stateless actor allowed 1, 2 and 4 workers (the autoscaler adds them as the backlog grows).
- ``--queued N`` (a separate run, minutes for 100,000): N messages accepted into one actor's
  inbox; the accept rate of the first and last 5,000, then the latency of listing its
  executions at 100 and at N: a page (``?limit=100``), the last page, a filtered count, the
  whole listing, the inbox count.

    .venv/bin/python bench/throughput.py                       # accept + complete, 2000 messages
    .venv/bin/python bench/throughput.py -n 5000 --queues local
    .venv/bin/python bench/throughput.py --queued 100000 --skip-accept --skip-complete

Redis: ``ABACO_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``), under a key prefix of
its own that is deleted afterwards; unreachable, the redis rows are skipped.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import AbacoProcess

REDIS_URL = os.environ.get("ABACO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
#: a fake container that holds its worker for an hour: messages only queue
SLEEPER = {"image": "abaco-fake/sleep:1", "max_workers": 1, "default_environment": {"SLEEP": "3600"}}
ECHO = "abaco-test/busybox:1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "message=hello"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """Seconds of CPU process ``pid`` used so far (user + system, every thread), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        return True
    except Exception:
        return False


class Server:
    """``abaco up`` with the fake backend, on ``queue``; CPU time read from /proc."""

    def __init__(self, queue: str, tmp: Path) -> None:
        self.prefix = f"abaco-bench-{uuid.uuid4().hex[:8]}:"
        env = {
            "ABACO_BACKEND": "fake",
            "ABACO_LOG_LEVEL": "WARNING",
            "ABACO_AUTOSCALE_INTERVAL": "0.2",
            "ABACO_QUEUE": queue,
        }
        if queue == "redis":
            env.update({"ABACO_REDIS_URL": REDIS_URL, "ABACO_REDIS_QUEUE_PREFIX": self.prefix})
        self.queue = queue
        self.proc = AbacoProcess(tmp, env).start()
        self.url = self.proc.url

    def cpu(self) -> float:
        """Seconds of CPU the server used so far (user + system, every thread)."""
        assert self.proc.proc is not None
        return cpu_seconds(self.proc.proc.pid)

    def actor(self, **fields: object) -> str:
        aid = self.proc.register(**fields)["id"]
        actor = self.proc.wait_actor(aid)
        assert actor["status"] == "READY", actor
        return aid

    def get(self, path: str) -> dict:
        r = self.proc.client.get(path)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def stop(self) -> None:
        self.proc.stop(timeout=120)
        if self.queue == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{self.prefix}*", count=1000):
                client.delete(key)


def post_all(url: str, aid: str, n: int, clients: int) -> float:
    """Seconds ``clients`` keep-alive threads take to get ``n`` messages accepted."""
    parts = urlsplit(url)
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    errors: list[str] = []

    def run(count: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for i in range(count):
            conn.request("POST", f"/actors/{aid}/messages", body=f"message=m{i}", headers=FORM)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                errors.append(body.decode(errors="replace"))
                return
        conn.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in per]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} messages refused, e.g. {errors[0]}")
    return time.perf_counter() - t0


def wrk(url: str, aid: str, seconds: float, tmp: Path) -> tuple[int, float, int]:
    """(requests, seconds, non-2xx answers) of ``wrk`` POSTing for ``seconds``."""
    script = tmp / "post.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "-s", str(script), f"{url}/actors/{aid}/messages"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = elapsed = bad = 0
    for line in out.splitlines():
        words = line.split()
        if "requests in" in line:
            requests, elapsed = int(words[0]), float(words[3].rstrip("s,"))
        if line.strip().startswith("Non-2xx"):
            bad = int(words[-1])
    return requests, elapsed, bad


def accept(queue: str, n: int, clients: int, wrk_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(queue, Path(tmp))
        try:
            aid = server.actor(**SLEEPER)
            c0 = server.cpu()
            seconds = post_all(server.url, aid, n, clients)
            cpu = (server.cpu() - c0) / n
            print(f"{queue:>8}{'python x' + str(clients):>12}{n / seconds:>12.0f}{cpu * 1e3:>11.2f}ms")
            if wrk_seconds > 0 and shutil.which("wrk"):
                c0 = server.cpu()
                requests, elapsed, bad = wrk(server.url, aid, wrk_seconds, Path(tmp))
                cpu = (server.cpu() - c0) / max(requests, 1)
                note = f"   ({bad} not 200!)" if bad else ""
                print(f"{queue:>8}{'wrk c16':>12}{requests / elapsed:>12.0f}{cpu * 1e3:>11.2f}ms{note}")
        finally:
            server.stop()


def finished(server: Server, aid: str) -> int:
    """How many executions are COMPLETE: a count (one indexed query), not the whole listing;
    a server without paging (before it existed) answers with the whole listing."""
    result = server.get(f"/actors/{aid}/executions?status=COMPLETE&limit=0")
    if "_metadata" in result:
        return int(result["_metadata"]["total_count"])
    return sum(e["status"] == "COMPLETE" for e in result["executions"])


def complete(queue: str, workers: int, n: int, clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(queue, Path(tmp))
        try:
            aid = server.actor(image=ECHO, max_workers=workers)
            c0 = server.cpu()
            t0 = time.perf_counter()
            accepted = n / post_all(server.url, aid, n, clients)
            while finished(server, aid) < n:
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            cpu = (server.cpu() - c0) / n
            print(f"{queue:>8}{workers:>9}{accepted:>12.0f}{n / elapsed:>13.0f}{cpu * 1e3:>11.2f}ms")
        finally:
            server.stop()


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of ``fn``."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def listing_costs(server: Server, aid: str, total: int) -> None:
    client = server.proc.client
    queries = {
        "first page (?limit=100)": f"/actors/{aid}/executions?limit=100",
        "last page (?skip=N-100&limit=100)": f"/actors/{aid}/executions?skip={max(total - 100, 0)}&limit=100",
        "count (?status=SUBMITTED&limit=0)": f"/actors/{aid}/executions?status=SUBMITTED&limit=0",
        "whole listing (no parameters)": f"/actors/{aid}/executions",
        "inbox count (GET /messages)": f"/actors/{aid}/messages",
    }
    for label, path in queries.items():
        size = len(client.get(path).content)
        repeat = 3 if "whole" in label else 7
        seconds = timed(lambda p=path: client.get(p).raise_for_status(), repeat)
        print(f"{total:>9}  {label:<36}{seconds * 1e3:>10.1f} ms{size / 1024:>10.0f} KiB")


def queued(queue: str, n: int, clients: int, batch: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(queue, Path(tmp))
        try:
            aid = server.actor(**SLEEPER)
            post_all(server.url, aid, 100, clients)
            listing_costs(server, aid, 100)
            sent, rates = 100, []
            while sent < n:
                k = min(batch, n - sent)
                rates.append((sent, k / post_all(server.url, aid, k, clients)))
                sent += k
            print(
                f"{queue:>8}  accept rate, messages {rates[0][0]}-{rates[0][0] + batch}: {rates[0][1]:.0f}/s"
            )
            print(f"{queue:>8}  accept rate, messages {rates[-1][0]}-{n}: {rates[-1][1]:.0f}/s")
            waiting = server.get(f"/actors/{aid}/messages")["messages"]
            print(f"{queue:>8}  inbox holds {waiting} messages ({load()})")
            listing_costs(server, aid, n)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="messages per accept / complete run")
    parser.add_argument("--clients", type=int, default=4, help="Python client threads")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--queues", nargs="*", default=["local", "redis"])
    parser.add_argument("--wrk-seconds", type=float, default=8, help="0: no wrk run")
    parser.add_argument("--queued", type=int, default=0, help="also the N-messages-queued run")
    parser.add_argument("--skip-accept", action="store_true")
    parser.add_argument("--skip-complete", action="store_true")
    args = parser.parse_args()
    queues = [q for q in args.queues if q != "redis" or redis_available()]
    if len(queues) < len(args.queues):
        print(f"(redis at {REDIS_URL} unreachable: redis rows skipped)")
    print(f"{os.cpu_count()} CPUs, {load()}; fake backend, SQLite store")
    if not args.skip_accept:
        print(f"\naccept: {args.n} messages to an actor whose worker is busy")
        print(f"{'queue':>8}{'client':>12}{'accepted/s':>12}{'cpu/msg':>13}")
        for queue in queues:
            accept(queue, args.n, args.clients, args.wrk_seconds)
    if not args.skip_complete:
        print(f"\ncomplete: {args.n} messages, {args.clients} client threads; no-op executions")
        print(f"{'queue':>8}{'workers':>9}{'accepted/s':>12}{'completed/s':>13}{'cpu/msg':>13}")
        for queue in queues:
            for w in args.workers:
                complete(queue, w, args.n, args.clients)
    if args.queued:
        print(f"\nqueued: {args.queued} messages waiting in one inbox")
        for queue in queues:
            queued(queue, args.queued, args.clients)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
