"""What is particular to the Docker and Podman backends, beyond the conformance suite:
registration and discovery, an unreachable engine, the cgroup settings they choose, networks,
and Podman's OOM inference. Each test runs once per engine (``-m docker`` / ``-m podman``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from abaco_harness.runner import ContainerRunner
from abaco_harness.suites.container_backend import MEMORY_CODE

from abaco_core.errors import BackendUnavailable
from abaco_core.interfaces import ContainerBackend
from abaco_core.plugins import backends, build_plugin_manager, settings_from
from abaco_core.records import CAPABILITIES, ContainerRef, ContainerSpec

MiB = 1024 * 1024


def test_both_engines_claim_every_capability(backend: ContainerBackend) -> None:
    assert backend.capabilities == CAPABILITIES
    assert backend.location.startswith("unix://")


def test_registration_and_probe(backend: ContainerBackend) -> None:
    pm = build_plugin_manager()
    settings = settings_from(pm)
    info = backends(pm)[backend.name]
    assert info.probe is not None and info.probe(settings) is True
    assert {"docker": 10, "podman": 20}[backend.name] == info.priority
    assert settings.get(f"{backend.name}_url") == backend.location


def test_unreachable_engine_raises_backend_unavailable(backend: ContainerBackend, tmp_path: Path) -> None:
    pm = build_plugin_manager()
    url = f"unix://{tmp_path}/no-engine.sock"
    settings = settings_from(pm)
    settings.plugin[f"{backend.name}_url"] = url
    info = backends(pm)[backend.name]
    assert info.probe is not None and info.probe(settings) is False
    dead = info.factory(settings)
    ghost = ContainerRef("0" * 64, backend.name)
    try:
        for call in (
            dead.ping,
            lambda: dead.image_exists("abaco-test/busybox:1"),
            lambda: dead.start(ContainerSpec("abaco-test/busybox:1")),
            lambda: dead.wait(ghost, timeout=1),
            lambda: dead.remove(ghost),
            lambda: dead.list_containers({"abaco.harness": "x"}),
        ):
            with pytest.raises(BackendUnavailable) as caught:
                call()
            assert url in str(caught.value)
    finally:
        dead.close()


CGROUP_SCRIPT = (
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null "
    "|| cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max /sys/fs/cgroup/cpu.max"
)


def test_limits_in_the_cgroup(runner: ContainerRunner) -> None:
    # memory+swap = memory (no swap: the OOM killer acts at the limit); CFS period 100 ms
    run = runner.run("sh", {"SCRIPT": CGROUP_SCRIPT}, mem_limit=64 * MiB, cpus_nano=250_000_000)
    assert run.text.split() in (
        ["67108864", "67108864", "25000", "100000"],  # cgroup v1
        ["67108864", "0", "25000", "100000"],  # cgroup v2: swap.max is swap alone
    )


def test_network_none_and_default(runner: ContainerRunner) -> None:
    script = "ls /sys/class/net | tr '\\n' ' '"
    assert runner.run("sh", {"SCRIPT": script}, network="none").text.split() == ["lo"]
    assert "eth0" in runner.run("sh", {"SCRIPT": script}).text.split()  # the engine's default network


@pytest.mark.parametrize("backend", [pytest.param("podman", marks=pytest.mark.podman)], indirect=True)
def test_podman_oom_inferred_when_the_engine_does_not_report_it(
    backend: ContainerBackend, runner: ContainerRunner
) -> None:
    # podman < 5.0 never sets State.OOMKilled (podman issue #13102): the backend infers it from
    # SIGKILL of a memory-limited container nobody asked to stop
    import podman

    run = runner.run("python", {"PYCODE": MEMORY_CODE, "ALLOC_MB": "200"}, mem_limit=64 * MiB)
    with podman.PodmanClient(base_url=backend.location) as client:
        engine_said = client.containers.get(run.ref.id).attrs["State"].get("OOMKilled")
        major = int(client.version()["Version"].split(".")[0])
    assert run.exit.exit_code == 137
    assert run.exit.oom_killed is True and run.exit.state["OOMKilled"] is True
    if major < 5:
        assert not engine_said  # so the inference, not the engine, reported the OOM kill
