"""The ``docker-cli`` backend: one ``docker`` command per operation, through ``subprocess``.

No shell is involved: every value (environment, labels, paths) is its own argument, so
nothing needs quoting except ``--mount``, whose value is CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from abaco_core import (
    BackendError,
    BackendUnavailable,
    ContainerFailed,
    ContainerRef,
    ContainerSpec,
    ExitInfo,
    ImageNotFound,
    RuntimeStats,
)

__all__ = ["DockerCliBackend"]

#: what this backend really does; ``stats`` is missing: the CLI reports only rounded
#: percentages, never cumulative CPU time
CAPABILITIES = frozenset(
    {
        "environment",
        "logs",
        "exit_code",
        "stop",
        "memory_limit",
        "cpu_limit",
        "oom_reporting",
        "user",
        "mounts",
        "labels",
        "security",
    }
)

STATE_DEFAULTS: dict[str, Any] = {
    "Status": "",
    "Running": False,
    "Paused": False,
    "Restarting": False,
    "OOMKilled": False,
    "Dead": False,
    "Pid": 0,
    "ExitCode": 0,
    "Error": "",
    "StartedAt": "0001-01-01T00:00:00Z",
    "FinishedAt": "0001-01-01T00:00:00Z",
}
_UNREACHABLE = ("cannot connect to the docker daemon", "error during connect", "is the docker daemon running")
_NO_CONTAINER = "no such container"
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _mount(host_path: str, container_path: str, read_only: bool) -> str:
    fields = ["type=bind", f"source={host_path}", f"target={container_path}"] + (
        ["readonly"] if read_only else []
    )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _time(value: str | None) -> datetime | None:
    """RFC 3339 with up to nanoseconds → an aware datetime; Docker's "never" (year 1) → ``None``."""
    match = _TIME.match(value or "")
    if match is None or match[1].startswith("0001-"):
        return None
    fraction = f".{(match[2] + '000000')[:6]}" if match[2] else ""
    return datetime.fromisoformat(f"{match[1]}{fraction}{'+00:00' if match[3] == 'Z' else match[3]}")


