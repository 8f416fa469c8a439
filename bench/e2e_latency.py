"""Time from ``POST /actors/{id}/messages`` to ``COMPLETE`` (polling the execution), and the
round trip of a synchronous message (``?_abaco_synchronous=true``), for the busybox echo
actor on each engine, against a plain ``docker run --rm`` / ``podman run --rm`` of the same
image, measured in the same run on the same machine.

    .venv/bin/python bench/e2e_latency.py            # both engines, 30 runs each
    .venv/bin/python bench/e2e_latency.py -n 50 docker
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import AbacoProcess, engine_available

IMAGE = "abaco-test/busybox:1"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def plain_run(cli: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([cli, "run", "--rm", IMAGE], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def abaco_run(engine: str, n: int, poll: float) -> tuple[list[float], list[float]]:
    """(POST→COMPLETE times, synchronous round-trip times), ``n`` of each after 3 warm-ups."""
    with tempfile.TemporaryDirectory() as tmp:
        abaco = AbacoProcess(Path(tmp), {"ABACO_BACKEND": engine, "ABACO_LOG_LEVEL": "WARNING"}).start()
        try:
            aid = abaco.register(image=IMAGE)["id"]
            assert abaco.wait_actor(aid)["status"] == "READY"
            async_times, sync_times = [], []
            for i in range(n + 3):
                t0 = time.perf_counter()
                r = abaco.client.post(f"/actors/{aid}/messages", data={"message": f"bench {i}"})
                eid = r.json()["result"]["execution_id"]
                while True:
                    status = abaco.client.get(f"/actors/{aid}/executions/{eid}").json()["result"]["status"]
                    if status in ("COMPLETE", "ERROR"):
                        break
                    time.sleep(poll)
                assert status == "COMPLETE"
                if i >= 3:
                    async_times.append(time.perf_counter() - t0)
            for i in range(n + 3):
                t0 = time.perf_counter()
                r = abaco.client.post(
                    f"/actors/{aid}/messages",
                    params={"_abaco_synchronous": "true"},
                    data={"message": f"sync {i}"},
                )
                assert r.status_code == 200 and f"sync {i}" in r.text
                if i >= 3:
                    sync_times.append(time.perf_counter() - t0)
            return async_times, sync_times
        finally:
            abaco.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engines", nargs="*", default=["docker", "podman"])
    parser.add_argument("-n", type=int, default=30, help="timed runs per path (after 3 warm-up runs)")
    parser.add_argument("--poll", type=float, default=0.01, help="client polling interval, seconds")
    args = parser.parse_args()
    print(f"{'path':<34}{'n':>4}{'p50 ms':>10}{'p90 ms':>10}")
    for engine in args.engines:
        if not engine_available(engine):
            print(f"{engine}: engine not reachable, skipped")
            continue
        plain_run(engine, 3)
        baseline = plain_run(engine, args.n)
        ours, sync = abaco_run(engine, args.n, args.poll)
        rows = (
            (f"{engine} run --rm", baseline),
            (f"abaco/{engine} POST→COMPLETE", ours),
            (f"abaco/{engine} synchronous", sync),
        )
        for label, values in rows:
            print(
                f"{label:<34}{len(values):>4}{pct(values, 0.5) * 1000:>10.0f}{pct(values, 0.9) * 1000:>10.0f}"
            )
        for label, values in rows[1:]:
            print(
                f"{'ratio ' + label.split(' ', 1)[1]:<34}{'':>4}{pct(values, 0.5) / pct(baseline, 0.5):>10.2f}"
                f"{pct(values, 0.9) / pct(baseline, 0.9):>10.2f}"
                f"   (mean {statistics.mean(values) / statistics.mean(baseline):.2f})"
            )


if __name__ == "__main__":
    main()
