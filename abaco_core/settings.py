"""One typed settings object, filled from ``ABACO_*`` environment variables and an optional
TOML file (``ABACO_CONFIG``). Precedence, lowest first: defaults, the TOML file, the
environment, explicit overrides (command-line flags).

Plugins declare their own keys through the ``abaco_settings`` hook; their values live in
:attr:`Settings.plugin` under the same names.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

__all__ = [
    "SettingSpec",
    "Settings",
    "is_loopback",
    "load_settings",
    "parse_bool",
    "parse_list",
    "redact_url",
]

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def parse_bool(value: Any) -> bool:
    """The tolerant boolean parser of the API and the settings (spec §2.3)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_list(value: Any) -> list[str]:
    """A comma-separated string (or a TOML list) → its non-empty, stripped items."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` only accepts connections from this machine. A name other
    than ``localhost`` is not trusted to stay loopback; ``0.0.0.0`` and ``::`` are every
    interface."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """A URL fit for messages and logs: the password of its user part and the values of
    its ``password`` query parameters replaced by ``***`` (what a URL that does not parse
    could hide, its whole authority and the rest, too)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        scheme, sep, _rest = url.partition("://")
        return f"{scheme}://***" if sep else "***"
    user, at, host = parts.netloc.rpartition("@")
    head, mark, rest = url.partition("?")
    if at and ":" in user:
        head = head.replace(parts.netloc, f"{user.split(':', 1)[0]}:***@{host}", 1)
    if mark:
        query, hash_, fragment = rest.partition("#")
        query = "&".join(
            f"{item.split('=', 1)[0]}=***" if "password" in item.split("=", 1)[0].lower() else item
            for item in query.split("&")
        )
        rest = query + hash_ + fragment
    return head + mark + rest


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "abaco")


@dataclass(frozen=True)
class SettingSpec:
    """A settings key a plugin declares: ``ABACO_<NAME>`` in the environment, ``name`` in TOML."""

    name: str
    default: Any
    help: str = ""
    parse: Callable[[Any], Any] = str


