"""The embedded queue: FIFO per actor, at-least-once, durable across a process death."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from abaco_core.builtin.local_queue import LocalQueue


def test_fifo_per_actor_and_reservation(tmp_path):
    q = LocalQueue(str(tmp_path / "q.db"))
    for i in range(3):
        q.put("a", f"a{i}")
    q.put("b", "b0")
    q.put("a", "a0")  # idempotent
    assert q.count("a") == 3 and q.count("b") == 1
    d0 = q.reserve("a", "w1")
    d1 = q.reserve("a", "w2")
    assert (d0.execution_id, d1.execution_id) == ("a0", "a1")
    assert q.count("a") == 1
    q.release(d0)  # back to its place at the head
    assert q.reserve("a", "w3").execution_id == "a0"
    q.ack(d1)
    assert q.reserve("a", "w1").execution_id == "a2"
    assert q.reserve("a", "w1") is None


def test_reserve_waits_for_a_put(tmp_path):
    q = LocalQueue(str(tmp_path / "q.db"))
    threading.Timer(0.2, q.put, ("a", "late")).start()
    start = time.monotonic()
    d = q.reserve("a", "w", timeout=5)
    assert d is not None and d.execution_id == "late"
    assert time.monotonic() - start < 4


def test_purge_and_recover(tmp_path):
    q = LocalQueue(str(tmp_path / "q.db"))
    for i in range(4):
        q.put("a", f"e{i}")
    held = q.reserve("a", "dead-worker")
    assert q.purge("a") == ["e1", "e2", "e3"]
    assert q.count("a") == 0
    assert q.recover(["someone-else"]) == 0
    assert q.recover(["dead-worker"]) == 1
    assert q.reserve("a", "w").execution_id == held.execution_id


def test_accepted_messages_survive_a_killed_process(tmp_path):
    path = tmp_path / "q.db"
    script = f"""
import os
from abaco_core.builtin.local_queue import LocalQueue
q = LocalQueue({str(path)!r})
for i in range(50):
    q.put("a", f"e{{i}}")
q.reserve("a", "w")
os.kill(os.getpid(), 9)
"""
    subprocess.run([sys.executable, "-c", script])
    q = LocalQueue(str(path))
    assert q.count("a") == 49
    assert q.recover() == 1
    got = []
    while (d := q.reserve("a", "w")) is not None:
        got.append(d.execution_id)
        q.ack(d)
    assert got == [f"e{i}" for i in range(50)]
