"""Backend-neutral helpers for container backends (Docker, Podman, and third-party ones).

Pure functions on plain data: this module imports no container SDK. It holds what every
Docker-API-shaped engine needs in the same form: environment formatting, the NanoCPU →
CFS period/quota conversion, engine timestamps, the Docker-shaped ``State`` dict, the
multiplexed log stream, image-reference normalisation, and the OOM inference for engines
that do not report ``OOMKilled``.
"""

from __future__ import annotations

import os
import re
import socket
import struct
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .records import ExitInfo

__all__ = [
    "CFS_PERIOD_US",
    "MIN_CFS_QUOTA_US",
    "NETWORK_MODES",
    "STATE_KEYS",
    "cpu_period_quota",
    "docker_state",
    "engine_answers",
    "exception_chain",
    "env_dict",
    "env_list",
    "exit_info",
    "first_existing",
    "infer_oom_killed",
    "join_log_frames",
    "label_filters",
    "normalize_image",
    "parse_engine_time",
    "positive_or_none",
    "socket_path",
    "split_image",
    "stop_timeout",
]

#: CFS period used for CPU limits (the kernel's and Docker's default, 100 ms).
CFS_PERIOD_US = 100_000
#: The kernel refuses a CFS quota below 1 ms.
MIN_CFS_QUOTA_US = 1_000

