"""Accept and completion throughput of the cluster mode on one machine, against ``abaco up`` on
the same services, with the harness's no-op ``fake`` container backend so the platform's own
cost is what is measured. Figures only: it asserts nothing about speed.

The cluster is ``abaco api``, ``abaco scheduler`` and 1, 2 or 4 ``abaco worker`` processes,
sharing Redis (actor inboxes; spawner commands as RQ jobs) and PostgreSQL (every record). The
baseline is one ``abaco up`` process with the same ``ABACO_REDIS_URL`` and
``ABACO_DATABASE_URL``: the same ``rq`` queue and PostgreSQL store, its spawner commands going
through RQ to itself. Each measurement gets a fresh platform: a new PostgreSQL schema and Redis
key prefix, both deleted afterwards, and new processes, each in a process group of its own that
is killed at the end, whatever happens.

- accept: ``POST /actors/{id}/messages`` (messages/s) to an actor whose one worker is busy (a
  fake container that sleeps an hour), so only accepting is measured; sent by Python clients
  (keep-alive threads) and, when ``wrk`` is installed, by ``wrk``.
- complete: executions/s from the first POST until every execution is ``COMPLETE`` (as in
  bench/throughput.py: accepting and running at once, so one API process can be the limit),
  for a stateless actor allowed 1, 2 and 4 workers (the scheduler's autoscaler adds them as
  the backlog grows), with 1, 2 and 4 worker processes (never more processes than workers:
  the extra ones would have nothing to run). Then, on the same platform, ``drained/s``: the
  same number of messages queued first for an actor whose image is missing (``ERROR``:
  nothing runs), then a ``PUT`` repairs it; executions/s from the ``PUT`` until all are
  ``COMPLETE``, the workers' side alone.
- where the work ran: a worker is a thread of the worker process whose RQ consumer took its
  spawner command (each process's RQ worker blocks on the one command queue, so commands go
  round the idle processes); ``w/proc`` is the actor's workers per process, ``executions/proc``
  how many executions each process ran.
- ``cpu/msg``: CPU time per message of the platform's processes (from ``/proc``), all of them
  and by role; Redis, PostgreSQL and the benchmark's own clients are not counted.

    .venv/bin/python bench/cluster_throughput.py                   # accept + complete, 2000 messages
    .venv/bin/python bench/cluster_throughput.py -n 500 --workers 4 --processes 2
    .venv/bin/python bench/cluster_throughput.py --skip-accept --skip-baseline

Redis: ``ABACO_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); PostgreSQL:
``ABACO_BENCH_POSTGRES_URL`` (default ``postgresql://abaco:abaco@127.0.0.1:5432/abaco_test``,
the database of ``scripts/start-postgres.sh``), where each platform gets a scratch schema. Both
are needed. The platform's processes get no ``ABACO_*`` variable of the caller's environment.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import (  # noqa: E402
    ECHO,
    REDIS_URL,
    SLEEPER,
    cpu_seconds,
    finished,
    load,
    post_all,
    redis_available,
    wrk,
)
from tests.conftest import free_port  # noqa: E402

POSTGRES_URL = os.environ.get(
    "ABACO_BENCH_POSTGRES_URL", "postgresql://abaco:abaco@127.0.0.1:5432/abaco_test"
)
#: every platform process gets these (and nothing else named ABACO_* from the caller)
SETTINGS = {
    "ABACO_BACKEND": "fake",
    "ABACO_LOG_LEVEL": "WARNING",
    "ABACO_AUTOSCALE_INTERVAL": "0.2",  # as bench/throughput.py: workers added within 0.2 s
    "ABACO_SHUTDOWN_GRACE": "1",  # the sleeping fake container is stopped soon at the end
    "ABACO_STOP_GRACE": "1",
}
#: an image the fake backend does not have: its actor goes ERROR and its messages wait
MISSING = "abaco-bench/missing:1"
#: an execution seen making no progress for this long ends the measurement (with the logs)
STALL_SECONDS = 60.0


def postgres_available() -> str | None:
    """``None``, or why PostgreSQL cannot be used."""
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


@contextlib.contextmanager
def scratch_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    import psycopg2

    schema = f"abaco_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield POSTGRES_URL + separator + urlencode({"options": f"-c search_path={schema}"}, quote_via=quote)
    finally:
        admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def delete_redis_keys(prefix: str) -> None:
    """The platform's keys (``prefix``...), RQ's for its command queues (``rq:...prefix...``)
    and the registrations of RQ workers that served them (``abaco up`` leaves its own, alive
    for RQ until it expires, since it exits without deregistering)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [
            k
            for pattern in (f"{prefix}*", f"rq:*{prefix}*")
            for k in client.scan_iter(match=pattern, count=1000)
        ]
        workers = [
            k
            for k in client.scan_iter(match="rq:worker:*", count=1000)
            if prefix.encode() in (client.hget(k, "queues") or b"")
        ]
        doomed = keys + workers
        for i in range(0, len(doomed), 1000):
            client.unlink(*doomed[i : i + 1000])
        if workers:
            client.srem("rq:workers", *workers)
        queues = [q for q in client.smembers("rq:queues") if prefix.encode() in q]
        if queues:
            client.srem("rq:queues", *queues)
    finally:
        client.close()


