"""The Docker container backend: docker-py's low-level ``APIClient`` against a Docker Engine.

The low-level client is used on purpose: docker-py's high-level ``containers.create`` and
``Container.logs`` each add an inspect round trip, and an execution's hot path here is exactly
create, start, wait, one inspect (for the ``State``), logs and remove.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from abaco_core.containers import (
    cpu_period_quota,
    docker_state,
    env_list,
    exit_info,
    join_log_frames,
    label_filters,
    positive_or_none,
    split_image,
    stop_timeout,
)
from abaco_core.errors import BackendUnavailable, ContainerFailed, ImageNotFound
from abaco_core.records import ContainerRef, ContainerSpec, ExitInfo, RuntimeStats

from .errors import explain, is_not_found, is_timeout, translated

__all__ = ["CAPABILITIES", "DockerBackend"]

CAPABILITIES = frozenset(
    {
        "environment",
        "logs",
        "exit_code",
        "stop",
        "memory_limit",
        "cpu_limit",
        "oom_reporting",
        "stats",
        "user",
        "mounts",
        "labels",
        "security",
    }
)

#: seconds allowed for an ordinary API call (not for ``wait``, which has its own timeout)
DEFAULT_TIMEOUT = 60.0
#: connections kept per engine: one per concurrently supervising worker thread, with room
DEFAULT_POOL_SIZE = 32


class DockerBackend:
    """Runs actor containers on a Docker Engine (``base_url``: ``unix:///run/docker.sock``,
    ``tcp://host:2375``...). The client is created on first use and shared by all threads."""

    name = "docker"
    capabilities = CAPABILITIES

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_pool_size: int = DEFAULT_POOL_SIZE,
        api_version: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.location = base_url
        self.timeout = timeout
        self.max_pool_size = max_pool_size
        self.api_version = api_version
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DockerBackend({self.base_url!r})"

    # -- client ------------------------------------------------------------------------------

    @property
    def _api(self) -> Any:
        """The shared ``docker.APIClient`` (its constructor asks the daemon for its API version)."""
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    import docker

                    with translated("connect", self.base_url):
                        client = docker.APIClient(
                            base_url=self.base_url,
                            version=self.api_version or "auto",
                            timeout=self.timeout,
                            max_pool_size=self.max_pool_size,
                        )
                    self._client = client
        return client

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
            if not self._api.ping():
                raise BackendUnavailable(f"docker at {self.base_url} did not answer the ping")

    def image_exists(self, image: str) -> bool:
        import docker.errors

        with translated("inspect image", self.base_url, image):
            try:
                self._api.inspect_image(image)
            except docker.errors.NotFound:
                return False
            return True

    def ensure_image(self, image: str) -> None:
        if self.image_exists(image):
            return
        import docker.errors

        repo, tag = split_image(image)
        with translated("pull image", self.base_url, image):
            problem = ""
            try:
                # errors after the pull started arrive as {"error": ...} lines in a 200 stream
                for line in self._api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                    if isinstance(line, dict) and line.get("error"):
                        problem = str(line["error"]).strip()
            except docker.errors.APIError as exc:
                problem = explain(exc)
        if problem or not self.image_exists(image):
            raise ImageNotFound(
                f"image {image!r} is not present on docker at {self.base_url} and could not be pulled: "
                f"{problem or 'the pull ended without the image'}"
            )

    # -- containers --------------------------------------------------------------------------

    def _host_config(self, spec: ContainerSpec) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"privileged": bool(spec.privileged)}
        if spec.mounts:
            kwargs["binds"] = [
                f"{m.host_path}:{m.container_path}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts
            ]
        mem = positive_or_none(spec.mem_limit)
        if mem is not None:
            # memory+swap = memory: no swap, so the OOM killer acts at the limit (the engine
            # default would allow twice the limit on a host with swap)
            kwargs["mem_limit"] = mem
            kwargs["memswap_limit"] = mem
        cpu = cpu_period_quota(spec.cpus_nano)
        if cpu is not None:
            kwargs["cpu_period"], kwargs["cpu_quota"] = cpu
        if spec.network:
            kwargs["network_mode"] = spec.network
        if spec.no_new_privileges:
            kwargs["security_opt"] = ["no-new-privileges"]
        if spec.cap_drop:
            kwargs["cap_drop"] = list(spec.cap_drop)
        pids = positive_or_none(spec.pids_limit)
        if pids is not None:
            kwargs["pids_limit"] = pids
        return self._api.create_host_config(**kwargs)

    def start(self, spec: ContainerSpec) -> ContainerRef:
        api = self._api
        with translated("create container", self.base_url, spec.image):
            created = api.create_container(
                spec.image,
                environment=env_list(spec.environment),
                labels=dict(spec.labels),
                name=spec.name,
                user=spec.user or None,
                # a named network is attached through NetworkMode alone
                host_config=self._host_config(spec),
            )
        cid = created["Id"]
        with translated("start container", self.base_url, spec.image):
            try:
                api.start(cid)
            except Exception:
                self._discard(cid)
                raise
        return self._ref(cid, spec.name, spec.labels)

    def _discard(self, cid: str) -> None:
        """Remove a container that failed to start, ignoring errors (it is an error path)."""
        try:
            self._api.remove_container(cid, force=True)
        except Exception:
            pass

    def wait(self, ref: ContainerRef, timeout: float | None = None) -> ExitInfo | None:
        api = self._api
        with translated("wait for container", self.base_url):
            if timeout is not None and timeout <= 0:
                state = api.inspect_container(ref.id)["State"]
                if state.get("Running") or state.get("Status") in ("created", "restarting", "paused"):
                    return None
                return exit_info(docker_state(state))
            try:
                result = api.wait(ref.id, timeout=timeout)
            except Exception as exc:
                if is_timeout(exc):
                    return None
                raise
            code = result.get("StatusCode")
            try:
                state = api.inspect_container(ref.id)["State"]
            except Exception as exc:
                if not is_not_found(exc):  # removed meanwhile: the wait result is all there is
                    raise
                state = {"Status": "removed", "ExitCode": code}
        return exit_info(docker_state(state), exit_code=code)

    def logs(self, ref: ContainerRef) -> bytes:
        api = self._api
        with translated("read logs", self.base_url):
            # docker-py's public logs() inspects the container first (to learn whether it has a
            # TTY); ours never do, so read the multiplexed stream directly.
            url = api._url("/containers/{0}/logs", ref.id)
            response = api._get(url, params={"stdout": 1, "stderr": 1, "timestamps": 0, "follow": 0})
            return join_log_frames(api._result(response, binary=True))

    def stats(self, ref: ContainerRef) -> RuntimeStats | None:
        with translated("read stats", self.base_url):
            try:
                # one-shot: one sample at once instead of two samples one second apart
                sample = self._api.stats(ref.id, stream=False, one_shot=True)
            except Exception as exc:
                if is_not_found(exc):
                    return None
                raise
        if not sample or str(sample.get("read", "")).startswith("0001-"):
            return None  # the engine's zero sample for a container that is not running
        cpu = ((sample.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0
        networks = sample.get("networks") or {}
        rx = sum(int((n or {}).get("rx_bytes") or 0) for n in networks.values())
        memory = (sample.get("memory_stats") or {}).get("usage") or 0
        return RuntimeStats(cpu_ns=int(cpu), io_bytes=rx, memory_bytes=int(memory))

    def stop(self, ref: ContainerRef, grace: float = 10.0) -> None:
        with translated("stop container", self.base_url):
            try:
                # docker-py sets the HTTP timeout to its own timeout + the grace period
                self._api.stop(ref.id, timeout=stop_timeout(grace))
            except Exception as exc:
                if is_not_found(exc):
                    return
                raise

    def remove(self, ref: ContainerRef) -> None:
        import docker.errors

        with translated("remove container", self.base_url):
            for attempt in range(5):
                try:
                    self._api.remove_container(ref.id, force=True)
                    return
                except docker.errors.NotFound:
                    return
                except docker.errors.APIError as exc:
                    text = explain(exc).lower()
                    if "already in progress" in text:
                        return
                    # the engine reports "device or resource busy" while a mount is still held
                    if "busy" not in text or attempt == 4:
                        raise ContainerFailed(
                            f"remove container failed on docker at {self.base_url}: {explain(exc)}"
                        ) from exc
                    time.sleep(0.1 * (attempt + 1))

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        with translated("list containers", self.base_url):
            found = self._api.containers(
                all=True, filters={"label": label_filters(labels)} if labels else None
            )
        refs = []
        for item in found:
            names = item.get("Names") or []
            name = names[0].lstrip("/") if names else None
            refs.append(self._ref(item["Id"], name, item.get("Labels") or {}))
        return refs
