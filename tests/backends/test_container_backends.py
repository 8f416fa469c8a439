"""The ContainerBackend contract against the real Docker and Podman engines.

Every test runs once per engine (``-m docker`` / ``-m podman`` select one). The test images
come from ``images/build.sh``; see ``images/README.md`` for what each one does.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC
from pathlib import Path

import pytest

from abaco_core.containers import STATE_KEYS
from abaco_core.errors import BackendUnavailable, ImageNotFound
from abaco_core.interfaces import ContainerBackend
from abaco_core.plugins import build_plugin_manager, registry, settings_from
from abaco_core.records import CAPABILITIES, ContainerRef, Mount

from .conftest import BUSYBOX, EXIT, PYEXEC, SH, SLEEP, TEST_LABELS, Runner, wait_until

MiB = 1024 * 1024


# -- engine and registration ------------------------------------------------------------------


def test_ping_and_protocol(backend: ContainerBackend) -> None:
    backend.ping()
    assert isinstance(backend, ContainerBackend)
    assert backend.name in ("docker", "podman")
    assert backend.location.startswith("unix://")
    assert backend.capabilities <= CAPABILITIES
    assert backend.capabilities == CAPABILITIES  # both engines claim every capability


def test_registration_and_probe(backend: ContainerBackend) -> None:
    pm = build_plugin_manager()
    settings = settings_from(pm)
    known = registry(pm.hook.abaco_container_backends(), "container backend")
    info = known[backend.name]
    assert info.probe is not None and info.probe(settings) is True
    assert {"docker": 10, "podman": 20}[backend.name] == info.priority
    assert settings.get(f"{backend.name}_url") == backend.location


def test_unreachable_engine_raises_backend_unavailable(backend: ContainerBackend, tmp_path: Path) -> None:
    pm = build_plugin_manager()
    url = f"unix://{tmp_path}/no-engine.sock"
    settings = settings_from(pm)
    settings.plugin[f"{backend.name}_url"] = url
    info = registry(pm.hook.abaco_container_backends(), "container backend")[backend.name]
    assert info.probe is not None and info.probe(settings) is False
    dead = info.factory(settings)
    try:
        for call in (
            dead.ping,
            lambda: dead.image_exists(BUSYBOX),
            lambda: dead.start(Runner(dead, "x").spec(BUSYBOX)),
            lambda: dead.wait(ContainerRef("0" * 64, backend.name), timeout=1),
            lambda: dead.remove(ContainerRef("0" * 64, backend.name)),
            lambda: dead.list_containers({"abaco.test": "1"}),
        ):
            with pytest.raises(BackendUnavailable) as caught:
                call()
            assert url in str(caught.value)
    finally:
        dead.close()


# -- images ------------------------------------------------------------------------------------


def test_image_exists_and_ensure_image(backend: ContainerBackend) -> None:
    assert backend.image_exists(BUSYBOX)
    backend.ensure_image(BUSYBOX)  # present: no pull, no error
    assert not backend.image_exists("abaco-test/no-such-image:1")


def test_ensure_missing_image_raises_image_not_found(backend: ContainerBackend) -> None:
    image = "abaco-test/no-such-image:1"
    started = time.monotonic()
    with pytest.raises(ImageNotFound) as caught:
        backend.ensure_image(image)
    assert image in str(caught.value)
    assert "could not be pulled" in str(caught.value)
    assert time.monotonic() - started < 20


def test_start_missing_image_raises_image_not_found(backend: ContainerBackend, runner: Runner) -> None:
    with pytest.raises(ImageNotFound) as caught:
        runner.start("abaco-test/no-such-image:1")
    assert "abaco-test/no-such-image:1" in str(caught.value)


# -- run: environment, logs, exit ---------------------------------------------------------------

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


def test_environment_passed_exactly(backend: ContainerBackend, runner: Runner) -> None:
    run = runner.run(BUSYBOX, ENVIRONMENT)
    assert run.exit is not None and run.exit.exit_code == 0
    assert run.text.startswith(f"MSG={ENVIRONMENT['MSG']}\n")
    lines = run.text.splitlines()
    for key, value in ENVIRONMENT.items():
        assert f"{key}={'' if value is None else value}" in lines, key
    assert any(line.startswith("PATH=/usr/local/sbin:") for line in lines)  # image ENV kept


def test_exit_codes_state_and_stderr(backend: ContainerBackend, runner: Runner) -> None:
    ok = runner.run(EXIT, {"EXIT_CODE": "0", "MSG": "fine"})
    failed = runner.run(EXIT, {"EXIT_CODE": "7", "MSG": "broken"})
    default = runner.run(EXIT)
    assert ok.exit is not None and failed.exit is not None and default.exit is not None
    assert (ok.exit.exit_code, failed.exit.exit_code, default.exit.exit_code) == (0, 7, 3)
    for run, code in ((ok, 0), (failed, 7)):
        assert run.exit is not None
        state = run.exit.state
        assert set(STATE_KEYS) <= set(state)
        assert state["Status"] == "exited"
        assert state["ExitCode"] == code
        assert state["Running"] is False and state["OOMKilled"] is False
        assert run.exit.oom_killed is False
        assert run.exit.started_at is not None and run.exit.finished_at is not None
        assert run.exit.started_at.tzinfo == UTC and run.exit.finished_at.tzinfo == UTC
        assert run.exit.started_at <= run.exit.finished_at
        assert abs(time.time() - run.exit.finished_at.timestamp()) < 120
    # stdout and stderr are both captured
    assert b"MSG=broken\n" in failed.logs
    assert b"exiting with 7\n" in failed.logs
    assert sorted(failed.logs.splitlines(keepends=True)) == [b"MSG=broken\n", b"exiting with 7\n"]


def test_logs_are_byte_exact(backend: ContainerBackend, runner: Runner) -> None:
    script = (
        r"printf 'tab\there\r\nctrl\001\002\033[0m\nutf8 \303\251\342\234\223\n'; printf 'no newline at end'"
    )
    run = runner.run(SH, {"SCRIPT": script})
    assert run.exit is not None and run.exit.exit_code == 0
    assert run.logs == b"tab\there\r\nctrl\x01\x02\x1b[0m\nutf8 \xc3\xa9\xe2\x9c\x93\nno newline at end"


def test_large_log_output(backend: ContainerBackend, runner: Runner) -> None:
    # 3000 lines (~200 kB) interleaved from one stream: every byte, in order
    run = runner.run(
        SH,
        {
            "SCRIPT": "i=0; while [ $i -lt 3000 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz0123456789; i=$((i+1)); done"
        },
    )
    expected = b"".join(b"line-%d-abcdefghijklmnopqrstuvwxyz0123456789\n" % i for i in range(3000))
    assert run.logs == expected


def test_wait_on_exited_container_and_zero_timeout(backend: ContainerBackend, runner: Runner) -> None:
    run = runner.run(EXIT, {"EXIT_CODE": "5"})
    assert run.exit is not None and run.exit.exit_code == 5
    again = backend.wait(run.ref, timeout=5)
    assert again is not None and again.exit_code == 5
    polled = backend.wait(run.ref, timeout=0)
    assert polled is not None and polled.exit_code == 5


# -- stop and remove -----------------------------------------------------------------------------


def test_stop_sleeping_container(backend: ContainerBackend, runner: Runner) -> None:
    ref = runner.start(SLEEP, {"SLEEP": "30", "MSG": "never printed"})
    assert backend.wait(ref, timeout=0.3) is None  # still running
    assert backend.wait(ref, timeout=0) is None
    started = time.monotonic()
    backend.stop(ref, grace=10)  # the image traps SIGTERM and exits 143 at once
    exit_info = backend.wait(ref, timeout=15)
    assert time.monotonic() - started < 5
    assert exit_info is not None and exit_info.exit_code == 143
    assert exit_info.oom_killed is False
    logs = backend.logs(ref)
    assert b"terminated\n" in logs and b"never printed" not in logs
    backend.stop(ref, grace=1)  # stopping an exited container is a no-op


def test_stop_kills_after_grace(backend: ContainerBackend, runner: Runner) -> None:
    # SIGTERM ignored → SIGKILL after the grace period → 137, which is not an OOM kill even
    # with a memory limit set (abaco asked for the stop)
    ref = runner.start(SLEEP, {"SLEEP": "30", "IGNORE_TERM": "1"}, mem_limit=64 * MiB)
    time.sleep(0.2)
    started = time.monotonic()
    backend.stop(ref, grace=1)
    exit_info = backend.wait(ref, timeout=15)
    elapsed = time.monotonic() - started
    assert exit_info is not None and exit_info.exit_code == 137
    assert exit_info.oom_killed is False and exit_info.state["OOMKilled"] is False
    assert 0.8 <= elapsed < 6


def test_remove_is_idempotent(backend: ContainerBackend, runner: Runner) -> None:
    run = runner.run(BUSYBOX)
    backend.remove(run.ref)
    backend.remove(run.ref)
    assert run.ref.id not in [ref.id for ref in backend.list_containers({"abaco.test.case": runner.case})]
    backend.remove(ContainerRef("f" * 64, backend.name))  # never existed
    backend.stop(ContainerRef("f" * 64, backend.name))  # gone: no-op as well


def test_remove_running_container(backend: ContainerBackend, runner: Runner) -> None:
    ref = runner.start(SLEEP, {"SLEEP": "30"})
    backend.remove(ref)  # force
    assert backend.list_containers({"abaco.test.case": runner.case}) == []


# -- labels --------------------------------------------------------------------------------------


def test_labels_and_list_containers(backend: ContainerBackend, runner: Runner) -> None:
    name = f"abaco-test-{runner.case}"
    first = runner.start(BUSYBOX, labels={"abaco.worker": "w1"}, name=name)
    second = runner.start(BUSYBOX, labels={"abaco.worker": "w2"})
    backend.wait(first, timeout=30)
    backend.wait(second, timeout=30)
    assert first.name == name and first.labels["abaco.worker"] == "w1"
    found = backend.list_containers({"abaco.test.case": runner.case})
    assert sorted(ref.id for ref in found) == sorted([first.id, second.id])  # exited ones too
    only = backend.list_containers({"abaco.test.case": runner.case, "abaco.worker": "w1"})
    assert [ref.id for ref in only] == [first.id]
    assert only[0].name == name
    assert only[0].backend == backend.name
    assert only[0].labels["abaco.worker"] == "w1"
    assert only[0].labels["abaco.test.session"] == TEST_LABELS["abaco.test.session"]
    assert backend.list_containers({"abaco.test.case": runner.case, "abaco.worker": "nobody"}) == []


# -- limits, user, mounts, privileges ----------------------------------------------------------

MEMORY_CODE = """
import os
for path in ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"):
    if os.path.exists(path):
        print("limit", open(path).read().strip(), flush=True)
        break