#: Keys of the Docker-shaped container state every backend reports in ``ExitInfo.state``.
STATE_KEYS: tuple[str, ...] = (
    "Status",
    "Running",
    "Paused",
    "Restarting",
    "OOMKilled",
    "Dead",
    "Pid",
    "ExitCode",
    "Error",
    "StartedAt",
    "FinishedAt",
)
_STATE_DEFAULTS: dict[str, Any] = {
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

#: ``ContainerSpec.network`` values that name a network *mode* rather than a network.
NETWORK_MODES = frozenset({"none", "host", "bridge", "default"})


# -- spec conversion ------------------------------------------------------------------------


def positive_or_none(value: int | None) -> int | None:
    """``None`` for unset or "unlimited" (``<= 0``, e.g. the settings' ``-1``) limits."""
    if value is None or value <= 0:
        return None
    return int(value)


def env_list(environment: Mapping[str, str | None]) -> list[str]:
    """``["K=V", ...]`` in the mapping's order; a ``None`` value gives ``"K="`` (set, empty)."""
    return [f"{key}={'' if value is None else value}" for key, value in environment.items()]


def env_dict(environment: Mapping[str, str | None]) -> dict[str, str]:
    """The environment as a str → str dict; a ``None`` value becomes ``""``."""
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def cpu_period_quota(cpus_nano: int | None, period_us: int = CFS_PERIOD_US) -> tuple[int, int] | None:
    """Docker NanoCPUs (1e9 = one CPU) → ``(cpu_period, cpu_quota)`` in microseconds.

    ``None`` for no limit. The quota is rounded to the nearest microsecond and never below
    the kernel's 1 ms minimum. Both backends use period/quota (podman-py drops ``nano_cpus``),
    which gives the same cgroup settings Docker derives from NanoCPUs.
    """
    nano = positive_or_none(cpus_nano)
    if nano is None:
        return None
    quota = max(MIN_CFS_QUOTA_US, round(nano * period_us / 1_000_000_000))
    return period_us, quota


def stop_timeout(grace: float) -> int:
    """Engines take whole seconds for the stop grace period; round up, never negative."""
    if grace <= 0:
        return 0
    whole = int(grace)
    return whole if whole == grace else whole + 1


def label_filters(labels: Mapping[str, str]) -> list[str]:
    """``{"k": "v"}`` → ``["k=v"]`` for the engines' ``label`` list filter."""
    return [f"{key}={value}" for key, value in labels.items()]


# -- images ---------------------------------------------------------------------------------

_DEFAULT_DOMAINS = ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/")


def split_image(image: str) -> tuple[str, str | None]:
    """``repo[:tag][@digest]`` → ``(repo, tag or digest)``; a ``:`` inside the registry host
    (``host:5000/x``) is not a tag."""
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, None


def normalize_image(image: str) -> str:
    """A canonical form for comparing image references across engines.

    Drops the implicit Docker Hub and Podman ``localhost/`` domains and adds ``:latest`` when
    there is neither tag nor digest: ``busybox``, ``docker.io/library/busybox:latest`` and
    ``localhost/busybox`` all give ``busybox:latest``.
    """
    ref = image.strip()
    for prefix in (*_DEFAULT_DOMAINS, "localhost/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    if "@" not in ref:
        repo, tag = split_image(ref)
        ref = f"{repo}:{tag or 'latest'}"
    return ref


# -- state and exit -------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?\s*(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_engine_time(value: str | None) -> datetime | None:
    """An engine timestamp (RFC 3339 with up to nanoseconds, ``Z`` or an offset) → an aware
    UTC datetime (microseconds). Docker's "never" (year 1), empty or unparsable → ``None``."""
    if not value:
        return None
    match = _TIME_RE.match(value.strip())
    if match is None:
        return None
    base = match["base"].replace(" ", "T")
    if base.startswith("0001-"):
        return None
    try:
        parsed = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    frac = match["frac"]
    if frac:
        parsed = parsed.replace(microsecond=int((frac + "000000")[:6]))
    tz = match["tz"]
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (parsed - sign * offset).replace(tzinfo=UTC)
    return parsed.replace(tzinfo=UTC)


def docker_state(raw: Mapping[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    """The engine's state reduced to :data:`STATE_KEYS` (missing ones get Docker's defaults),
    then ``overrides`` applied."""
    raw = raw or {}
    state = {key: raw.get(key, default) for key, default in _STATE_DEFAULTS.items()}
    for key in ("Error", "StartedAt", "FinishedAt", "Status"):
        if state[key] is None:
            state[key] = _STATE_DEFAULTS[key]
    state.update(overrides)
    return state


def exit_info(state: Mapping[str, Any], exit_code: int | None = None) -> ExitInfo:
    """:class:`ExitInfo` from a Docker-shaped state (``exit_code`` wins when given); ``state``
    is kept as the engine reported it."""
    code = int(state.get("ExitCode") or 0) if exit_code is None else int(exit_code)
    started = parse_engine_time(state.get("StartedAt"))
    finished = parse_engine_time(state.get("FinishedAt"))
    if started is not None and finished is not None and finished < started:
        # podman records StartedAt after the process is already running, so a process that
        # ends within microseconds "finishes" before it "started"; never report a negative run
        finished = started
    return ExitInfo(
        exit_code=code,
        oom_killed=bool(state.get("OOMKilled")),
        started_at=started,
        finished_at=finished,
        state=dict(state),
    )


def infer_oom_killed(exit_code: int, mem_limit: int | None, stop_requested: bool) -> bool:
    """OOM inference for engines that never set ``OOMKilled`` (podman < 5.0, issue #13102):
    SIGKILL (137) of a memory-limited container that nobody asked to stop. Another SIGKILL
    from outside abaco would be misread as an OOM kill; the kernel log is the only exact
    source and is not readable through the engine's API."""
    return exit_code == 137 and positive_or_none(mem_limit) is not None and not stop_requested


# -- logs -----------------------------------------------------------------------------------

_FRAME_HEADER = struct.Struct(">BxxxL")


def join_log_frames(data: bytes) -> bytes:
    """The payloads of a multiplexed log stream (8-byte headers: stream 0/1/2, 3 zero bytes,
    big-endian length), concatenated in order: stdout and stderr interleaved as the engine
    kept them, byte for byte. Data that is not multiplexed (a TTY container) is returned as is.
    """
    chunks: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        if size - pos < _FRAME_HEADER.size or data[pos] > 2 or data[pos + 1 : pos + 4] != b"\0\0\0":
            if pos == 0:
                return data
            chunks.append(data[pos:])  # a truncated tail: keep the bytes rather than drop them
            break
        _, length = _FRAME_HEADER.unpack_from(data, pos)
        start = pos + _FRAME_HEADER.size
        chunks.append(data[start : start + length])
        pos = start + length
    return b"".join(chunks)


# -- engine discovery -----------------------------------------------------------------------


def first_existing(paths: Iterable[str | None]) -> str | None:
    """The first of ``paths`` that exists (as any file type), or ``None``."""
    for path in paths:
        if path and os.path.exists(path):
            return path
    return None


def socket_path(url: str) -> str | None:
    """The filesystem path of a ``unix://`` / ``http+unix://`` URL (``None`` for other schemes)."""
    for prefix in ("unix://", "http+unix://"):
        if url.startswith(prefix):
            return url[len(prefix) :] or None
    return None


def engine_answers(url: str | None, timeout: float = 0.5) -> bool:
    """Whether a Docker-API engine answers ``GET /_ping`` at ``url`` (``unix://`` or
    ``tcp://``/``http://``): a cheap probe that never raises. Both dockerd and the Podman
    service answer ``/_ping``."""
    if not url:
        return False
    path = socket_path(url)
    try:
        if path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = path
        else:
            rest = url.split("://", 1)[-1].split("/", 1)[0]
            host, _, port = rest.rpartition(":")
            if not host or not port.isdigit():
                return False
            sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
            address = (host.strip("[]"), int(port))
        with sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            status = sock.recv(64)
        return status.startswith(b"HTTP/1.") and status[9:12] == b"200"
    except (OSError, ValueError):
        return False


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and exceptions carried in their ``args``
    (requests wraps urllib3's read timeout in a ``ConnectionError`` on unix sockets)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
