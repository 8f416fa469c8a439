"""The container contract, as tests every backend must pass.

The tests talk to the backend only through the :class:`~abaco_core.interfaces.ContainerBackend`
protocol, run containers of the image roles of the ``images`` fixture (see
:data:`abaco_harness.fixtures.ROLES`), and observe them through the backend's own answers
(exit information, logs, stats). A test marked ``@requires(...)`` runs only when the backend
claims those capabilities; a test that merely *can* say more when a capability is claimed
(an exit code after a stop, say) checks the ``capabilities`` fixture instead of skipping.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from abaco_core.containers import STATE_KEYS
from abaco_core.errors import ImageNotFound
from abaco_core.interfaces import ContainerBackend
from abaco_core.records import CAPABILITIES, ContainerRef, Mount
from abaco_core.runtime.channels import FIFO_MOUNT, MAX_RESULT_BYTES, RESULTS_MOUNT, BinaryFifo, ResultsSocket

from ..capabilities import requires
from ..fixtures import ContainerBackendFixtures
from ..runner import RUN_ID, RUN_LABEL, ContainerRunner, Run, wait_until

__all__ = ["ENVIRONMENT", "ContainerBackendSuite"]

MiB = 1024 * 1024

#: values that break naive quoting, splitting or encoding; ``None`` means "set, empty"
ENVIRONMENT: dict[str, str | None] = {
    "MSG": "hello world, with spaces",
    "SPACES": "  leading and trailing  ",
    "QUOTES": "it's \"double\" and 'single'",
    "JSONISH": "{'key1': 'value1', 'key2': True, 'n': None}",
    "JSON": '{"a": [1, 2], "b": "c d", "e": {"f": null}}',
    "EMPTY": "",
    "UNSET_VALUE": None,
    "EQUALS": "a=b=c",
    "SHELLISH": "$HOME `id` $(id) ; | & *",
    "BACKSLASH": "C:\\temp\\new\\table",
    "UNICODE": "héllo ✓ 日本",
    "_abaco_Content_Type": "str",
}

#: what the default ``emit`` image (the sh image) runs; see ROLES["emit"]
EMIT_SCRIPT = (
    'i=0; while [ "$i" -lt "${REPEAT:-1}" ]; do printf %s "$STDOUT"; i=$((i+1)); done; '
    'printf %s "$STDERR" >&2; exit "${EXIT_CODE:-0}"'
)


def emit(stdout: str, stderr: str = "", repeat: int = 1) -> dict[str, str | None]:
    return {"SCRIPT": EMIT_SCRIPT, "STDOUT": stdout, "STDERR": stderr, "REPEAT": str(repeat)}


MEMORY_CODE = """
import os
size = int(os.environ["ALLOC_MB"]) * 1024 * 1024
data = b"\\x01" * size  # written, so every page is really allocated
print("allocated", len(data) // (1024 * 1024), flush=True)
"""

CPU_LIMIT_SCRIPT = (
    "if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then "
    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; "
    "else cat /sys/fs/cgroup/cpu.max; fi"
)

SECURITY_SCRIPT = (
    "grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status; "
    "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"
)

#: reads the binary message until end-of-file
FIFO_READ_TO_EOF = f"""
import hashlib
with open({FIFO_MOUNT!r}, "rb") as f:
    data = f.read()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""

#: reads the binary message non-blocking until "would block" (the Abaco SDK's way)
FIFO_READ_TO_EAGAIN = f"""
import hashlib, os
fd = os.open({FIFO_MOUNT!r}, os.O_RDONLY | os.O_NONBLOCK)
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        break
    if not chunk:
        break
    data += chunk
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""

DATAGRAM_SIZES = (1, 64 * 1024, MAX_RESULT_BYTES)

SEND_DATAGRAMS = f"""
import socket
pattern = bytes(range(256)) * ({MAX_RESULT_BYTES} // 256 + 1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect({RESULTS_MOUNT!r})
for i, size in enumerate({DATAGRAM_SIZES!r}):
    s.send((bytes([i]) + pattern)[:size])
print("sent", {len(DATAGRAM_SIZES)}, flush=True)
"""


def expected_datagrams() -> list[bytes]:
    pattern = bytes(range(256)) * (MAX_RESULT_BYTES // 256 + 1)
    return [(bytes([i]) + pattern)[:size] for i, size in enumerate(DATAGRAM_SIZES)]


def digest_line(payload: bytes) -> str:
    return f"{len(payload)} {hashlib.sha256(payload).hexdigest()}\n"


def run_with_fifo(
    backend: ContainerBackend,
    containers: ContainerRunner,
    fifo: BinaryFifo,
    role: str,
    environment: dict[str, str | None],
    on_gave_up: Callable[[], None] = lambda: None,
    **kwargs,
) -> Run:
    """Start a container with ``fifo`` at the contract path and feed it until the container
    exits, as the runtime does."""
    exited = threading.Event()

    def running() -> bool:
        if exited.is_set():
            on_gave_up()
            return False
        return True

    mounts = [Mount(fifo.path, FIFO_MOUNT, read_only=True), *kwargs.pop("mounts", [])]
    ref = containers.start(role, environment, mounts=mounts, **kwargs)
    fifo.feed(running)
    try:
        exit_info = containers.wait(ref, timeout=60)
    finally:
        exited.set()
    return Run(ref, exit_info, backend.logs(ref))


def interleaves(merged: bytes, first: bytes, second: bytes) -> bool:
    """Whether ``merged`` is ``first`` and ``second`` interleaved, each in its own order."""
    if len(merged) != len(first) + len(second):
        return False
    # reachable[j]: merged[: i + j] can be first[:i] and second[:j] interleaved
    reachable = [True] * (len(second) + 1)
    for j in range(1, len(second) + 1):
        reachable[j] = reachable[j - 1] and second[j - 1] == merged[j - 1]
    for i in range(1, len(first) + 1):
        reachable[0] = reachable[0] and first[i - 1] == merged[i - 1]
        for j in range(1, len(second) + 1):
            reachable[j] = (reachable[j] and first[i - 1] == merged[i + j - 1]) or (
                reachable[j - 1] and second[j - 1] == merged[i + j - 1]
            )
    return reachable[-1]


def aware(value: datetime | None) -> datetime:
    assert value is not None and value.tzinfo is not None, f"not a timezone-aware time: {value!r}"
    return value


class ContainerBackendSuite(ContainerBackendFixtures):
    """Every test that proves a backend honours the container contract.

    Bind it by subclassing and overriding the ``backend`` fixture (see
    :class:`~abaco_harness.fixtures.ContainerBackendFixtures`); override a single test in the
    subclass, with a reason, to bypass it.
    """

    # -- engine and images ------------------------------------------------------------------

    def test_ping_and_protocol(self, backend: ContainerBackend, capabilities: frozenset[str]) -> None:
        backend.ping()
        assert isinstance(backend, ContainerBackend), "does not implement the ContainerBackend protocol"
        assert isinstance(backend.name, str) and backend.name
        assert isinstance(backend.location, str)
        assert not set(backend.capabilities) - CAPABILITIES, (
            f"claims unknown capabilities {sorted(set(backend.capabilities) - CAPABILITIES)}"
        )
        assert capabilities <= set(backend.capabilities)

    def test_image_present(self, backend: ContainerBackend, containers: ContainerRunner) -> None:
        image = containers.image("echo")
        assert backend.image_exists(image) is True
        backend.ensure_image(image)  # present: nothing to do, no error

    def test_image_missing(self, backend: ContainerBackend, containers: ContainerRunner) -> None:
        image = containers.image("missing")
        assert backend.image_exists(image) is False
        started = time.monotonic()
        with pytest.raises(ImageNotFound) as caught:
            backend.ensure_image(image)
        assert image in str(caught.value)
        assert time.monotonic() - started < 30
        with pytest.raises(ImageNotFound) as caught:
            containers.start("missing")
        assert image in str(caught.value)

    # -- environment, logs, exit --------------------------------------------------------------

    @requires("environment", "logs")
    def test_environment_passed_exactly(self, containers: ContainerRunner) -> None:
        run = containers.run("echo", ENVIRONMENT)
        first, *lines = run.text.splitlines()  # "MSG=...", then the environment, sorted
        assert first == f"MSG={ENVIRONMENT['MSG']}"
        for key, value in ENVIRONMENT.items():
            assert f"{key}={'' if value is None else value}" in lines, key
            assert sum(line.startswith(f"{key}=") for line in lines) == 1, key
        assert any(line.startswith("PATH=") for line in lines), "the image's own environment was dropped"

    @requires("logs")
    def test_stdout_and_stderr_byte_exact(self, containers: ContainerRunner) -> None:
        stdout = "tab\there\r\nctrl\x01\x02\x1b[0m\nutf8 \u00e9\u2713\nno newline at end"
        stderr = "on stderr\npartial last line"
        run = containers.run("emit", emit(stdout, stderr))
        # engines interleave the two streams as their data arrives (Docker by line, flushing a
        # partial line at the end): every byte of each, in order, and nothing else
        assert interleaves(run.logs, stdout.encode(), stderr.encode()), run.logs

    @requires("logs")
    def test_large_output_and_long_lines(self, containers: ContainerRunner) -> None:
        line = "".join(f"{i:04d}abcdefghij" for i in range(71)) + "\n"  # 1000 bytes
        long_line = "y" * 100_000  # longer than engines' 16 KiB log chunks, no newline
        run = containers.run("emit", emit(line, long_line, repeat=300))
        # engines cut a long line into chunks, which may interleave with the other stream's
        # lines; no "y" is in the stdout lines, so each stream is checked apart
        assert run.logs.count(b"y") == len(long_line)
        assert run.logs.replace(b"y", b"") == line.encode() * 300

    @requires("exit_code")
    def test_exit_codes_and_state(self, containers: ContainerRunner) -> None:
        for code in (0, 7):
            run = containers.run("exit", {"EXIT_CODE": str(code), "MSG": "fine"})
            exit_info, state = run.exit, run.exit.state
            assert exit_info.exit_code == code
            assert exit_info.oom_killed is False
            missing = set(STATE_KEYS) - set(state)
            assert not missing, f"state lacks {sorted(missing)}"
            assert state["Status"] == "exited"
            assert state["ExitCode"] == code
            for key in ("Running", "Paused", "Restarting", "OOMKilled", "Dead"):
                assert state[key] is False, key
            assert isinstance(state["Pid"], int) and isinstance(state["Error"], str)
            assert isinstance(state["StartedAt"], str) and isinstance(state["FinishedAt"], str)
            started, finished = aware(exit_info.started_at), aware(exit_info.finished_at)
            assert started <= finished
            assert abs(time.time() - finished.timestamp()) < 120

    @requires("exit_code")
    def test_wait_after_exit_is_repeatable(
        self, backend: ContainerBackend, containers: ContainerRunner
    ) -> None:
        run = containers.run("exit", {"EXIT_CODE": "5"})
        assert run.exit.exit_code == 5
        for timeout in (5, 0, None):
            again = backend.wait(run.ref, timeout=timeout)
            assert again is not None and again.exit_code == 5, timeout

    def test_wait_timeout_returns_none_while_running(
        self, backend: ContainerBackend, containers: ContainerRunner
    ) -> None:
        ref = containers.start("sleep", {"SLEEP": "30"})
        started = time.monotonic()
        assert backend.wait(ref, timeout=0.5) is None
        assert 0.4 <= time.monotonic() - started < 5
        assert backend.wait(ref, timeout=0) is None

    # -- stop and remove ---------------------------------------------------------------------

    @requires("stop")
    def test_stop_running_container(
        self, backend: ContainerBackend, containers: ContainerRunner, capabilities: frozenset[str]
    ) -> None:
        ref = containers.start("sleep", {"SLEEP": "30", "MSG": "never printed"})
        assert backend.wait(ref, timeout=0.5) is None  # running, and its SIGTERM trap is set
        started = time.monotonic()
        backend.stop(ref, grace=10)  # the sleep image exits 143 on SIGTERM at once
        exit_info = containers.wait(ref, timeout=15)
        assert time.monotonic() - started < 5
        assert exit_info.oom_killed is False
        if "exit_code" in capabilities:
            assert exit_info.exit_code == 143
        if "logs" in capabilities:
            logs = backend.logs(ref)
            assert b"terminated\n" in logs and b"never printed" not in logs
        backend.stop(ref, grace=1)  # stopping an exited container is a no-op

    @requires("stop")
    def test_stop_kills_after_grace(
        self, backend: ContainerBackend, containers: ContainerRunner, capabilities: frozenset[str]
    ) -> None:
        # SIGTERM ignored → SIGKILL after the grace period; not an OOM kill even with a memory
        # limit set, because the stop was asked for
        limits = {"mem_limit": 64 * MiB} if "memory_limit" in capabilities else {}
        ref = containers.start("sleep", {"SLEEP": "30", "IGNORE_TERM": "1"}, **limits)
        assert backend.wait(ref, timeout=0.3) is None
        started = time.monotonic()
        backend.stop(ref, grace=1)
        exit_info = containers.wait(ref, timeout=15)
        assert 0.8 <= time.monotonic() - started < 6
        assert exit_info.oom_killed is False and exit_info.state.get("OOMKilled") is False
        if "exit_code" in capabilities:
            assert exit_info.exit_code == 137

    def test_remove_is_idempotent(
        self, backend: ContainerBackend, containers: ContainerRunner, capabilities: frozenset[str]
    ) -> None:
        ref = containers.start("echo")
        containers.wait(ref)
        backend.remove(ref)
        backend.remove(ref)
        if "labels" in capabilities:
            assert ref.id not in [found.id for found in backend.list_containers(containers.labels)]

    def test_remove_running_container(
        self, backend: ContainerBackend, containers: ContainerRunner, capabilities: frozenset[str]
    ) -> None:
        ref = containers.start("sleep", {"SLEEP": "30"})
        backend.remove(ref)  # force
        if "labels" in capabilities:
            assert backend.list_containers(containers.labels) == []

    def test_stop_and_remove_missing_container_are_noops(self, backend: ContainerBackend) -> None:
        ghost = ContainerRef("f" * 64, backend.name)
        backend.stop(ghost, grace=1)
        backend.remove(ghost)

    # -- labels --------------------------------------------------------------------------------

    @requires("labels")
    def test_labels_and_list_containers(self, backend: ContainerBackend, containers: ContainerRunner) -> None:
        name = f"abaco-harness-{containers.case}"
        first = containers.start("echo", labels={"abaco.worker": "w1"}, name=name)
        second = containers.start("echo", labels={"abaco.worker": "w2"})
        containers.wait(first)
        containers.wait(second)
        assert first.name == name and first.labels["abaco.worker"] == "w1"
        found = backend.list_containers(containers.labels)
        assert sorted(ref.id for ref in found) == sorted([first.id, second.id])  # exited ones too
        only = backend.list_containers({**containers.labels, "abaco.worker": "w1"})
        assert [ref.id for ref in only] == [first.id]
        assert only[0].name == name
        assert only[0].backend == backend.name
        assert only[0].labels["abaco.worker"] == "w1"
        assert only[0].labels[RUN_LABEL] == RUN_ID
        assert backend.list_containers({**containers.labels, "abaco.worker": "nobody"}) == []

    # -- concurrency ---------------------------------------------------------------------------

    @requires("environment", "logs")
    def test_concurrent_runs_share_one_backend(self, containers: ContainerRunner) -> None:
        results: dict[int, bytes] = {}
        errors: list[BaseException] = []

        def one(i: int) -> None:
            try:
                results[i] = containers.run("echo", {"MSG": f"worker {i}"}).logs
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert sorted(results) == [0, 1, 2, 3]
        for i, logs in results.items():
            assert logs.startswith(f"MSG=worker {i}\n".encode())

    # -- limits --------------------------------------------------------------------------------

    @requires("memory_limit", "logs")
    def test_memory_limit_enforced(self, containers: ContainerRunner) -> None:
        small = containers.run("python", {"PYCODE": MEMORY_CODE, "ALLOC_MB": "16"}, mem_limit=64 * MiB)
        assert small.exit.exit_code == 0, small.text
        assert "allocated 16\n" in small.text
        assert small.exit.oom_killed is False
        big = containers.run("python", {"PYCODE": MEMORY_CODE, "ALLOC_MB": "200"}, mem_limit=64 * MiB)
        assert big.exit.exit_code != 0, big.text
        assert "allocated" not in big.text

    @requires("memory_limit", "oom_reporting")
    def test_oom_killed_reported(self, containers: ContainerRunner) -> None:
        big = containers.run("python", {"PYCODE": MEMORY_CODE, "ALLOC_MB": "200"}, mem_limit=64 * MiB)
        assert big.exit.exit_code == 137
        assert big.exit.oom_killed is True
        assert big.exit.state["OOMKilled"] is True

    @requires("cpu_limit", "logs")
    def test_cpu_limit_visible(self, containers: ContainerRunner) -> None:
        limited = containers.run("sh", {"SCRIPT": CPU_LIMIT_SCRIPT}, cpus_nano=500_000_000)
        quota, period = (int(word) for word in limited.text.split())  # cgroup v1 files, or v2 cpu.max
        assert quota / period == pytest.approx(0.5, abs=0.01)
        unlimited = containers.run("sh", {"SCRIPT": CPU_LIMIT_SCRIPT})
        assert unlimited.text.split()[0] in ("-1", "max")

    # -- user, mounts, privileges ------------------------------------------------------------

    @requires("user", "logs")
    def test_run_as_user(self, containers: ContainerRunner) -> None:
        script = "id -u; id -g; echo x > /tmp/f && echo tmp-writable"
        run = containers.run("sh", {"SCRIPT": script}, user="1000:1000")
        assert run.text == "1000\n1000\ntmp-writable\n"
        assert containers.run("sh", {"SCRIPT": "id -u"}).text == "0\n"  # no user: the image's

    @requires("mounts", "logs")
    def test_bind_mounts_ro_and_rw(self, containers: ContainerRunner, tmp_path: Path) -> None:
        ro_dir, rw_dir = tmp_path / "ro", tmp_path / "rw"
        ro_dir.mkdir()
        rw_dir.mkdir()
        (ro_dir / "in.txt").write_text("from the host\n")
        script = (
            "cat /data/in/in.txt; echo written > /data/out/out.txt && echo rw-ok; "
            "if (echo x > /data/in/new.txt) 2>/dev/null; then echo ro-WRITABLE; else echo ro-refused; fi"
        )
        mounts = [
            Mount(str(ro_dir), "/data/in", read_only=True),
            Mount(str(rw_dir), "/data/out", read_only=False),
        ]
        run = containers.run("sh", {"SCRIPT": script}, mounts=mounts)
        assert run.text == "from the host\nrw-ok\nro-refused\n"
        assert (rw_dir / "out.txt").read_text() == "written\n"
        assert not (ro_dir / "new.txt").exists()

    @requires("security", "logs")
    def test_security_options_enforced(self, containers: ContainerRunner) -> None:
        locked = containers.run("sh", {"SCRIPT": SECURITY_SCRIPT}, cap_drop=("ALL",), pids_limit=64)
        lines = locked.text.splitlines()
        assert lines[0].split() == ["NoNewPrivs:", "1"]  # the ContainerSpec default
        assert lines[1].split() == ["CapEff:", "0000000000000000"]
        assert lines[2] == "64"
        relaxed = containers.run(
            "sh", {"SCRIPT": SECURITY_SCRIPT}, no_new_privileges=False, cap_drop=("CHOWN",)
        )
        lines = relaxed.text.splitlines()
        assert lines[0].split() == ["NoNewPrivs:", "0"]
        effective = int(lines[1].split()[1], 16)
        assert effective != 0, "dropping CHOWN dropped every capability"
        assert effective & 1 == 0, "CAP_CHOWN (bit 0) still effective after cap_drop=('CHOWN',)"

    # -- the binary message FIFO and the results socket --------------------------------------

    @requires("mounts", "logs")
    def test_fifo_large_message_read_to_eof(
        self, backend: ContainerBackend, containers: ContainerRunner, tmp_path: Path
    ) -> None:
        payload = random.Random(1).randbytes(10 * MiB)
        fifo = BinaryFifo(str(tmp_path / "message.fifo"), payload)
        try:
            run = run_with_fifo(backend, containers, fifo, "python", {"PYCODE": FIFO_READ_TO_EOF})
        finally:
            fifo.close()
        assert run.exit.exit_code == 0, run.text
        assert run.text == digest_line(payload)

    @requires("mounts", "logs")
    def test_fifo_small_message_read_to_eagain(
        self, backend: ContainerBackend, containers: ContainerRunner, tmp_path: Path
    ) -> None:
        payload = bytes(range(256)) * 4 + b"\x00end"
        fifo = BinaryFifo(str(tmp_path / "message.fifo"), payload)
        try:
            run = run_with_fifo(backend, containers, fifo, "python", {"PYCODE": FIFO_READ_TO_EAGAIN})
        finally:
            fifo.close()
        assert run.exit.exit_code == 0, run.text
        assert run.text == digest_line(payload)

    @requires("mounts")
    def test_fifo_never_opened_does_not_block(
        self, backend: ContainerBackend, containers: ContainerRunner, tmp_path: Path
    ) -> None:
        gave_up = threading.Event()
        fifo = BinaryFifo(str(tmp_path / "message.fifo"), random.Random(2).randbytes(10 * MiB))
        try:
            started = time.monotonic()
            run_with_fifo(backend, containers, fifo, "echo", {"MSG": "not reading"}, on_gave_up=gave_up.set)
            assert time.monotonic() - started < 30
            assert gave_up.wait(5), "the feeder kept waiting after the container exited"
        finally:
            fifo.close()

    @requires("mounts", "logs")
    def test_results_datagrams_intact(self, containers: ContainerRunner, tmp_path: Path) -> None:
        received: list[bytes] = []
        results = ResultsSocket(str(tmp_path / "results.sock"), received.append)
        try:
            run = containers.run(
                "python",
                {"PYCODE": SEND_DATAGRAMS},
                mounts=[Mount(results.path, RESULTS_MOUNT, read_only=False)],
            )
        finally:
            results.close()
        assert run.exit.exit_code == 0, run.text
        assert run.text == f"sent {len(DATAGRAM_SIZES)}\n"
        assert [len(data) for data in received] == list(DATAGRAM_SIZES)
        assert received == expected_datagrams()

    @requires("mounts", "user", "logs")
    def test_channels_as_non_root_user(
        self, backend: ContainerBackend, containers: ContainerRunner, tmp_path: Path
    ) -> None:
        payload = b"binary \x00\xff message"
        received: list[bytes] = []
        fifo = BinaryFifo(str(tmp_path / "message.fifo"), payload)
        results = ResultsSocket(str(tmp_path / "results.sock"), received.append)
        code = (
            "import os\nprint(os.getuid(), os.getgid(), flush=True)\n" + FIFO_READ_TO_EAGAIN + SEND_DATAGRAMS
        )
        try:
            run = run_with_fifo(
                backend,
                containers,
                fifo,
                "python",
                {"PYCODE": code},
                user="1000:1000",
                mounts=[Mount(results.path, RESULTS_MOUNT, read_only=False)],
            )
        finally:
            fifo.close()
            results.close()
        assert run.exit.exit_code == 0, run.text
        assert run.text == f"1000 1000\n{digest_line(payload)}sent {len(DATAGRAM_SIZES)}\n"
        assert received == expected_datagrams()

    # -- stats ---------------------------------------------------------------------------------

    @requires("stats")
    def test_stats_while_running(
        self, backend: ContainerBackend, containers: ContainerRunner, capabilities: frozenset[str]
    ) -> None:
        ref = containers.start("sh", {"SCRIPT": "while :; do :; done"})
        sample = wait_until(
            lambda: (s := backend.stats(ref)) is not None and s.cpu_ns > 50_000_000 and s, timeout=8
        )
        assert sample, "no CPU time above 50 ms reported within 8 s of a busy loop"
        assert sample.memory_bytes > 0
        assert sample.io_bytes >= 0
        started = time.monotonic()
        assert backend.stats(ref) is not None
        assert time.monotonic() - started < 2, "one stats sample took more than 2 s"
        if "stop" in capabilities:
            backend.stop(ref, grace=0)
            containers.wait(ref, timeout=15)
        else:
            backend.remove(ref)
        assert backend.stats(ref) is None  # not running any more