class Proc:
    """One ``abaco <command>`` process, in a session (process group) of its own."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "abaco_core.cli", *self.argv],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu(self) -> float:
        assert self.popen is not None
        return cpu_seconds(self.popen.pid)

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def wait(self, timeout: float) -> None:
        """Wait for the process to end, then SIGKILL whatever is left of its group."""
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"({self.name} did not stop within {timeout:g} s: killed)", flush=True)
        finally:
            self.signal_group(signal.SIGKILL)
            self.popen.wait()

    def log(self, tail: int = 3000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:]


class Platform:
    """The processes of one platform and an HTTP client on its API: ``processes`` worker
    processes with an ``abaco api`` and an ``abaco scheduler``, or (0) one ``abaco up``."""

    def __init__(self, tmp: Path, database_url: str, processes: int) -> None:
        self.tmp = tmp
        self.processes = processes
        self.prefix = f"abaco-bench-{uuid.uuid4().hex[:8]}:"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ABACO_")},
            **SETTINGS,
            "ABACO_REDIS_URL": REDIS_URL,
            "ABACO_REDIS_QUEUE_PREFIX": self.prefix,
            "ABACO_DATABASE_URL": database_url,
            "ABACO_API_SERVER": self.url,
        }
        self.procs: list[Proc] = []
        self.client = httpx.Client(base_url=self.url, timeout=60)

    @property
    def setup(self) -> str:
        return "abaco up" if self.processes == 0 else "cluster"

    def _start(self, name: str, argv: list[str], **env: str) -> Proc:
        proc = Proc(name, argv, {**self.env, **env}, self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc.start()

    def start(self, timeout: float = 60) -> Platform:
        if self.processes == 0:
            self._start("up", ["up", "--port", str(self.port), "--data-dir", str(self.tmp / "up")])
        else:
            self._start("api", ["api", "--port", str(self.port)])
            self._start("scheduler", ["scheduler"])
            for i in range(self.processes):
                data_dir = self.tmp / f"worker-{i}"
                self._start(f"worker-{i}", ["worker", "--data-dir", str(data_dir)], ABACO_HOST_ID=f"w{i}")
        deadline = time.monotonic() + timeout
        while True:
            for proc in self.procs:
                if not proc.alive:
                    raise RuntimeError(f"{proc.name} exited:\n{proc.log()}")
            try:
                if self.client.get("/actors").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer from {self.url} within {timeout} s:\n{self.logs()}")
            time.sleep(0.1)
        if self.processes == 0:
            # the baseline must run on the cluster's queue, or the comparison is not fair
            while "listening on" not in (banner := self.procs[0].log()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"abaco up printed no banner:\n{banner}")
                time.sleep(0.1)
            if "spawner commands on rq" not in banner:
                raise RuntimeError(f"abaco up is not on the rq queue:\n{banner}")
        return self

    def stop(self) -> None:
        for proc in self.procs:
            proc.signal_group(signal.SIGTERM)
        for proc in self.procs:
            proc.wait(30)
        self.client.close()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()}" for p in self.procs)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far by role: ``api``, ``scheduler``, ``workers`` (``up``: all in one)."""
        by_role: Counter[str] = Counter()
        for proc in self.procs:
            role = "workers" if proc.name.startswith("worker") else proc.name
            by_role[role] += proc.cpu()
        return dict(by_role)

    def get(self, path: str) -> dict:
        r = self.client.get(path)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def actor(self, timeout: float = 60, **fields: object) -> str:
        """Register an actor and wait until a worker process started its first worker."""
        r = self.client.post("/actors", json=fields)
        assert r.status_code == 200, r.text
        aid = r.json()["result"]["id"]
        deadline = time.monotonic() + timeout
        while (status := self.get(f"/actors/{aid}")["status"]) != "READY":
            if status == "ERROR" or time.monotonic() > deadline:
                raise RuntimeError(f"actor {aid} is {status}:\n{self.logs()}")
            time.sleep(0.1)
        return aid

    def spread(self, aid: str, n: int) -> tuple[str, str]:
        """How the actor's workers and its executions fell on the worker processes:
        ("2+2", "1012+988"), processes in start order."""
        hosts = {w["id"]: w["host_id"] for w in self.get(f"/actors/{aid}/workers")}
        executions = self.get(f"/actors/{aid}/executions?limit={n}")["search"]
        ran = Counter(hosts.get(e["worker_id"], "?") for e in executions)
        workers = Counter(hosts.values())
        names = [f"w{i}" for i in range(self.processes)] + (["?"] if ran["?"] else [])
        return "+".join(str(workers[h]) for h in names), "+".join(str(ran[h]) for h in names)


