"""The whole plugin contract of abaco.

Plugins are modules (or objects) with functions marked ``@abaco_core.hookimpl`` and named
after the specs below. Third-party plugins are found through the ``abaco`` entry-point
group; the in-tree plugins register the same way.

Rules (DESIGN.md, decision 1): *hooks register, objects act*. Backends, stores and queues
are contributed by collect-all hooks as named records and chosen by name from settings
(a duplicate name is an error). ``firstresult`` hooks are only for "claim it if you
understand it" questions. Every hook is called with keyword arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .models import Actor, Execution, Message
    from .records import (
        AuthMethodInfo,
        ContainerBackendInfo,
        ContainerRef,
        ContainerSpec,
        ExitInfo,
        QueueInfo,
        StoreInfo,
    )
    from .settings import Settings, SettingSpec

__all__ = ["AbacoSpecs", "PROJECT", "hookimpl", "hookspec"]

PROJECT = "abaco"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class AbacoSpecs:
    """Hook specifications. Registration hooks are plural nouns; events are
    ``abaco_<noun>_<past verb>``; decisions are ``abaco_<verb>_<noun>``."""

    # -- registration (collect all) -------------------------------------------------

    @hookspec
    def abaco_settings(self) -> Iterable[SettingSpec]:
        """Declare the settings keys a plugin reads (``ABACO_<NAME>`` / TOML ``name``).

        Collect-all. Example::

            @hookimpl
            def abaco_settings():
                return [SettingSpec("docker_url", None, "Docker Engine URL")]
        """

    @hookspec
    def abaco_container_backends(self) -> Iterable[ContainerBackendInfo]:
        """Contribute container backends as named records with a lazy factory.

        Collect-all; two records with the same name raise ``PluginConflictError``.
        """

    @hookspec
    def abaco_stores(self) -> Iterable[StoreInfo]:
        """Contribute stores (chosen by the scheme of ``ABACO_DATABASE_URL``). Collect-all."""

    @hookspec
    def abaco_queues(self) -> Iterable[QueueInfo]:
        """Contribute queues (chosen by ``ABACO_QUEUE``). Collect-all."""

    @hookspec
    def abaco_auth_methods(self) -> Iterable[AuthMethodInfo]:
        """Contribute authentication methods as named records with a factory. Collect-all;
        a duplicate name raises ``PluginConflictError``.

        ``ABACO_AUTH`` names the methods to use, tried in order for every request. The factory
        gets the settings and the store and returns an :class:`~abaco_core.interfaces.AuthMethod`,
        whose ``authenticate(AuthRequest) -> Identity | None`` recognises a caller. Example::

            @hookimpl
            def abaco_auth_methods():
                return [AuthMethodInfo("header", lambda settings, store: HeaderAuth(settings))]

        A method that lets callers in without a credential of theirs sets ``ambient=True``:
        the API then serves only requests from this machine (see ``AuthMethodInfo``).
        """

    # -- decisions (first result wins) ------------------------------------------------

    @hookspec(firstresult=True)
    def abaco_parse_schedule(self, expression: str, timezone: str | None) -> Any | None:
        """Claim a schedule string: return a schedule object (with ``next_after(t)``) if this
        plugin understands ``expression``, else ``None``. First result wins; when nobody
        claims it the API answers ``InvalidSchedule``."""

    @hookspec(firstresult=True)
    def abaco_route_execution(self, actor: Actor, execution: Execution) -> str | None:
        """Choose the queue name an execution goes to; ``None`` means the actor's ``queue``."""

    # -- container preparation (all) ----------------------------------------------------

    @hookspec
    def abaco_prepare_container(
        self, spec: ContainerSpec, actor: Actor, execution: Execution, message: Message
    ) -> None:
        """Adjust the mutable ``spec`` (environment, mounts, labels, limits) before a run."""

    # -- events (all) --------------------------------------------------------------------

    @hookspec
    def abaco_actor_status_changed(self, actor: Actor, previous: str) -> None:
        """An actor's status changed (``READY``, ``ERROR``...)."""

    @hookspec
    def abaco_execution_queued(self, execution: Execution) -> None:
        """An execution was accepted and queued."""

    @hookspec
    def abaco_execution_started(self, execution: Execution, container: ContainerRef) -> None:
        """An execution's container started."""

    @hookspec
    def abaco_execution_finished(self, execution: Execution, exit_info: ExitInfo | None) -> None:
        """An execution reached ``COMPLETE`` or ``ERROR`` (``exit_info`` is ``None`` for ``ERROR``)."""

    # -- lifecycle (all) -------------------------------------------------------------------

    @hookspec
    def abaco_startup(self, settings: Settings) -> None:
        """The platform started with these settings."""

    @hookspec
    def abaco_shutdown(self) -> None:
        """The platform is stopping."""