@dataclass
class Settings:
    """Every knob of the core. Field names are the lower-case ``ABACO_*`` names."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = field(default_factory=_default_data_dir)
    backend: str = "auto"
    #: may hold a password: kept out of ``repr``; show :attr:`display_database_url`
    database_url: str | None = field(default=None, repr=False)
    #: ``auto``: the cluster queue when its plugin finds its settings (``ABACO_REDIS_URL``), else ``local``
    queue: str = "auto"
    tenant: str = "local"
    user: str = "local"
    api_server: str | None = None
    case: str = "snake"
    version: str = "0.1.0"
    #: the queues this process's workers serve (``abaco worker --queue``)
    host_queues: list[str] = field(default_factory=lambda: ["default"])
    #: the queue names an actor's ``queue`` field may take (``ABACO_QUEUES``); unset: the
    #: ``host_queues``. A cluster whose workers serve several queues lists them all here
    queues: list[str] = field(default_factory=list)
    host_id: str = "0"
    host_ip: str = "127.0.0.1"
    init_count: int = 1
    max_workers_per_actor: int = 20
    max_workers_per_host: int = 100
    max_run_time: int = -1
    mem_limit: str = "-1"
    max_cpus: int = -1
    log_ex: int = 43200
    log_ex_limit: int = 86400
    max_log_length: int = 1_000_000
    max_content_length: int = 500_000_000
    leave_containers: bool = False
    container_network: str | None = None
    actor_uid: str | None = None
    actor_gid: str | None = None
    shutdown_grace: float = 10.0
    stop_grace: float = 10.0
    log_poll_interval: float = 5.0
    results_ttl: int = 3600
    sync_timeout: float = 300.0
    sync_max_queued: int = 3
    cap_drop: list[str] = field(
        default_factory=lambda: ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETFCAP"]
    )
    pids_limit: int = 4096
    no_new_privileges: bool = True
    global_mounts: list[str] = field(default_factory=list)
    privileged_mounts: list[str] = field(default_factory=list)
    housekeeping_interval: float = 60.0
    cron_interval: float = 10.0
    autoscale_interval: float = 1.0
    worker_idle_timeout: float = 60.0
    #: Fernet key(s) for secret configs, comma-separated: the first encrypts, all decrypt
    #: (rotation). Unset: the embedded mode keeps a generated key in the data dir (docs/api.md)
    encryption_key: str | None = field(default=None, repr=False)
    #: seconds one webhook POST may take in all (connecting, sending, the answer's headers)
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_retry_base: float = 2.0
    webhook_retry_max: float = 300.0
    webhook_concurrency: int = 4
    #: webhooks may target loopback, link-local, private and multicast addresses; unset: only
    #: with ``none`` authentication (the single-user embedded mode), where every caller is
    #: the machine's user anyway
    webhook_allow_private: bool | None = None
    #: how often the events agent looks for due deliveries (it is also woken at once by new
    #: events); 0 disables the agent in this process
    events_interval: float = 1.0
    #: authentication methods tried in order (``none``, ``token``, ``jwt``, or a plugin's);
    #: empty: ``none`` on a loopback address, ``token`` on any other (see ``auth_methods``)
    auth: list[str] = field(default_factory=list)
    #: let ``none`` (everyone is an admin) serve a non-loopback address
    allow_public_none: bool = False
    #: the basic role string (spec §3.2, upstream ``[web] user_role``)
    user_role: str = "Internal/abaco-user"
    #: ``x-nonce`` authenticates requests no configured method recognised (spec §3.6, Q11)
    accept_nonce: bool = True
    #: ``use_container_uid`` is a restricted field (spec §3.5, Q10)
    use_tas_uid: bool = False
    #: seconds between two heartbeats of a worker (its ``last_health_check_time``)
    heartbeat_interval: float = 5.0
    #: a worker whose last heartbeat is older than this is declared dead (spec §7.7)
    worker_dead_after: float = 30.0
    #: a worker record not READY this long after it was requested is removed
    spawn_timeout: float = 300.0
    #: seconds between two health passes (scheduler) and orphan sweeps (worker hosts)
    health_interval: float = 10.0
    #: plugin-declared values (URLs with passwords among them): kept out of ``repr``
    plugin: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{os.path.join(self.data_dir, 'abaco.db')}"

    @property
    def display_database_url(self) -> str:
        """The database URL with its passwords hidden, for messages and logs."""
        return redact_url(self.resolved_database_url)

    @property
    def resolved_api_server(self) -> str:
        if self.api_server:
            return self.api_server.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def actor_queues(self) -> list[str]:
        """The queue names actors may use."""
        return list(self.queues) or list(self.host_queues)

    @property
    def auth_methods(self) -> list[str]:
        """The configured authentication methods, or the default for the listening address:
        the embedded single-user ``none`` only on loopback, API tokens anywhere else."""
        if self.auth:
            return [name.lower() for name in self.auth]
        return ["none"] if is_loopback(self.host) else ["token"]

    @property
    def webhook_private_allowed(self) -> bool:
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return "none" in self.auth_methods

    def get(self, name: str, default: Any = None) -> Any:
        """A plugin-declared value by name."""
        return self.plugin.get(name, default)

    def validate(self) -> Settings:
        if self.case not in ("snake", "camel"):
            raise ConfigError(f"ABACO_CASE must be 'snake' or 'camel', not {self.case!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"ABACO_PORT must be a TCP port, not {self.port}")
        if not self.host_queues:
            raise ConfigError("ABACO_HOST_QUEUES must name at least one queue")
        if self.heartbeat_interval <= 0 or self.worker_dead_after <= 2 * self.heartbeat_interval:
            raise ConfigError(
                "ABACO_WORKER_DEAD_AFTER must be more than twice ABACO_HEARTBEAT_INTERVAL (and that positive), "
                f"not {self.worker_dead_after} and {self.heartbeat_interval}"
            )
        return self


#: settings that are no longer read, and what took their place: refused, so a deployment
#: that relies on one learns it at start rather than from its receivers
_RETIRED = {
    "webhook_secret": "ABACO_WEBHOOK_SECRET is no longer used: every actor has its own webhook signing "
    "secret (GET /actors/{id}/webhook/secret); unset it and give each receiver its actor's secret",
}


def _field_parser(f: dataclasses.Field[Any]) -> Callable[[Any], Any]:
    kind = str(f.type)
    if kind.startswith("bool"):
        return parse_bool
    if kind.startswith("int"):
        return int
    if kind.startswith("float"):
        return float
    if kind.startswith("list"):
        return parse_list
    return lambda v: None if v in ("", None) and "None" in kind else str(v)


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    plugin_specs: Iterable[SettingSpec] = (),
    config_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Build :class:`Settings` from defaults, TOML file, environment and overrides."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = config_file or env.get("ABACO_CONFIG")
    if path:
        try:
            raw.update(tomllib.loads(Path(path).read_text()))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    specs = {spec.name: spec for spec in plugin_specs}
    known = {f.name: f for f in dataclasses.fields(Settings) if f.name != "plugin"}
    for key, value in env.items():
        if key.startswith("ABACO_"):
            name = key[len("ABACO_") :].lower()
            if name in known or name in specs or name in _RETIRED:
                raw[name] = value
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
    retired = sorted(raw.keys() & _RETIRED.keys())
    if retired:
        raise ConfigError(_RETIRED[retired[0]])

    values: dict[str, Any] = {}
    plugin: dict[str, Any] = {spec.name: spec.default for spec in specs.values()}
    for name, value in raw.items():
        try:
            if name in known:
                values[name] = _field_parser(known[name])(value)
            elif name in specs:
                plugin[name] = specs[name].parse(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid value for ABACO_{name.upper()}: {value!r} ({exc})") from exc
    return Settings(**values, plugin=plugin).validate()