class DockerCliBackend:
    """Runs actor containers with the ``docker`` client (``host``: its ``--host``; ``None`` for
    the client's own default)."""

    name = "docker-cli"
    capabilities = CAPABILITIES

    def __init__(self, host: str | None = None, *, docker: str = "docker", timeout: float = 60.0) -> None:
        self.location = host or "docker-cli://default"
        self.timeout = timeout
        self._command = [docker, *(["--host", host] if host else [])]

    # -- one command -----------------------------------------------------------------------

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``docker ARGS`` (at most ``timeout`` seconds: default :attr:`timeout`, ``math.inf``
        for no limit); raise :class:`BackendUnavailable` when the daemon is unreachable."""
        limit = self.timeout if timeout is None else timeout
        try:
            done = subprocess.run(
                [*self._command, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=None if math.isinf(limit) else limit,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BackendUnavailable(f"the docker client is not installed: {exc}") from exc
        if done.returncode != 0 and any(text in _stderr(done).lower() for text in _UNREACHABLE):
            raise BackendUnavailable(f"docker at {self.location} is not reachable: {_stderr(done)}")
        return done

    def _checked(self, action: str, *args: str) -> bytes:
        done = self._run(*args)
        if done.returncode != 0:
            raise ContainerFailed(f"{action} failed on docker at {self.location}: {_stderr(done)}")
        return done.stdout

    # -- engine and images -----------------------------------------------------------------

    def ping(self) -> None:
        done = self._run("version", "--format", "{{.Server.Version}}", timeout=10)
        if done.returncode != 0:
            raise BackendUnavailable(f"docker at {self.location} does not answer: {_stderr(done)}")

    def image_exists(self, image: str) -> bool:
        done = self._run("image", "inspect", "--format", "{{.Id}}", image)
        if done.returncode == 0:
            return True
        if "no such image" in _stderr(done).lower():
            return False
        raise BackendError(f"inspect image {image!r} failed on docker at {self.location}: {_stderr(done)}")

    def ensure_image(self, image: str) -> None:
        if self.image_exists(image):
            return
        done = self._run("pull", "--quiet", image, timeout=600)
        if done.returncode != 0 or not self.image_exists(image):
            raise ImageNotFound(
                f"image {image!r} is not present on docker at {self.location} and could not be pulled: "
                f"{_stderr(done) or 'the pull ended without the image'}"
            )

    # -- containers ------------------------------------------------------------------------

    def _create_args(self, spec: ContainerSpec) -> list[str]:
        args = ["create", "--pull", "never"]
        for key, value in spec.environment.items():
            args += ["--env", f"{key}={'' if value is None else value}"]  # never bare KEY: that copies ours
        for key, value in spec.labels.items():
            args += ["--label", f"{key}={value}"]
        if spec.name:
            args += ["--name", spec.name]
        if spec.user:
            args += ["--user", spec.user]
        for mount in spec.mounts:
            args += ["--mount", _mount(mount.host_path, mount.container_path, mount.read_only)]
        if spec.mem_limit and spec.mem_limit > 0:
            args += ["--memory", str(spec.mem_limit), "--memory-swap", str(spec.mem_limit)]  # no swap
        if spec.cpus_nano and spec.cpus_nano > 0:
            args += ["--cpus", repr(spec.cpus_nano / 1e9)]
        if spec.pids_limit and spec.pids_limit > 0:
            args += ["--pids-limit", str(spec.pids_limit)]
        if spec.network:
            args += ["--network", spec.network]
        if spec.privileged:
            args.append("--privileged")
        if spec.no_new_privileges:
            args += ["--security-opt", "no-new-privileges"]
        for capability in spec.cap_drop:
            args += ["--cap-drop", capability]
        return [*args, spec.image]

    def start(self, spec: ContainerSpec) -> ContainerRef:
        done = self._run(*self._create_args(spec))
        if done.returncode != 0:
            if "no such image" in _stderr(done).lower():
                raise ImageNotFound(f"image {spec.image!r} is not present on docker at {self.location}")
            raise ContainerFailed(f"create container failed on docker at {self.location}: {_stderr(done)}")
        cid = done.stdout.decode().strip()
        started = self._run("start", cid)
        if started.returncode != 0:
            self._run("rm", "--force", cid)
            raise ContainerFailed(f"start container failed on docker at {self.location}: {_stderr(started)}")
        return ContainerRef(cid, self.name, spec.name, dict(spec.labels))

    def _state(self, cid: str) -> dict[str, Any]:
        """The container's state in Docker's shape, every key present."""
        args = ("inspect", "--type", "container", "--format", "{{json .State}}", cid)
        raw = json.loads(self._checked("inspect container", *args))
        return {key: default if raw.get(key) is None else raw[key] for key, default in STATE_DEFAULTS.items()}

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        if timeout is not None and timeout <= 0:
            state = self._state(ref.id)
            if state["Running"] or state["Status"] in ("created", "restarting", "paused"):
                return None
        else:
            try:
                done = self._run("wait", ref.id, timeout=math.inf if timeout is None else timeout)
            except subprocess.TimeoutExpired:  # the client was killed; the container runs on
                return None
            if done.returncode != 0:
                raise ContainerFailed(
                    f"wait for container failed on docker at {self.location}: {_stderr(done)}"
                )
            state = self._state(ref.id)
        started, finished = _time(state["StartedAt"]), _time(state["FinishedAt"])
        if started is not None and finished is not None and finished < started:
            # the engine stamps StartedAt after the process runs: a quick one "ends" before it starts
            finished = started
        return ExitInfo(
            exit_code=int(state["ExitCode"]),
            oom_killed=bool(state["OOMKilled"]),
            started_at=started,
            finished_at=finished,
            state=state,
        )

    def logs(self, ref: ContainerRef) -> bytes:
        # one pipe for both streams keeps them interleaved as the client writes them
        try:
            done = subprocess.run(
                [*self._command, "logs", ref.id],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BackendUnavailable(f"the docker client is not installed: {exc}") from exc
        if done.returncode != 0:
            raise ContainerFailed(f"read logs failed on docker at {self.location}: {done.stdout[-500:]!r}")
        return done.stdout

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        return None  # not claimed: see CAPABILITIES

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        seconds = max(0, -int(-grace // 1))  # whole seconds, rounded up
        done = self._run("stop", "--time", str(seconds), ref.id, timeout=self.timeout + seconds)
        if done.returncode != 0 and _NO_CONTAINER not in _stderr(done).lower():
            raise ContainerFailed(f"stop container failed on docker at {self.location}: {_stderr(done)}")

    def remove(self, ref: ContainerRef) -> None:
        done = self._run("rm", "--force", ref.id)
        text = _stderr(done).lower()
        if done.returncode != 0 and _NO_CONTAINER not in text and "already in progress" not in text:
            raise ContainerFailed(f"remove container failed on docker at {self.location}: {_stderr(done)}")

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        filters = [arg for key, value in labels.items() for arg in ("--filter", f"label={key}={value}")]
        ids = (
            self._checked("list containers", "ps", "--all", "--quiet", "--no-trunc", *filters)
            .decode()
            .split()
        )
        return self._refs(ids) if ids else []

    def _refs(self, ids: Sequence[str]) -> list[ContainerRef]:
        # a container removed between ps and inspect makes inspect fail for it alone
        done = self._run("inspect", "--type", "container", *ids)
        found = json.loads(done.stdout or b"[]")
        return [
            ContainerRef(item["Id"], self.name, item["Name"].lstrip("/"), item["Config"].get("Labels") or {})
            for item in found
        ]

    def close(self) -> None:
        pass


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8", "replace").strip()