@contextlib.contextmanager
def platform(processes: int) -> Iterator[Platform]:
    """A started platform on a fresh schema and key prefix; everything removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="abaco-bench-") as tmp, scratch_schema() as database_url:
        server = Platform(Path(tmp), database_url, processes)
        try:
            yield server.start()
        finally:
            try:
                server.stop()
            finally:
                delete_redis_keys(server.prefix)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}ms"


def cpu_columns(before: dict[str, float], after: dict[str, float], n: int) -> str:
    """All processes, then api / scheduler / workers (``-`` for ``abaco up``, all in one)."""
    total = sum(after.values()) - sum(before.values())
    if "up" in after:
        return f"{ms(total / n):>10}{'-':>10}{'-':>10}{'-':>10}"
    parts = [(after[r] - before[r]) / n for r in ("api", "scheduler", "workers")]
    return f"{ms(total / n):>10}" + "".join(f"{ms(p):>10}" for p in parts)


def accept(processes: int, n: int, clients: int, wrk_seconds: float) -> None:
    with platform(processes) as server:
        aid = server.actor(**SLEEPER)
        c0 = server.cpu()
        seconds = post_all(server.url, aid, n, clients)
        print(
            f"{server.setup:>9}{'python x' + str(clients):>12}{n / seconds:>12.0f}{cpu_columns(c0, server.cpu(), n)}",
            flush=True,
        )
        if wrk_seconds > 0 and shutil.which("wrk"):
            with tempfile.TemporaryDirectory() as tmp:
                c0 = server.cpu()
                requests, elapsed, bad = wrk(server.url, aid, wrk_seconds, Path(tmp))
                note = f"   ({bad} not 200!)" if bad else ""
                cpu = cpu_columns(c0, server.cpu(), max(requests, 1))
                print(f"{server.setup:>9}{'wrk c16':>12}{requests / elapsed:>12.0f}{cpu}{note}", flush=True)


def wait_complete(server: Platform, aid: str, n: int) -> None:
    done, progress = 0, time.monotonic()
    while done < n:
        time.sleep(0.05)
        now_done = finished(server, aid)
        if now_done > done:
            done, progress = now_done, time.monotonic()
        elif time.monotonic() - progress > STALL_SECONDS:
            raise RuntimeError(f"{done}/{n} complete, none more for {STALL_SECONDS:g} s:\n{server.logs()}")


def wait_status(server: Platform, aid: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (now := server.get(f"/actors/{aid}")["status"]) != status:
        if time.monotonic() > deadline:
            raise RuntimeError(f"actor {aid} is {now}, not {status}:\n{server.logs()}")
        time.sleep(0.1)


def complete(processes: int, workers: int, n: int, clients: int) -> None:
    """One row: send+run, then the drain of a backlog, on one platform."""
    with platform(processes) as server:
        # send+run: executions/s from the first POST until all are COMPLETE
        aid = server.actor(image=ECHO, max_workers=workers)
        c0 = server.cpu()
        t0 = time.perf_counter()
        accepted = n / post_all(server.url, aid, n, clients)
        wait_complete(server, aid, n)
        elapsed = time.perf_counter() - t0
        cpu = cpu_columns(c0, server.cpu(), n)
        spread = server.spread(aid, n) if processes else ("-", "-")
        # drain: n messages queued for an actor whose image is missing (ERROR: nothing runs),
        # then a PUT repairs it; executions/s from the PUT until all are COMPLETE
        r = server.client.post("/actors", json={"image": MISSING, "max_workers": workers})
        assert r.status_code == 200, r.text
        backlog = r.json()["result"]["id"]
        wait_status(server, backlog, "ERROR")
        post_all(server.url, backlog, n, clients)
        c0 = server.cpu()
        t0 = time.perf_counter()
        r = server.client.put(f"/actors/{backlog}", json={"image": ECHO, "max_workers": workers})
        assert r.status_code == 200, r.text
        wait_complete(server, backlog, n)
        drained = n / (time.perf_counter() - t0)
        drain_cpu = (sum(server.cpu().values()) - sum(c0.values())) / n
        drain_spread = server.spread(backlog, n)[1] if processes else "-"
        procs = str(processes) if processes else "-"
        print(
            f"{server.setup:>9}{workers:>9}{procs:>7}{accepted:>12.0f}{n / elapsed:>13.0f}{cpu}"
            f"{spread[0]:>9}  {spread[1]:<20}{drained:>9.0f}{ms(drain_cpu):>10}  {drain_spread}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="messages per accept / complete run")
    parser.add_argument("--clients", type=int, default=4, help="Python client threads")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4], help="max_workers of the actor")
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 2, 4], help="abaco worker processes")
    parser.add_argument("--wrk-seconds", type=float, default=8, help="0: no wrk run")
    parser.add_argument("--skip-accept", action="store_true")
    parser.add_argument("--skip-complete", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true", help="no abaco up rows")
    args = parser.parse_args()
    if not redis_available():
        sys.exit(f"Redis at {REDIS_URL} is unreachable (ABACO_BENCH_REDIS_URL)")
    problem = postgres_available()
    if problem is not None:
        sys.exit(f"PostgreSQL is unreachable (ABACO_BENCH_POSTGRES_URL): {problem}")
    # SIGTERM ends the run through the finally blocks, which stop every process they started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    setups = [1] + ([] if args.skip_baseline else [0])  # accept: the cluster, then abaco up
    print(f"{os.cpu_count()} CPUs, {load()}; fake backend, PostgreSQL store, rq queue on Redis")
    if not args.skip_accept:
        print(f"\naccept: {args.n} messages to an actor whose worker is busy (cluster: 1 worker process)")
        print(
            f"{'setup':>9}{'client':>12}{'accepted/s':>12}{'cpu/msg':>10}{'api':>10}{'sched':>10}{'workers':>10}"
        )
        for processes in setups:
            accept(processes, args.n, args.clients, args.wrk_seconds)
    if not args.skip_complete:
        print(f"\ncomplete: {args.n} messages, {args.clients} client threads; no-op executions ({load()})")
        print(
            f"{'setup':>9}{'workers':>9}{'procs':>7}{'accepted/s':>12}{'completed/s':>13}"
            f"{'cpu/msg':>10}{'api':>10}{'sched':>10}{'workers':>10}{'w/proc':>9}  {'executions/proc':<20}"
            f"{'drained/s':>9}{'cpu/msg':>10}  executions/proc"
        )
        for w in args.workers:
            for processes in sorted(p for p in args.processes if 0 < p <= w):
                complete(processes, w, args.n, args.clients)
            if not args.skip_baseline:
                complete(0, w, args.n, args.clients)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
