"""The full container contract through real HTTP on Docker and Podman: binary messages
through the FIFO, results through the socket, synchronous messages, halting, limits,
identity, mounts, security defaults and actor state."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.parametrize("engine", ["docker", "podman"])

PYEXEC = "abaco-test/pyexec:1"
SH = "abaco-test/sh:1"
SLEEP = "abaco-test/sleep:1"
BUSYBOX = "abaco-test/busybox:1"

# reads the FIFO until end-of-file, prints the digest and sends it back as a result
EOF_READER = """
import hashlib, socket
data = open('/_abaco_binary_data', 'rb').read()
digest = hashlib.sha256(data).hexdigest()
print('got', len(data), digest)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect('/_abaco_results.sock')
s.send(digest.encode())
s.send(b'second')
"""

# the original helper library's protocol: non-blocking reads until "would block"
NONBLOCKING_READER = """
import os
fd = os.open('/_abaco_binary_data', os.O_RDONLY | os.O_NONBLOCK)
chunks = []
while True:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        break
    if not chunk:
        break
    chunks.append(chunk)
data = b''.join(chunks)
print('got', len(data), data[:16].hex())
"""


def send(abaco, aid, **kwargs) -> str:
    r = abaco.client.post(f"/actors/{aid}/messages", **kwargs)
    assert r.status_code == 200, r.text
    return r.json()["result"]["execution_id"]


def ready_actor(abaco, **fields) -> str:
    actor = abaco.register(**fields)
    assert abaco.wait_actor(actor["id"])["status"] == "READY"
    return actor["id"]


def test_binary_message_and_results(abaco_factory, engine):
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image=PYEXEC, default_environment={"PYCODE": EOF_READER})
    payload = os.urandom(10 * 1024 * 1024)
    r = abaco.client.post(
        f"/actors/{aid}/messages", content=payload, headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["msg"] == "binary - omitted"
    eid = r.json()["result"]["execution_id"]
    execution = abaco.wait_execution(aid, eid)
    assert execution["status"] == "COMPLETE" and execution["exit_code"] == 0, abaco.logs(aid, eid)
    digest = hashlib.sha256(payload).hexdigest()
    assert f"got {len(payload)} {digest}" in abaco.logs(aid, eid)
    first = abaco.client.get(f"/actors/{aid}/executions/{eid}/results")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.content == digest.encode()
    assert abaco.client.post(f"/actors/v2/{aid}/executions/{eid}/results").content == b"second"
    assert abaco.client.get(f"/actors/{aid}/executions/{eid}/results").content == b""


def test_binary_message_for_a_nonblocking_reader(abaco_factory, engine):
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image=PYEXEC, default_environment={"PYCODE": NONBLOCKING_READER})
    payload = bytes(range(256)) * 1024  # 256 KiB: more than a default pipe buffer
    eid = send(abaco, aid, content=payload, headers={"Content-Type": "application/octet-stream"})
    assert abaco.wait_execution(aid, eid)["status"] == "COMPLETE"
    assert f"got {len(payload)} {payload[:16].hex()}" in abaco.logs(aid, eid)


def test_an_actor_that_never_reads_its_binary_message_does_not_block_the_worker(abaco_factory, engine):
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image=BUSYBOX)
    eid = send(
        abaco, aid, content=os.urandom(3 * 1024 * 1024), headers={"Content-Type": "application/octet-stream"}
    )
    assert abaco.wait_execution(aid, eid)["status"] == "COMPLETE"
    after = send(abaco, aid, data={"message": "next"})
    assert abaco.wait_execution(aid, after)["status"] == "COMPLETE"


def test_binary_message_over_the_limit_is_refused_before_queueing(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_MAX_CONTENT_LENGTH="1000")
    aid = ready_actor(abaco, image=BUSYBOX)
    r = abaco.client.post(
        f"/actors/{aid}/messages", content=b"x" * 1001, headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 413
    assert r.json()["message"] == "Message exceeds max content length of: 1000"
    assert abaco.client.get(f"/actors/{aid}/executions").json()["result"]["total_executions"] == 0


def test_synchronous_messages(abaco_factory, engine):
    abaco = abaco_factory(engine)
    echo = ready_actor(abaco, image=BUSYBOX)
    r = abaco.client.post(
        f"/actors/v2/{echo}/messages", params={"_abaco_synchronous": "true"}, data={"message": "sync hello"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text.startswith("MSG=sync hello\n")
    assert "_abaco_synchronous" not in r.text

    resulting = ready_actor(abaco, image=PYEXEC, default_environment={"PYCODE": EOF_READER})
    r = abaco.client.post(
        f"/actors/{resulting}/messages",
        params={"_abaco_synchronous": "TRUE"},
        content=b"abc",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == hashlib.sha256(b"abc").hexdigest().encode()


def test_synchronous_message_refused_behind_more_than_three_queued(abaco_factory, engine):
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image=SLEEP, stateless=False, default_environment={"SLEEP": "2"})
    for i in range(5):
        send(abaco, aid, data={"message": f"m{i}"})
    r = abaco.client.post(
        f"/actors/{aid}/messages", params={"_abaco_synchronous": "true"}, data={"message": "s"}
    )
    assert r.status_code == 400
    assert r.json()["message"] == "Cannot issue synchronous execution when actor message queue > 0."
    # refused means not queued
    assert abaco.client.get(f"/actors/{aid}/executions").json()["result"]["total_executions"] == 5


def test_synchronous_wait_limit_and_error(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_SYNC_TIMEOUT="1.5")
    aid = ready_actor(abaco, image=SLEEP, stateless=False, default_environment={"SLEEP": "4"})
    r = abaco.client.post(
        f"/actors/{aid}/messages", params={"_abaco_synchronous": "true"}, data={"message": "slow"}
    )
    assert r.status_code == 504
    body = r.json()
    assert body["status"] == "error" and "did not complete within 1.5 seconds" in body["message"]
    eid = body["message"].split()[1]
    assert abaco.wait_execution(aid, eid)["status"] == "COMPLETE"  # the client can keep polling

    # a synchronous message whose execution ends in ERROR (purged behind a running one) → 500
    running = send(abaco, aid, data={"message": "running"})
    abaco.wait_execution(aid, running, statuses=("RUNNING",))
    answer: dict = {}

    def sync_call() -> None:
        with httpx.Client(base_url=abaco.url, timeout=30) as client:
            answer["r"] = client.post(
                f"/actors/{aid}/messages",
                params={"_abaco_synchronous": "true"},
                data={"message": "will be purged"},
            )

    t = threading.Thread(target=sync_call)
    t.start()
    deadline = time.monotonic() + 10
    while abaco.client.get(f"/actors/{aid}/messages").json()["result"]["messages"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = abaco.client.delete(f"/actors/{aid}/messages")
    assert r.status_code == 200 and r.json()["result"]["msg"] == "Actor mailbox purged."
    t.join(15)
    assert answer["r"].status_code == 500
    assert "ended in ERROR" in answer["r"].json()["message"]


def test_halting_a_running_execution(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_STOP_GRACE="2")
    aid = ready_actor(abaco, image=SLEEP, default_environment={"SLEEP": "60"})
    eid = send(abaco, aid, data={"message": "long"})
    abaco.wait_execution(aid, eid, statuses=("RUNNING",))
    t0 = time.monotonic()
    r = abaco.client.delete(f"/actors/{aid}/executions/{eid}")
    assert r.status_code == 200 and r.json()["message"] == f"Issued force quit command for execution {eid}."
    execution = abaco.wait_execution(aid, eid, timeout=20)
    assert time.monotonic() - t0 < 15
    assert execution["status"] == "COMPLETE"
    assert execution["exit_code"] == 143 and execution["final_state"]["ExitCode"] == 143
    assert "terminated" in abaco.logs(aid, eid)
    # the worker keeps serving
    nxt = send(abaco, aid, data={"message": "next"}, params={"SLEEP": "0"})
    assert abaco.wait_execution(aid, nxt)["status"] == "COMPLETE"


def test_memory_and_cpu_limits(abaco_factory, engine):
    abaco = abaco_factory(engine)
    hog = ready_actor(
        abaco,
        image=PYEXEC,
        mem_limit="64m",
        default_environment={"PYCODE": "x = bytearray(300 * 1024 * 1024); print('survived')"},
    )
    eid = send(abaco, hog, data={"message": "allocate"})
    execution = abaco.wait_execution(hog, eid)
    assert execution["status"] == "COMPLETE"
    assert execution["exit_code"] == 137
    assert execution["final_state"]["OOMKilled"] is True
    assert "survived" not in abaco.logs(hog, eid)

    script = "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max"
    cpu = ready_actor(abaco, image=SH, max_cpus=500000000, default_environment={"SCRIPT": script})
    eid = send(abaco, cpu, data={"message": "cpu"})
    assert abaco.wait_execution(cpu, eid)["status"] == "COMPLETE"
    numbers = abaco.logs(cpu, eid).split()
    assert int(numbers[0]) / int(numbers[1]) == pytest.approx(0.5)


def test_identity_mounts_and_security_defaults(abaco_factory, engine, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from the host\n")
    writable = tmp_path / "writable"
    writable.mkdir()
    os.chmod(writable, 0o777)
    (tmp_path / "local").mkdir()  # the {username} mount's host path
    abaco = abaco_factory(
        engine,
        ABACO_ACTOR_UID="1000",
        ABACO_ACTOR_GID="1000",
        ABACO_GLOBAL_MOUNTS=f"{shared}:/data:ro,{writable}:/out:rw,{tmp_path}/{{username}}:/home/me:rw,broken-entry",
    )
    script = (
        "id -u; id -g; cat /data/hello.txt; "
        "(echo x > /data/new.txt) 2>/dev/null && echo data-writable || echo data-readonly; "
        "echo written > /out/result.txt && echo out-writable; "
        "grep NoNewPrivs /proc/self/status; grep CapBnd /proc/self/status; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"
    )
    actor = abaco.register(image=SH, default_environment={"SCRIPT": script})
    assert actor["uid"] == "1000" and actor["gid"] == "1000"
    assert {"host_path": str(shared), "container_path": "/data", "mode": "ro"} in actor["mounts"]
    assert {"host_path": f"{tmp_path}/local", "container_path": "/home/me", "mode": "rw"} in actor["mounts"]
    assert len(actor["mounts"]) == 3  # the malformed entry is skipped
    abaco.wait_actor(actor["id"])
    eid = send(abaco, actor["id"], data={"message": "who"})
    assert abaco.wait_execution(actor["id"], eid)["status"] == "COMPLETE"
    out = abaco.logs(actor["id"], eid).splitlines()
    assert out[0:3] == ["1000", "1000", "from the host"]
    assert "data-readonly" in out and "out-writable" in out
    assert (writable / "result.txt").read_text() == "written\n"
    assert "NoNewPrivs:\t1" in out
    capbnd = int(next(line for line in out if line.startswith("CapBnd")).split()[1], 16)
    assert not capbnd & (1 << 13)  # CAP_NET_RAW dropped
    assert out[-1] == "4096"

    own = abaco.register(image=SH, use_container_uid=True, default_environment={"SCRIPT": "id -u"})
    assert own["uid"] is None
    abaco.wait_actor(own["id"])
    eid = send(abaco, own["id"], data={"message": "who"})
    abaco.wait_execution(own["id"], eid)
    assert abaco.logs(own["id"], eid).strip() == "0"


def test_actor_state(abaco_factory, engine):
    abaco = abaco_factory(engine)
    stateless = ready_actor(abaco, image=BUSYBOX)
    assert abaco.client.get(f"/actors/{stateless}/state").json()["result"] == {"state": {}}
    r = abaco.client.post(f"/actors/{stateless}/state", json={"a": 1})
    assert r.status_code == 404 and r.json()["message"] == "actor is stateless."

    aid = ready_actor(abaco, image=BUSYBOX, stateless=False)
    for state in ({"count": 1, "nested": {"x": [1, 2]}}, "abc", 0, {}):
        r = abaco.client.post(f"/actors/{aid}/state", json=state)
        assert r.status_code == 200, r.text
        assert r.json()["message"] == "State updated successfully."
        assert r.json()["result"]["state"] == state
        assert abaco.client.get(f"/actors/v2/{aid}/state").json()["result"]["state"] == state
    for bad in (b"", b"{nope"):
        r = abaco.client.post(
            f"/actors/{aid}/state", content=bad, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        assert r.json()["message"] == "Invalid actor state description: state must be JSON serializable."
    abaco.client.post(f"/actors/{aid}/state", json={"count": 5, "flag": True})
    eid = send(abaco, aid, data={"message": "state?"})
    abaco.wait_execution(aid, eid)
    assert "_abaco_actor_state={'count': 5, 'flag': True}" in abaco.logs(aid, eid)
    # a PUT never touches the state (Q7)
    abaco.client.put(f"/actors/{aid}", json={"image": BUSYBOX, "stateless": False, "description": "changed"})
    assert abaco.client.get(f"/actors/{aid}/state").json()["result"]["state"] == {"count": 5, "flag": True}


def test_runtime_figures_and_log_expiry(abaco_factory, engine):
    abaco = abaco_factory(engine, ABACO_HOUSEKEEPING_INTERVAL="0.5")
    busy = "end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done; echo busy done"
    aid = ready_actor(abaco, image=SH, log_ex=2, default_environment={"SCRIPT": busy})
    eid = send(abaco, aid, data={"message": "spin"})
    execution = abaco.wait_execution(aid, eid)
    assert execution["status"] == "COMPLETE"
    assert 2 <= execution["runtime"] <= 10
    assert execution["cpu"] > 10**9  # nanoseconds: a busy loop of ~3 s used more than a second
    assert isinstance(execution["io"], int) and execution["io"] >= 0
    summary = abaco.client.get(f"/actors/{aid}/executions").json()["result"]
    assert summary["total_runtime"] == execution["runtime"] and summary["total_cpu"] == execution["cpu"]
    assert "busy done" in abaco.logs(aid, eid)
    time.sleep(3)
    assert abaco.logs(aid, eid) == ""  # log_ex passed
    assert abaco.client.get(f"/actors/{aid}/executions/{eid}").json()["result"]["status"] == "COMPLETE"


def test_function_call_actor_through_the_sdk(abaco_factory, engine):
    cloudpickle = pytest.importorskip("cloudpickle")
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image="abaco-test/pysdk:1")
    offset = 7

    def combine(a, b, *, scale=1):
        return {"sum": (a + b) * scale + offset, "blob": b"\x00" * 10}

    call = cloudpickle.dumps({"func": combine, "args": [2, 3], "kwargs": {"scale": 4}})
    r = abaco.client.post(
        f"/actors/{aid}/messages",
        params={"_abaco_synchronous": "true"},
        content=call,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert cloudpickle.loads(r.content) == {"sum": 27, "blob": b"\x00" * 10}


def test_an_execution_updates_the_actor_state(abaco_factory, engine):
    # containers share the host network here, so the API on 127.0.0.1 is reachable from them
    abaco = abaco_factory(engine, ABACO_CONTAINER_NETWORK="host")
    aid = ready_actor(abaco, image="abaco-test/pystate:1", stateless=False)
    for expected in (1, 2):
        eid = send(abaco, aid, data={"message": "count"})
        execution = abaco.wait_execution(aid, eid)
        assert execution["status"] == "COMPLETE" and execution["exit_code"] == 0, abaco.logs(aid, eid)
        assert f"count={expected}" in abaco.logs(aid, eid)
    assert abaco.client.get(f"/actors/{aid}/state").json()["result"]["state"] == {"count": 2}


def test_an_empty_binary_message_reads_as_empty(abaco_factory, engine):
    abaco = abaco_factory(engine)
    aid = ready_actor(abaco, image=PYEXEC, default_environment={"PYCODE": EOF_READER})
    eid = send(abaco, aid, content=b"", headers={"Content-Type": "application/octet-stream"})
    execution = abaco.wait_execution(aid, eid, timeout=30)
    assert execution["status"] == "COMPLETE" and execution["exit_code"] == 0
    assert f"got 0 {hashlib.sha256(b'').hexdigest()}" in abaco.logs(aid, eid)


def test_results_are_available_while_the_execution_runs(abaco_factory, engine):
    abaco = abaco_factory(engine)
    code = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "s.connect('/_abaco_results.sock')\n"
        "s.send(b'early')\n"
        "time.sleep(8)\n"
    )
    aid = ready_actor(abaco, image=PYEXEC, default_environment={"PYCODE": code})
    eid = send(abaco, aid, data={"message": "go"})
    abaco.wait_execution(aid, eid, statuses=("RUNNING",))
    deadline = time.monotonic() + 6
    body = b""
    while not body and time.monotonic() < deadline:
        body = abaco.client.get(f"/actors/{aid}/executions/{eid}/results").content
        time.sleep(0.1)
    assert body == b"early"
    assert abaco.client.get(f"/actors/{aid}/executions/{eid}").json()["result"]["status"] == "RUNNING"
    abaco.client.delete(f"/actors/{aid}/executions/{eid}")
