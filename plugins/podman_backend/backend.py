"""The Podman container backend: podman-py's ``APIClient`` against Podman's REST service.

Calls go straight to the libpod endpoints through ``PodmanClient.api``: podman-py's
``containers.create`` re-reads the container after creating it and drops ``nano_cpus``
silently, and its wait polls every 250 ms unless told otherwise. The hot path of an
execution is create, start, wait (10 ms poll), one inspect (for the ``State``), logs, remove.

Podman quirks handled here (see the shared notes, "containers here"):

* podman < 5.0 never sets ``State.OOMKilled`` (podman issue #13102): see :meth:`PodmanBackend.wait`.
* images imported locally are named ``localhost/<name>``; short names resolve, and a failed
  create is retried once with the ``localhost/`` prefix.
* stats come from the libpod endpoint (one sample, ~10 ms) instead of the Docker-compatible one.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from abaco_core.containers import (
    NETWORK_MODES,
    cpu_period_quota,
    docker_state,
    env_dict,
    exit_info,
    infer_oom_killed,
    join_log_frames,
    label_filters,
    positive_or_none,
    stop_timeout,
)
from abaco_core.errors import BackendUnavailable, ContainerFailed, ImageNotFound
from abaco_core.records import ContainerRef, ContainerSpec, ExitInfo, RuntimeStats

from .errors import is_not_found, is_timeout, translated

__all__ = ["CAPABILITIES", "PodmanBackend"]

CAPABILITIES = frozenset(
    {
        "environment",
        "logs",
        "exit_code",
        "stop",
        "memory_limit",
        "cpu_limit",
        "oom_reporting",  # through the inference in PodmanBackend.wait on podman < 5
        "stats",
        "user",
        "mounts",
        "labels",
        "security",
    }
)

DEFAULT_TIMEOUT = 60.0
DEFAULT_POOL_SIZE = 32
#: the service's poll interval while waiting (its default is 250 ms)
WAIT_INTERVAL = "10ms"
#: wait(timeout=None) waits in requests of this many seconds
WAIT_CHUNK = 300.0
_JSON = {"content-type": "application/json"}


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="/:@")


def _qualified(image: str) -> bool:
    """Whether a reference names its registry (``host.tld/x``, ``host:port/x``, ``localhost/x``)."""
    first, sep, _ = image.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


class PodmanBackend:
    """Runs actor containers on a Podman REST service (``base_url``:
    ``unix:///run/podman/podman.sock``...). The client is created on first use and shared."""

    name = "podman"
    capabilities = CAPABILITIES

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.base_url = base_url
        self.location = base_url
        self.timeout = timeout
        self.max_pool_size = max_pool_size
        self._client: Any = None
        self._lock = threading.Lock()
        #: ids of containers abaco asked to stop (their SIGKILL is not an OOM kill)
        self._stopping: set[str] = set()

    def __repr__(self) -> str:
        return f"PodmanBackend({self.base_url!r})"

    # -- client ------------------------------------------------------------------------------

    @property
    def _api(self) -> Any:
        """The shared podman-py ``APIClient`` (a requests session on the service socket)."""
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    import podman

                    with translated("connect", self.base_url):
                        client = podman.PodmanClient(
                            base_url=self.base_url,
                            timeout=self.timeout,
                            max_pool_size=self.max_pool_size,
                        )
                    self._client = client
        return client.api

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing sockets must not fail a shutdown
                pass

    def _ref(
        self, cid: str, name: str | None = None, labels: Mapping[str, str] | None = None
    ) -> ContainerRef:
        return ContainerRef(id=cid, backend=self.name, name=name, labels=dict(labels or {}))

    # -- engine and images -------------------------------------------------------------------

    def ping(self) -> None:
        with translated("ping", self.base_url):
            response = self._api.get("/_ping")
            if response.status_code != 200:
                raise BackendUnavailable(
                    f"podman at {self.base_url} answered the ping with HTTP {response.status_code}"
                )

    def _exists(self, image: str) -> bool:
        response = self._api.get(f"/images/{_quote(image)}/exists")
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    def image_exists(self, image: str) -> bool:
        with translated("inspect image", self.base_url, image):
            if self._exists(image):
                return True
            # images imported or built locally are stored as localhost/<name>
            return not _qualified(image) and self._exists(f"localhost/{image}")

    def ensure_image(self, image: str) -> None:
        if self.image_exists(image):
            return
        with translated("pull image", self.base_url, image):
            response = self._api.post(
                "/images/pull", params={"reference": image, "quiet": True}, timeout=max(self.timeout, 600.0)
            )
            problem = ""
            if response.status_code >= 400:
                problem = response.text.strip()
            # errors after the pull started arrive as {"error": ...} lines in a 200 stream
            for line in response.text.splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and item.get("error"):
                    problem = str(item["error"]).strip()
        if problem or not self.image_exists(image):
            raise ImageNotFound(
                f"image {image!r} is not present on podman at {self.base_url} and could not be pulled: "
                f"{problem or 'the pull ended without the image'}"
            )

    # -- containers --------------------------------------------------------------------------

    def _create_body(self, spec: ContainerSpec, image: str) -> dict[str, Any]:
        """A libpod SpecGenerator for ``spec`` (no command: the image's own CMD/ENTRYPOINT)."""
        body: dict[str, Any] = {
            "image": image,
            "env": env_dict(spec.environment),
            "labels": dict(spec.labels),
            "privileged": bool(spec.privileged),
            "no_new_privileges": bool(spec.no_new_privileges),
        }
        if spec.name:
            body["name"] = spec.name
        if spec.user:
            body["user"] = spec.user
        if spec.mounts:
            body["mounts"] = [
                {
                    "type": "bind",
                    "source": m.host_path,
                    "destination": m.container_path,
                    "options": ["rbind", "ro" if m.read_only else "rw"],
                }
                for m in spec.mounts
            ]
        limits: dict[str, Any] = {}
        mem = positive_or_none(spec.mem_limit)
        if mem is not None:
            limits["memory"] = {"limit": mem, "swap": mem}  # no swap: OOM at the limit
        cpu = cpu_period_quota(spec.cpus_nano)
        if cpu is not None:
            limits["cpu"] = {"period": cpu[0], "quota": cpu[1]}
        pids = positive_or_none(spec.pids_limit)
        if pids is not None:
            limits["pids"] = {"limit": pids}
        if limits:
            body["resource_limits"] = limits
        if spec.cap_drop:
            body["cap_drop"] = list(spec.cap_drop)
        if spec.network:
            if spec.network in NETWORK_MODES or ":" in spec.network:
                mode = "bridge" if spec.network == "default" else spec.network
                kind, _, value = mode.partition(":")
                kind = "path" if kind == "ns" else kind  # Docker's ns:<path> is libpod's "path"
                body["netns"] = {"nsmode": kind, **({"value": value} if value else {})}
            else:
                body["networks"] = {spec.network: {}}
        return body

    def _create(self, spec: ContainerSpec, image: str) -> Any:
        return self._api.post(
            "/containers/create", data=json.dumps(self._create_body(spec, image)), headers=_JSON
        )

    def start(self, spec: ContainerSpec) -> ContainerRef:
        with translated("create container", self.base_url, spec.image):
            response = self._create(spec, spec.image)
            if _image_missing(response) and not _qualified(spec.image):
                response = self._create(spec, f"localhost/{spec.image}")
            if _image_missing(response):
                raise ImageNotFound(
                    f"image {spec.image!r} is not present on podman at {self.base_url}: {_message(response)}"
                )
            response.raise_for_status()
            cid = response.json()["Id"]
        with translated("start container", self.base_url, spec.image):
            try:
                self._api.post(f"/containers/{cid}/start").raise_for_status()
            except Exception:
                self._discard(cid)
                raise
        return self._ref(cid, spec.name, spec.labels)

    def _discard(self, cid: str) -> None:
        try:
            self._api.delete(f"/containers/{cid}", params={"force": True})
        except Exception:  # an error path already: keep the first error
            pass

    def _inspect(self, cid: str) -> dict[str, Any]:
        """Docker-shaped inspect (the service's compatible endpoint)."""
        response = self._api.get(f"/containers/{cid}/json", compatible=True)
        response.raise_for_status()
        return response.json()

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        with translated("wait for container", self.base_url):
            code = None
            if timeout is not None and timeout <= 0:
                details = self._inspect(ref.id)
                if details["State"].get("Status") in ("created", "running", "paused", "restarting"):
                    return None
            else:
                code = self._wait(ref.id, timeout)
                if code is _STILL_RUNNING:
                    return None
                try:
                    details = self._inspect(ref.id)
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
                    details = {"State": {"Status": "removed", "ExitCode": code}}
        raw = details.get("State") or {}
        exit_code = int(raw.get("ExitCode") or 0) if code is None else int(code)
        state = docker_state(raw, ExitCode=exit_code)
        mem_limit = (details.get("HostConfig") or {}).get("Memory")
        if not state["OOMKilled"] and infer_oom_killed(exit_code, mem_limit, ref.id in self._stopping):
            # podman < 5.0 never reports OOMKilled (podman issue #13102, fixed in 5.0): a memory-
            # limited container SIGKILLed (137) without abaco asking for a stop was OOM-killed.
            state["OOMKilled"] = True
        return exit_info(state, exit_code=exit_code)

    def _wait(self, cid: str, timeout: float | None) -> Any:
        """The exit code, or ``_STILL_RUNNING`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = WAIT_CHUNK if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return _STILL_RUNNING
            try:
                response = self._api.post(
                    f"/containers/{cid}/wait", params={"interval": WAIT_INTERVAL}, timeout=left
                )
            except Exception as exc:
                if is_timeout(exc):
                    if deadline is None:
                        continue
                    return _STILL_RUNNING
                raise
            response.raise_for_status()
            return response.json()

    def logs(self, ref: ContainerRef) -> bytes:
        with translated("read logs", self.base_url):
            response = self._api.get(
                f"/containers/{ref.id}/logs", params={"stdout": True, "stderr": True, "follow": False}
            )
            response.raise_for_status()
            return join_log_frames(response.content)

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        with translated("read stats", self.base_url):
            response = self._api.get("/containers/stats", params={"containers": [ref.id], "stream": False})
            if response.status_code in (404, 409):
                return None
            response.raise_for_status()
            body = response.json()
        samples = (body or {}).get("Stats") or []
        if (body or {}).get("Error") or not samples:
            return None
        sample = samples[0]
        if not sample.get("PIDs") and not sample.get("CPUNano"):
            return None  # podman 4.3 answers a zero sample for a container that is not running
        return RuntimeStats(
            cpu_ns=int(sample.get("CPUNano") or 0),
            io_bytes=int(sample.get("NetInput") or 0),
            memory_bytes=int(sample.get("MemUsage") or 0),
        )

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        seconds = stop_timeout(grace)
        self._stopping.add(ref.id)
        with translated("stop container", self.base_url):
            response = self._api.post(
                f"/containers/{ref.id}/stop", params={"timeout": seconds}, timeout=self.timeout + seconds
            )
            if response.status_code in (304, 404):  # already stopped, or gone
                return
            response.raise_for_status()

    def remove(self, ref: ContainerRef) -> None:
        with translated("remove container", self.base_url):
            for attempt in range(5):
                response = self._api.delete(f"/containers/{ref.id}", params={"force": True})
                if response.status_code < 400 or response.status_code == 404:
                    self._stopping.discard(ref.id)
                    return
                text = _message(response).lower()
                if "being removed" in text or "already in progress" in text:
                    return
                if "busy" not in text or attempt == 4:
                    raise ContainerFailed(
                        f"remove container failed on podman at {self.base_url}: {_message(response)}"
                    )
                time.sleep(0.1 * (attempt + 1))

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        params: dict[str, Any] = {"all": True}
        if labels:
            params["filters"] = json.dumps({"label": label_filters(labels)})
        with translated("list containers", self.base_url):
            response = self._api.get("/containers/json", params=params)
            response.raise_for_status()
            found = response.json() or []
        refs = []
        for item in found:
            names = item.get("Names") or []
            refs.append(self._ref(item["Id"], names[0] if names else None, item.get("Labels") or {}))
        return refs


_STILL_RUNNING = object()


def _image_missing(response: Any) -> bool:
    """Whether a create failed for want of the image (podman 4.3 answers 500 "image not known")."""
    if response.status_code < 400:
        return False
    text = _message(response).lower()
    return response.status_code == 404 or "image not known" in text or "no such image" in text


def _message(response: Any) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("cause") or body)
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
