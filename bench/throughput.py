"""Accept and completion throughput of the embedded platform (``abaco up``: SQLite store,
local queue), with the harness's no-op ``fake`` container backend so the platform's own
cost is what is measured.

- accept: ``POST /actors/{id}/messages`` from several client threads (messages/s);
- complete: executions/s from the first POST until every execution is ``COMPLETE``, for a
  stateless actor allowed 1, 2 and 4 workers.

    .venv/bin/python bench/throughput.py                 # 2000 messages per run
    .venv/bin/python bench/throughput.py -n 5000 --clients 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import AbacoProcess


def post_all(url: str, aid: str, n: int, clients: int) -> float:
    """Seconds to get ``n`` messages accepted by ``clients`` threads."""
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]

    def run(count: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(count):
                r = client.post(f"/actors/{aid}/messages", data={"message": f"m{i}"})
                assert r.status_code == 200, r.text

    threads = [threading.Thread(target=run, args=(c,)) for c in per]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def measure(workers: int, n: int, clients: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        abaco = AbacoProcess(
            Path(tmp),
            {"ABACO_BACKEND": "fake", "ABACO_LOG_LEVEL": "WARNING", "ABACO_AUTOSCALE_INTERVAL": "0.2"},
        ).start()
        try:
            aid = abaco.register(image="abaco-test/busybox:1", max_workers=workers)["id"]
            abaco.wait_actor(aid)
            t0 = time.perf_counter()
            accept = post_all(abaco.url, aid, n, clients)
            while True:
                summary = abaco.client.get(f"/actors/{aid}/executions").json()["result"]
                done = sum(e["status"] == "COMPLETE" for e in summary["executions"])
                if done >= n:
                    break
                time.sleep(0.05)
            complete = time.perf_counter() - t0
            return n / accept, n / complete
        finally:
            abaco.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    print(
        f"{'workers':>8}{'accepted/s':>12}{'completed/s':>13}   ({args.n} messages, {args.clients} clients)"
    )
    for w in args.workers:
        accepted, completed = measure(w, args.n, args.clients)
        print(f"{w:>8}{accepted:>12.0f}{completed:>13.0f}")


if __name__ == "__main__":
    main()
