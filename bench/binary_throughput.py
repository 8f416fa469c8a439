"""Binary-message throughput: a 10 MB ``application/octet-stream`` message, from the POST to
the actor having read it all through ``/_abaco_binary_data`` (synchronous round trip), on
each engine; compared with the same container run without a payload, so the figure shows
what moving the bytes costs.

    .venv/bin/python bench/binary_throughput.py          # both engines, 10 runs each
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import AbacoProcess, engine_available

READER = """
import hashlib, socket
data = open('/_abaco_binary_data', 'rb').read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect('/_abaco_results.sock')
s.send(hashlib.sha256(data).hexdigest().encode())
"""


def run(abaco: AbacoProcess, aid: str, body: bytes) -> float:
    """One synchronous round trip; the actor answers with the digest of what it read."""
    t0 = time.perf_counter()
    r = abaco.client.post(
        f"/actors/{aid}/messages",
        params={"_abaco_synchronous": "true"},
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    assert r.content == hashlib.sha256(body).hexdigest().encode()
    return elapsed


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engines", nargs="*", default=["docker", "podman"])
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024)
    args = parser.parse_args()
    payload = os.urandom(args.size)
    print(f"{'engine':<8}{'MB':>6}{'median s':>10}{'empty s':>10}{'MB/s':>8}{'MB/s net':>10}")
    for engine in args.engines:
        if not engine_available(engine):
            print(f"{engine}: engine not reachable, skipped")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            abaco = AbacoProcess(Path(tmp), {"ABACO_BACKEND": engine, "ABACO_LOG_LEVEL": "WARNING"}).start()
            try:
                aid = abaco.register(image="abaco-test/pyexec:1", default_environment={"PYCODE": READER})[
                    "id"
                ]
                assert abaco.wait_actor(aid)["status"] == "READY"

                run(abaco, aid, payload)
                full = [run(abaco, aid, payload) for _ in range(args.n)]
                empty = [run(abaco, aid, b"x") for _ in range(args.n)]
            finally:
                abaco.stop()
        mb = args.size / 1e6
        net = median(full) - median(empty)
        print(
            f"{engine:<8}{mb:>6.1f}{median(full):>10.3f}{median(empty):>10.3f}{mb / median(full):>8.1f}"
            f"{(mb / net if net > 0 else float('inf')):>10.1f}"
        )


if __name__ == "__main__":
    main()
