"""Time from ``POST /actors/{id}/messages`` to ``COMPLETE`` for the busybox echo actor, on
each engine, against a plain ``docker run --rm`` / ``podman run --rm`` of the same image,
measured in the same run on the same machine.

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


def abaco_run(engine: str, n: int, poll: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        abaco = AbacoProcess(Path(tmp), {"ABACO_BACKEND": engine, "ABACO_LOG_LEVEL": "WARNING"}).start()
        try:
            aid = abaco.register(image=IMAGE)["id"]
            assert abaco.wait_actor(aid)["status"] == "READY"
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                r = abaco.client.post(f"/actors/{aid}/messages", data={"message": f"bench {i}"})
                eid = r.json()["result"]["execution_id"]
                while True:
                    status = abaco.client.get(f"/actors/{aid}/executions/{eid}").json()["result"]["status"]
                    if status in ("COMPLETE", "ERROR"):
                        break
                    time.sleep(poll)
                times.append(time.perf_counter() - t0)
                assert status == "COMPLETE"
            return times
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
        abaco_run(engine, 3, args.poll)
        ours = abaco_run(engine, args.n, args.poll)
        for label, values in ((f"{engine} run --rm", baseline), (f"abaco on {engine} (POST→COMPLETE)", ours)):
            print(f"{label:<34}{len(values):>4}{pct(values, .5) * 1000:>10.0f}{pct(values, .9) * 1000:>10.0f}")
        print(
            f"{'ratio abaco / ' + engine + ' run':<34}{'':>4}{pct(ours, .5) / pct(baseline, .5):>10.2f}"
            f"{pct(ours, .9) / pct(baseline, .9):>10.2f}   (mean {statistics.mean(ours) / statistics.mean(baseline):.2f})"
        )


if __name__ == "__main__":
    main()
