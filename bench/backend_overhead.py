"""Backend overhead: one execution through a ContainerBackend vs the engine's own CLI.

For each reachable engine: N runs of start + wait + logs + remove of ``abaco-test/busybox:1``
through the backend (built as the platform builds it: plugin manager → registry → factory),
then N runs of ``docker run --rm abaco-test/busybox:1`` / ``podman run --rm ...``. Both on the
engine's default network, with 2 warm-up runs each. Prints medians, p90 and phase medians.

    .venv/bin/python bench/backend_overhead.py [--runs 20] [--engines docker podman] [--network none]

Needs the test images (``images/build.sh``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import time

from abaco_core.plugins import build_plugin_manager, registry, settings_from
from abaco_core.records import ContainerSpec

IMAGE = "abaco-test/busybox:1"
LABELS = {"abaco.bench": "backend_overhead"}


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def bench_backend(backend, runs: int, network: str | None) -> tuple[list[float], dict[str, list[float]]]:
    totals: list[float] = []
    phases: dict[str, list[float]] = {"start": [], "wait": [], "logs": [], "remove": []}
    for i in range(runs + 2):
        spec = ContainerSpec(image=IMAGE, environment={"MSG": f"run {i}"}, labels=LABELS, network=network)
        t0 = time.perf_counter()
        ref = backend.start(spec)
        t1 = time.perf_counter()
        exit_info = backend.wait(ref, timeout=60)
        t2 = time.perf_counter()
        logs = backend.logs(ref)
        t3 = time.perf_counter()
        backend.remove(ref)
        t4 = time.perf_counter()
        assert exit_info is not None and exit_info.exit_code == 0, exit_info
        assert logs.startswith(f"MSG=run {i}\n".encode()), logs[:100]
        if i < 2:
            continue  # warm-up
        totals.append(t4 - t0)
        for name, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            phases[name].append(value)
    return totals, phases


def bench_cli(command: list[str], runs: int) -> list[float]:
    totals = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        elapsed = time.perf_counter() - t0
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert done.stdout.startswith(b"MSG=\n"), done.stdout[:100]
        if i >= 2:
            totals.append(elapsed)
    return totals


def row(label: str, values: list[float], extra: str = "") -> str:
    ms = [v * 1000 for v in values]
    return (
        f"| {label:<44} | {statistics.median(ms):7.0f} | {p90(ms):7.0f} | {min(ms):7.0f} | "
        f"{max(ms):7.0f} | {extra}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", nargs="*", default=["docker", "podman"])
    parser.add_argument(
        "--network", default=None, help="container network for both paths (default: engine's)"
    )
    args = parser.parse_args()

    pm = build_plugin_manager()
    settings = settings_from(pm)
    known = registry(pm.hook.abaco_container_backends(), "container backend")
    lines = [
        f"busybox echo-env, {args.runs} runs after 2 warm-ups, network: {args.network or 'engine default'}",
        "",
        f"| {'path':<44} | {'median':>7} | {'p90':>7} | {'min':>7} | {'max':>7} | phase medians (ms)",
        f"|{'-' * 46}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 20}",
    ]
    for engine in args.engines:
        info = known.get(engine)
        if info is None or (info.probe is not None and not info.probe(settings)):
            lines.append(f"| {engine:<44} | not reachable")
            continue
        backend = info.factory(settings)
        try:
            totals, phases = bench_backend(backend, args.runs, args.network)
        finally:
            backend.close()
        extra = " ".join(f"{k} {statistics.median(v) * 1000:.0f}" for k, v in phases.items())
        lines.append(row(f"{engine} backend: start+wait+logs+remove", totals, extra))
        cli = shutil.which(engine)
        if cli is None:
            lines.append(f"| {engine + ' CLI':<44} | not installed")
            continue
        command = [cli, "run", "--rm"]
        if args.network:
            command.append(f"--network={args.network}")
        lines.append(row(f"{engine} run --rm", bench_cli([*command, IMAGE], args.runs)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
