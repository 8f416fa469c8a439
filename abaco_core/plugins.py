"""Building the plugin manager and choosing components by name."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .errors import ConfigError, PluginConflictError, PluginError
from .records import AuthMethodInfo, ContainerBackendInfo, QueueInfo, StoreInfo
from .settings import Settings, SettingSpec, load_settings

__all__ = [
    "DEFAULT_PLUGINS",
    "auth_methods",
    "build_plugin_manager",
    "choose_backend",
    "choose_queue",
    "choose_store",
    "registry",
    "settings_from",
]

log = logging.getLogger(__name__)

#: Modules of the core registered before the entry points: ordinary plugins.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "abaco_core.builtin.local_queue",
    "abaco_core.builtin.cron_abaco",
    "abaco_core.builtin.cron_standard",
)

T = TypeVar("T", ContainerBackendInfo, StoreInfo, QueueInfo, AuthMethodInfo)


def build_plugin_manager(
    *, load_entrypoints: bool = True, extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    """A plugin manager with the specs, the built-in plugins and the ``abaco`` entry points.

    ``ABACO_DISABLED_PLUGINS`` (comma-separated entry-point names) blocks plugins.
    """
    import importlib

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.AbacoSpecs)
    for name in os.environ.get("ABACO_DISABLED_PLUGINS", "").split(","):
        if name.strip():
            pm.set_blocked(name.strip())
    for modname in DEFAULT_PLUGINS:
        if not pm.is_blocked(modname):
            pm.register(importlib.import_module(modname), name=modname)
    for plugin in extra:
        pm.register(plugin)
    if load_entrypoints:
        _load_entrypoints(pm)
    pm.check_pending()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> None:
    """Register every ``abaco`` entry point; one that fails to import is logged and skipped,
    so a broken third-party plugin cannot take the platform down."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=hookspecs.PROJECT):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # any import failure of a plugin
            log.warning("abaco plugin %r (%s) failed to load and is skipped: %s", ep.name, ep.value, exc)
            continue
        if pm.is_registered(plugin):
            continue
        pm.register(plugin, name=ep.name)


def settings_from(pm: pluggy.PluginManager, **overrides: Any) -> Settings:
    """Settings with every plugin's declared keys."""
    specs: list[SettingSpec] = [s for group in pm.hook.abaco_settings() for s in group or ()]
    return load_settings(overrides=overrides, plugin_specs=specs)


def registry(records: Iterable[Iterable[T]], kind: str) -> dict[str, T]:
    """Flatten collect-all results into a name → record map; a duplicate name is an error."""
    out: dict[str, T] = {}
    for group in records:
        for record in group or ():
            if record.name in out:
                raise PluginConflictError(f"two plugins register a {kind} named {record.name!r}")
            out[record.name] = record
    return out


def backends(pm: pluggy.PluginManager) -> dict[str, ContainerBackendInfo]:
    return registry(pm.hook.abaco_container_backends(), "container backend")


def auth_methods(pm: pluggy.PluginManager) -> dict[str, AuthMethodInfo]:
    return registry(pm.hook.abaco_auth_methods(), "authentication method")


def choose_backend(pm: pluggy.PluginManager, settings: Settings) -> ContainerBackendInfo:
    """The backend named by ``settings.backend``; for ``auto`` the first (by priority) whose
    probe finds its engine."""
    known = backends(pm)
    if settings.backend != "auto":
        try:
            return known[settings.backend]
        except KeyError:
            raise ConfigError(
                f"unknown container backend {settings.backend!r}; installed: {', '.join(sorted(known)) or 'none'}"
            ) from None
    for info in sorted(known.values(), key=lambda i: (i.priority, i.name)):
        if info.probe is not None and info.probe(settings):
            return info
    raise ConfigError(
        "no container engine found: start Docker or the Podman service, or choose one with "
        f"--backend / ABACO_BACKEND (installed backends: {', '.join(sorted(known)) or 'none'})"
    )


def choose_store(pm: pluggy.PluginManager, settings: Settings) -> StoreInfo:
    """The store serving the scheme of the database URL."""
    url = settings.resolved_database_url
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    known = registry(pm.hook.abaco_stores(), "store")
    for info in known.values():
        if scheme in info.schemes:
            return info
    if not known:
        raise PluginError("no store plugin is installed")
    raise ConfigError(f"no store serves database URLs of scheme {scheme!r}")


def choose_queue(pm: pluggy.PluginManager, settings: Settings) -> QueueInfo:
    """The queue named by ``settings.queue``; for ``auto`` the first (by priority) whose
    probe claims the settings (the local queue claims any)."""
    known = registry(pm.hook.abaco_queues(), "queue")
    if settings.queue == "auto":
        for info in sorted(known.values(), key=lambda i: (i.priority, i.name)):
            if info.probe is not None and info.probe(settings):
                return info
        raise ConfigError(f"no queue claims these settings; installed: {', '.join(sorted(known)) or 'none'}")
    try:
        return known[settings.queue]
    except KeyError:
        raise ConfigError(
            f"unknown queue {settings.queue!r}; installed: {', '.join(sorted(known)) or 'none'}"
        ) from None