size = int(os.environ["ALLOC_MB"]) * 1024 * 1024
data = b"\\x01" * size  # written, so every page is really allocated
print("allocated", len(data) // (1024 * 1024), flush=True)
"""


def test_memory_limit_and_oom_kill(backend: ContainerBackend, runner: Runner) -> None:
    small = runner.run(PYEXEC, {"PYCODE": MEMORY_CODE, "ALLOC_MB": "16"}, mem_limit=64 * MiB)
    assert small.exit is not None and small.exit.exit_code == 0, small.text
    assert "limit 67108864\n" in small.text and "allocated 16\n" in small.text
    assert small.exit.oom_killed is False

    big = runner.run(PYEXEC, {"PYCODE": MEMORY_CODE, "ALLOC_MB": "200"}, mem_limit=64 * MiB)
    assert big.exit is not None
    assert big.exit.exit_code == 137, big.text
    assert big.exit.oom_killed is True
    assert big.exit.state["OOMKilled"] is True
    assert "allocated" not in big.text


def test_cpu_limit_visible(backend: ContainerBackend, runner: Runner) -> None:
    script = (
        "if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then "
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; "
        "else cat /sys/fs/cgroup/cpu.max; fi"
    )
    limited = runner.run(SH, {"SCRIPT": script}, cpus_nano=500_000_000)
    unlimited = runner.run(SH, {"SCRIPT": script})
    assert limited.text.split() == ["50000", "100000"]  # cgroup v1 quota + period, or v2 cpu.max
    assert unlimited.text.split()[0] in ("-1", "max")


def test_run_as_user(backend: ContainerBackend, runner: Runner) -> None:
    run = runner.run(SH, {"SCRIPT": "id -u; id -g; echo x > /tmp/f && echo tmp-writable"}, user="1000:1000")
    assert run.text == "1000\n1000\ntmp-writable\n"
    root = runner.run(SH, {"SCRIPT": "id -u"})
    assert root.text == "0\n"  # no user: the image's (root)


def test_bind_mounts_ro_and_rw(backend: ContainerBackend, runner: Runner, tmp_path: Path) -> None:
    ro_dir, rw_dir = tmp_path / "ro", tmp_path / "rw"
    ro_dir.mkdir()
    rw_dir.mkdir()
    (ro_dir / "in.txt").write_text("from the host\n")
    script = (
        "cat /data/in/in.txt; echo written > /data/out/out.txt && echo rw-ok; "
        "if (echo x > /data/in/new.txt) 2>/dev/null; then echo ro-WRITABLE; else echo ro-refused; fi"
    )
    run = runner.run(
        SH,
        {"SCRIPT": script},
        mounts=[
            Mount(str(ro_dir), "/data/in", read_only=True),
            Mount(str(rw_dir), "/data/out", read_only=False),
        ],
    )
    assert run.text == "from the host\nrw-ok\nro-refused\n"
    assert (rw_dir / "out.txt").read_text() == "written\n"
    assert not (ro_dir / "new.txt").exists()


def test_privileges_pids_and_network(backend: ContainerBackend, runner: Runner) -> None:
    script = (
        "grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
        "ls /sys/class/net | tr '\\n' ' '; echo"
    )
    locked = runner.run(SH, {"SCRIPT": script}, cap_drop=("ALL",), pids_limit=64, network="none")
    lines = locked.text.splitlines()
    assert lines[0].split() == ["NoNewPrivs:", "1"]
    assert lines[1].split() == ["CapEff:", "0000000000000000"]
    assert lines[2] == "64"
    assert lines[3].split() == ["lo"]
    relaxed = runner.run(SH, {"SCRIPT": script}, no_new_privileges=False)
    lines = relaxed.text.splitlines()
    assert lines[0].split() == ["NoNewPrivs:", "0"]
    assert lines[1].split() != ["CapEff:", "0000000000000000"]
    assert "eth0" in lines[3].split()  # the engine's default network


# -- stats ---------------------------------------------------------------------------------------


def test_stats_of_busy_container(backend: ContainerBackend, runner: Runner) -> None:
    ref = runner.start(SH, {"SCRIPT": "while :; do :; done"})
    started = time.monotonic()
    sample = wait_until(
        lambda: (s := backend.stats(ref)) is not None and s.cpu_ns > 50_000_000 and s, timeout=5
    )
    assert sample, "no positive CPU figure within 5 s"
    assert sample.cpu_ns > 50_000_000
    assert sample.memory_bytes > 0
    assert sample.io_bytes >= 0
    one = time.monotonic()
    backend.stats(ref)
    # one sample: podman answers in ~10 ms; dockerd 20.10 hands a one-shot request the next
    # tick of its 1 s stats collector (0-1 s), where the two-sample default takes 1-2 s
    assert time.monotonic() - one < 1.5
    assert time.monotonic() - started < 8
    backend.stop(ref, grace=0)
    assert backend.wait(ref, timeout=15) is not None
    assert backend.stats(ref) is None  # not running any more


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrent_runs_share_one_backend(backend: ContainerBackend, runner: Runner) -> None:
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            run = runner.run(BUSYBOX, {"MSG": f"worker {i}"})
            assert run.exit is not None and run.exit.exit_code == 0
            results[i] = run.logs
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
