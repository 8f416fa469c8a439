"""The platform: the store, queue and backend chosen by the settings, and the operations the
API performs on them. One object, built by :func:`build_platform`, passed in (no globals)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pluggy

from . import aliases
from .access import Identity, Level
from .actor_fields import ActorFields
from .cascade import delete_actor_references
from .clock import Clock, utcnow
from .configs import ConfigService
from .counters import count_actor_created, init_actor_counter
from .cron import CRON_MESSAGE, CronAgent
from .crypto import SecretBox
from .environment import JSON, TEXT
from .errors import (
    AbacoError,
    ActorNotFound,
    Conflict,
    ExecutionNotFound,
    InvalidRequest,
    NotFound,
    ObjectNotFound,
)
from .events import EXECUTOR, EventAgent, EventProducer, WebhookSecrets
from .events.webhooks import check_webhook
from .ids import is_hashid, new_id
from .interfaces import CommandChannel, ContainerBackend, Queue, Store
from .links import check_link
from .messages import ParsedMessage
from .models import Actor, ActorStatus, Execution, ExecutionStatus, Message, Worker, WorkerStatus
from .plugins import build_plugin_manager, choose_backend, choose_queue, choose_store
from .records import ContainerRef, ExecutionTotals
from .runtime import health
from .runtime.commands import LocalCommands
from .runtime.pool import WorkerPool
from .runtime.signals import ExecutionSignals
from .schedules import parse_schedule
from .settings import Settings

__all__ = ["ALL_ROLES", "Platform", "build_platform", "parse_mounts"]

#: what a process does: ``abaco up`` is all three; ``abaco api``/``worker``/``scheduler`` one each
ALL_ROLES = frozenset({"api", "worker", "scheduler"})

log = logging.getLogger(__name__)


def parse_mounts(entries: list[str], actor: Actor) -> list[dict[str, str]]:
    """``host_path:container_path:mode`` entries with ``{username}``, ``{tenant_id}`` and
    ``{tasdir}`` tokens (spec §8.9); malformed entries and ``{tasdir}`` entries of an actor
    without one are skipped; the mode is honoured (Q19), read-only unless ``rw``."""
    mounts = []
    for entry in entries:
        parts = entry.strip().split(":")
        if len(parts) != 3 or not parts[0] or not parts[1] or parts[2] not in ("ro", "rw"):
            log.warning("skipping malformed mount %r (host_path:container_path:ro|rw)", entry)
            continue
        if "{tasdir}" in entry and not actor.tasdir:
            continue
        values = {"username": actor.owner, "tenant_id": actor.tenant, "tasdir": actor.tasdir or ""}
        host, container = (
            p.replace("{username}", values["username"])
            .replace("{tenant_id}", values["tenant_id"])
            .replace("{tasdir}", values["tasdir"])
            for p in parts[:2]
        )
        mounts.append({"host_path": host, "container_path": container, "mode": parts[2]})
    return mounts


_STOPPING = (WorkerStatus.SHUTDOWN_REQUESTED, WorkerStatus.SHUTTING_DOWN, WorkerStatus.ERROR)


class Platform:
    def __init__(
        self,
        settings: Settings,
        pm: pluggy.PluginManager,
        store: Store,
        queue: Queue,
        backend: ContainerBackend | None,
        clock: Clock = utcnow,
        commands: CommandChannel | None = None,
    ) -> None:
        self.settings = settings
        self.pm = pm
        self.store = store
        self.queue = queue
        #: ``None`` in a process that runs no container (``abaco api``, ``abaco scheduler``)
        self.backend = backend
        self.clock = clock
        self.commands: CommandChannel = commands or LocalCommands()
        #: labels this platform's containers so a restart can find its orphans
        self.instance_id = hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:16]
        self.pool = WorkerPool(self)
        if isinstance(self.commands, LocalCommands):
            self.commands.bind(self.pool.handle_command)
        self.roles: frozenset[str] = frozenset()
        self.signals = ExecutionSignals()
        self.cron = CronAgent(self)
        self.secrets = SecretBox(settings)
        self.configs = ConfigService(store, self.secrets)
        self.webhook_secrets = WebhookSecrets(store, self.secrets)
        #: delivers events; the producer (hook implementations) stores them
        self.events = EventAgent(self)
        self._event_producer = EventProducer(self)
        pm.register(self._event_producer, name=f"abaco.events.{self.events.name}")
        self._housekeeper: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reaper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reaper")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, roles: frozenset[str] | set[str] = ALL_ROLES) -> None:
        """Serve the given roles. All of them (``abaco up``) first recovers from whatever the
        previous process left, as the only process of the platform; a cluster process never
        does, since the others go on (the scheduler's health pass handles the dead ones).
        Webhook and link deliveries (the events agent) run with the scheduler."""
        roles = frozenset(roles)
        unknown = roles - ALL_ROLES
        if unknown or not roles:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        if "worker" in roles and self.backend is None:
            raise ValueError("a worker process needs a container backend")
        self.roles = roles
        self.secrets.check()
        self.store.migrate()
        init_actor_counter(self.store)
        if roles == ALL_ROLES:
            self.recover()
        if "scheduler" in roles:
            if roles != ALL_ROLES:
                self.requeue_submitted()
            self._thread(self._housekeeping_loop, "housekeeping")
            if self.settings.cron_interval > 0:
                self.cron.start(self.settings.cron_interval)
            if self.settings.events_interval > 0:
                self.events.start(self.settings.events_interval)
            if self.settings.autoscale_interval > 0:
                self._thread(self._autoscale_loop, "autoscaler")
            if self.settings.health_interval > 0:
                self._thread(self._health_loop, "health")
        if "worker" in roles:
            self.pool.start_heartbeats()
            if roles != ALL_ROLES:
                self.sweep_host()
            if self.settings.health_interval > 0:
                self._thread(self._sweep_loop, "host-sweep")
            if roles == ALL_ROLES and self.commands.distributed:
                # one process, cluster queue: it consumes its own spawner commands too
                self._thread(self.serve_commands, "commands")
        self.pm.hook.abaco_startup(settings=self.settings)

    def serve_commands(self) -> None:
        """Consume the spawner commands of ``ABACO_HOST_QUEUES`` until the platform stops
        (blocks; ``abaco worker`` runs it in its main thread)."""
        self.commands.serve(self.settings.host_queues, self.pool.handle_command, stop=self._stopping)

    def _thread(self, target: Any, name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def _health_loop(self) -> None:
        # heartbeats are judged from when this scheduler could see them: after its start, or
        # after an outage of the store (the workers could not write them either)
        since = self.clock()
        while not self._stopping.wait(self.settings.health_interval):
            try:
                if since is None:
                    since = self.clock()
                self.health_pass(since)
            except AbacoError as exc:
                since = None
                log.warning("health pass failed: %s", exc)

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.settings.health_interval):
            try:
                self.sweep_host()
            except AbacoError as exc:
                log.warning("orphan sweep failed: %s", exc)

    def _autoscale_loop(self) -> None:
        while not self._stopping.wait(self.settings.autoscale_interval):
            try:
                self.autoscale()
            except AbacoError as exc:
                log.warning("autoscaler pass failed: %s", exc)

    def _housekeeping_loop(self) -> None:
        while not self._stopping.wait(self.settings.housekeeping_interval):
            try:
                self.housekeeping()
            except AbacoError as exc:
                log.warning("housekeeping failed: %s", exc)

    def recover(self) -> None:
        """Make the records match reality after a restart (or a crash): workers of the dead
        process are gone, its containers are removed, executions it was running go back to
        the queue, and every accepted message is queued (DESIGN.md, decision 6)."""
        assert self.backend is not None
        for ref in self.backend.list_containers({"abaco.platform": self.instance_id}):
            try:
                self.backend.remove(ref)
            except AbacoError as exc:
                log.warning("could not remove orphaned container %s: %s", ref.id, exc)
        for worker in self.store.list_workers(None):
            self.store.delete_worker(worker.tenant, worker.actor_id, worker.id)
        shutil.rmtree(os.path.join(self.settings.data_dir, "run"), ignore_errors=True)
        self.queue.recover()
        pending = self.store.executions_with_status([ExecutionStatus.SUBMITTED, ExecutionStatus.RUNNING])
        actors: dict[tuple[str, str], Actor] = {}
        for execution in pending:
            if execution.status == ExecutionStatus.RUNNING:
                again = execution.replace(status=ExecutionStatus.SUBMITTED, worker_id=None, start_time=None)
                self.store.update_execution(again, expected=[ExecutionStatus.RUNNING])
            self.queue.put(f"{execution.tenant}_{execution.actor_id}", execution.id)
            key = (execution.tenant, execution.actor_id)
            if key not in actors:
                try:
                    actors[key] = self.store.get_actor(*key)
                except ActorNotFound:
                    continue
        for actor in self.store.list_actors(None):
            if actor.status == ActorStatus.SHUTTING_DOWN:
                self.finish_delete(actor)
            elif (actor.tenant, actor.id) in actors or (
                actor.status == ActorStatus.SUBMITTED and self.settings.init_count > 0
            ):
                self._ensure_worker(actor)

    def health_pass(self, since: datetime | None = None) -> list[Worker]:
        """Declare dead the workers that stopped heartbeating (see :mod:`.runtime.health`)."""
        return health.health_pass(self, since)

    def sweep_host(self) -> int:
        """Remove this host's containers of workers that no longer exist."""
        return health.sweep_host(self)

    def lose_execution(self, execution: Execution, reason: str) -> Execution:
        """A running execution whose worker is gone: retried per the actor, or ``ERROR``."""
        return health.lose_execution(self, execution, reason)

    def requeue_submitted(self) -> int:
        """Put every ``SUBMITTED`` execution (back) in its inbox: a crash between the store
        write and the queue write, or a Redis that lost data, loses nothing. ``put`` of a
        queued or reserved id changes nothing, and a worker skips a message whose execution
        is already final, so this is safe while workers run."""
        pending = self.store.executions_with_status([ExecutionStatus.SUBMITTED])
        for execution in pending:
            self.queue.put(f"{execution.tenant}_{execution.actor_id}", execution.id)
        return len(pending)

    def stop(self) -> None:
        self._stopping.set()
        self.cron.stop()
        self.pool.shutdown(self.settings.shutdown_grace)
        self.events.stop()
        if self.pm.is_registered(self._event_producer):
            self.pm.unregister(self._event_producer)
        self._reaper.shutdown(wait=True)
        self.pm.hook.abaco_shutdown()
        for component in (self.commands, self.queue, self.store, self.backend):
            if component is None:
                continue
            try:
                component.close()
            except AbacoError as exc:
                log.warning("closing %s: %s", type(component).__name__, exc)

    # -- actors ------------------------------------------------------------------------------

    def resolve_id(self, tenant: str, identifier: str) -> str:
        """The actor id a path identifier names (spec §2.6): a hashid is taken as is (the actor
        may not exist); anything else is an alias of the tenant, replaced by its actor id;
        404 ``Actor with identifier '<x>' not found`` for an unknown alias."""
        if is_hashid(identifier):
            return identifier
        try:
            return self.store.get_object(tenant, aliases.KIND, identifier)["actor_id"]
        except ObjectNotFound:
            raise ActorNotFound(f"Actor with identifier '{identifier}' not found") from None

    def resolve(self, tenant: str, identifier: str) -> Actor:
        """The actor a path identifier (actor id or alias) names (spec §2.6)."""
        actor_id = self.resolve_id(tenant, identifier)
        try:
            return self.store.get_actor(tenant, actor_id)
        except ActorNotFound:
            raise ActorNotFound(f"No actor found with identifier: {identifier}.") from None

    def _check_schedule(self, values: dict[str, Any], previous: Actor | None, now: datetime) -> None:
        """Validate ``cron_schedule`` (spec §9.2) and fix its anchor: a new or changed
        schedule counts from now; an unchanged one keeps its cadence."""
        expression, timezone = values.get("cron_schedule"), values.get("cron_timezone")
        if not expression:
            values["cron_anchor"] = None
            return
        unchanged = previous is not None and (previous.cron_schedule, previous.cron_timezone) == (
            expression,
            timezone,
        )
        anchor = previous.cron_anchor if unchanged and previous.cron_anchor else now
        parse_schedule(self.pm, expression, timezone, anchor, check_past=not unchanged)
        values["cron_anchor"] = anchor

    def register_actor(
        self, fields: ActorFields, *, tenant: str, owner: str, who: Identity | None = None
    ) -> Actor:
        """``who`` is the caller, whose permissions the link check needs (Q12); ``None``
        means the platform itself."""
        values = dict(fields.values)
        values.pop("force", None)
        self._check_link(tenant, values, None, who)
        now = self.clock()
        self._check_schedule(values, None, now)
        actor = Actor(
            tenant=tenant,
            id=new_id(),
            owner=owner,
            status=ActorStatus.SUBMITTED,
            revision=1,
            create_time=now,
            last_update_time=now,
            **values,
        )
        actor = self._apply_identity(actor)
        self.store.create_actor(actor)
        count_actor_created(self.store, tenant)
        # the creator's UPDATE is the only "ownership" there is (spec §3.3)
        self.store.set_permission(tenant, "actor", actor.id, owner, Level.UPDATE.name)
        if self.settings.init_count > 0:
            self._ensure_worker(actor)
        return actor

    def update_actor(self, actor: Actor, fields: ActorFields, who: Identity | None = None) -> Actor:
        values = dict(fields.values)
        force = values.pop("force", False)
        values.pop("name", None)
        if actor.stateless is False and values["stateless"] is True:
            raise InvalidRequest(
                "Invalid actor description: an actor that was not stateless cannot be updated to be stateless."
            )
        self._check_link(actor.tenant, values, actor, who)
        if "cron_on" in fields.supplied and "cron_schedule" not in fields.supplied:
            # the seed document switches a schedule off and on with {"image", "cronOn"} alone:
            # the switch applies to the schedule the actor has
            values["cron_schedule"], values["cron_timezone"] = actor.cron_schedule, actor.cron_timezone
        now = self.clock()
        self._check_schedule(values, actor, now)
        new_revision = values["image"] != actor.image or force
        updated = actor.replace(**values, last_update_time=now)
        if new_revision:
            updated = updated.replace(
                revision=actor.revision + 1, status=ActorStatus.SUBMITTED, status_message=""
            )
        updated = self._apply_identity(updated)
        if not new_revision:
            # what the platform changed since this request read the actor (its spawner set it
            # READY, a worker set it ERROR, an execution updated the state) is kept
            current = self.store.get_actor(actor.tenant, actor.id)
            updated = updated.replace(
                status=current.status, status_message=current.status_message, state=current.state
            )
        self.store.save_actor(updated)
        if new_revision:
            try:
                self.pool.request_worker(updated, stop_existing=True)
            except AbacoError as exc:
                # the old workers leave at their next message; the health pass then gives the
                # actor a worker of the new revision
                log.warning(
                    "could not request a worker for revision %s of %s: %s", updated.revision, actor.id, exc
                )
        return updated

    def delete_actor(self, actor: Actor) -> None:
        shutting = actor.replace(status=ActorStatus.SHUTTING_DOWN)
        self.store.save_actor(shutting)
        self.pool.stop_actor_workers(shutting, halt=True)
        self.finish_delete(shutting)

    def finish_delete(self, actor: Actor) -> None:
        """The rest of a deletion once the actor is ``SHUTTING_DOWN`` (idempotent). The
        actor's record goes last: while it is there, ``SHUTTING_DOWN``, the health pass
        finishes a deletion that an API process could not."""
        self.purge_messages(actor, reason="the actor was deleted")
        # its aliases (with their nonces and permissions), its nonces, its config entries (Q35)
        delete_actor_references(self.store, actor.tenant, actor.id)
        # what a worker still held (a retry waiting, a run being halted) ends too (Q31)
        pending = [ExecutionStatus.SUBMITTED, ExecutionStatus.RUNNING]
        for execution in self.store.list_executions(actor.tenant, actor.id, statuses=pending):
            ended = execution.replace(
                status=ExecutionStatus.ERROR, status_message="Not run: the actor was deleted."
            )
            if self.store.update_execution(ended, expected=pending):
                self.signals.notify(execution.id)
        self.store.delete_permissions(actor.tenant, "actor", actor.id)
        self.store.delete_actor(actor.tenant, actor.id)

    def _check_link(
        self, tenant: str, values: dict[str, Any], actor: Actor | None, who: Identity | None
    ) -> None:
        """``link`` (§10.3, Q12: existence, no self link, EXECUTE on the target, no cycle)
        and ``webhook`` (an http(s) URL)."""
        check_link(self.store, tenant, values.get("link") or "", actor.id if actor else None, who)
        if values.get("webhook"):
            check_webhook(values["webhook"], allow_private=self.settings.webhook_private_allowed)

    def _apply_identity(self, actor: Actor) -> Actor:
        """``uid``/``gid`` (§8.8) and ``mounts`` (§8.9), computed from the settings at every
        registration and update."""
        mounts = parse_mounts(self.settings.global_mounts, actor)
        if actor.privileged:
            mounts += parse_mounts(self.settings.privileged_mounts, actor)
            mounts.append(
                {"host_path": self.backend_socket(), "container_path": "/var/run/docker.sock", "mode": "rw"}
            )
        if actor.use_container_uid or not self.settings.actor_uid:
            return actor.replace(uid=None, gid=None, mounts=mounts)
        return actor.replace(uid=self.settings.actor_uid, gid=self.settings.actor_gid, mounts=mounts)

    def reap(self, ref: ContainerRef) -> None:
        """Remove a finished container, off the worker's path."""

        def remove() -> None:
            try:
                self.backend.remove(ref)
            except AbacoError as exc:
                log.warning("could not remove container %s: %s", ref.id, exc)

        try:
            self._reaper.submit(remove)
        except RuntimeError:  # shutting down: remove inline
            remove()

    def backend_socket(self) -> str:
        location = self.backend.location if self.backend is not None else ""
        return location[len("unix://") :] if location.startswith("unix://") else "/var/run/docker.sock"

    def set_actor_ready(self, actor: Actor) -> None:
        current = self.store.get_actor(actor.tenant, actor.id)
        if current.status == ActorStatus.READY or current.revision != actor.revision:
            return
        if current.status == ActorStatus.SHUTTING_DOWN:
            return
        previous = current.status
        ready = current.replace(status=ActorStatus.READY, status_message=" ")
        self.store.save_actor(ready)
        self.pm.hook.abaco_actor_status_changed(actor=ready, previous=previous.value)

    def set_actor_error(self, actor: Actor, reason: str) -> None:
        try:
            current = self.store.get_actor(actor.tenant, actor.id)
        except ActorNotFound:
            return
        if current.status == ActorStatus.SHUTTING_DOWN:
            return
        previous = current.status
        failed = current.replace(status=ActorStatus.ERROR, status_message=reason)
        self.store.save_actor(failed)
        self.pool.stop_actor_workers(failed)
        self.pm.hook.abaco_actor_status_changed(actor=failed, previous=previous.value)

    # -- messages ----------------------------------------------------------------------------

    def send_message(
        self,
        actor: Actor,
        parsed: ParsedMessage,
        *,
        executor: str,
        query_metadata: dict[str, str],
        server_metadata: dict[str, str],
    ) -> Execution:
        """Persist the execution and its message, queue it, ensure a worker (spec §6.2)."""
        execution = Execution(
            tenant=actor.tenant,
            actor_id=actor.id,
            id=new_id(),
            executor=executor,
            api_server=self.settings.resolved_api_server,
            status=ExecutionStatus.SUBMITTED,
            message_received_time=self.clock(),
        )
        metadata = dict(query_metadata)
        metadata.update(server_metadata)
        metadata.update(
            {
                "_abaco_execution_id": execution.id,
                "_abaco_Content_Type": parsed.content_type,
                "_abaco_actor_revision": str(actor.revision),
            }
        )
        message = Message(actor.tenant, actor.id, execution.id, parsed.payload, parsed.content_type, metadata)
        self.store.create_execution(execution, message)
        self._enqueue(actor, execution)
        return execution

    def send_cron_message(self, actor: Actor, execution_id: str) -> Execution:
        """Queue the cron message of a slot, behind whatever waits (spec §9.4; a worker is
        ensured, Q30). A second call for the same slot raises ``Conflict``."""
        execution = Execution(
            tenant=actor.tenant,
            actor_id=actor.id,
            id=execution_id,
            executor="cron",
            api_server=self.settings.resolved_api_server,
            status=ExecutionStatus.SUBMITTED,
            message_received_time=self.clock(),
        )
        metadata = {
            "_abaco_execution_id": execution.id,
            "_abaco_Content_Type": TEXT,
            "_abaco_actor_revision": str(actor.revision),
            "Time_msg_queued": f"{time.time():.6f}",
        }
        message = Message(actor.tenant, actor.id, execution.id, CRON_MESSAGE, TEXT, metadata)
        self.store.create_execution(execution, message)
        self._enqueue(actor, execution)
        return execution

    def send_event_message(self, actor: Actor, event: dict[str, Any], execution_id: str) -> Execution:
        """Queue an event for a linked actor (spec §10.2; a worker is ensured, Q30). The id
        comes from the delivery, so delivering the same event again queues nothing new."""
        execution = Execution(
            tenant=actor.tenant,
            actor_id=actor.id,
            id=execution_id,
            executor=EXECUTOR,
            api_server=self.settings.resolved_api_server,
            status=ExecutionStatus.SUBMITTED,
            message_received_time=self.clock(),
        )
        metadata = {
            "_abaco_execution_id": execution.id,
            "_abaco_Content_Type": JSON,
            "_abaco_actor_revision": str(actor.revision),
            "_abaco_username": EXECUTOR,
            "_abaco_api_server": self.settings.resolved_api_server,
        }
        message = Message(actor.tenant, actor.id, execution.id, dict(event), JSON, metadata)
        try:
            self.store.create_execution(execution, message)
        except Conflict:
            # delivered before, perhaps without reaching the queue: put it (idempotent) while
            # it still waits
            try:
                execution = self.store.get_execution(actor.tenant, actor.id, execution_id)
            except ExecutionNotFound:
                return execution
            if execution.status != ExecutionStatus.SUBMITTED:
                return execution
        self._enqueue(actor, execution)
        return execution

    def _enqueue(self, actor: Actor, execution: Execution) -> None:
        try:
            self.queue.put(actor.dbid, execution.id)
        except AbacoError as exc:
            # not accepted (the caller gets the error, a 503): nothing may run it later; it
            # stays visible, dead-lettered with its message, so it can be redriven
            not_queued = execution.replace(
                status=ExecutionStatus.ERROR,
                status_message=f"Not queued: {exc}",
                dead_lettered=True,
                finish_time=self.clock(),
            )
            try:
                self.store.update_execution(not_queued, expected=[execution.status])
            except AbacoError as again:
                log.error("execution %s was not queued and cannot be marked so: %s", execution.id, again)
            raise
        self.pm.hook.abaco_execution_queued(execution=execution)
        if not self.pool.serves(actor) and not self.store.list_workers(actor.tenant, actor.id):
            self._ensure_worker(actor)

    def _ensure_worker(self, actor: Actor) -> None:
        """Ensure a worker, best effort: the message is safe in the queue, and the health
        pass gives every actor with a backlog a worker."""
        try:
            self.pool.ensure_worker(actor)
        except AbacoError as exc:
            log.warning("could not request a worker for actor %s: %s", actor.id, exc)

    def message_count(self, actor: Actor) -> int:
        return self.queue.count(actor.dbid)

    def purge_messages(self, actor: Actor, reason: str = "its message was purged from the mailbox") -> int:
        """Drop waiting messages; their executions end ``ERROR`` (Q31)."""
        purged = self.queue.purge(actor.dbid)
        for execution_id in purged:
            try:
                execution = self.store.get_execution(actor.tenant, actor.id, execution_id)
            except AbacoError:
                continue
            self.store.update_execution(
                execution.replace(status=ExecutionStatus.ERROR, status_message=f"Not run: {reason}."),
                expected=[ExecutionStatus.SUBMITTED],
            )
            self.store.delete_message(actor.tenant, actor.id, execution_id)
            self.signals.notify(execution_id)
        return len(purged)

    # -- executions --------------------------------------------------------------------------

    def totals(self, actor: Actor) -> ExecutionTotals:
        return self.store.execution_totals(actor.tenant, actor.id)

    def log_expiry(self, actor: Actor) -> datetime | None:
        """When logs written now expire (spec §8.7); ``None`` keeps them forever."""
        settings = self.settings
        seconds = actor.log_ex if actor.log_ex is not None else settings.log_ex
        if actor.log_ex is not None and settings.log_ex_limit > 0 and seconds > settings.log_ex_limit:
            seconds = settings.log_ex_limit
        if seconds < 0:
            return None
        return self.clock() + timedelta(seconds=seconds)

    def halt_execution(self, actor: Actor, execution: Execution) -> None:
        if execution.status != ExecutionStatus.RUNNING:
            raise InvalidRequest(
                "Cannot force quit an execution not in RUNNING status. "
                f"Execution was found in status: {execution.status.value}"
            )
        if not self.pool.halt_execution(execution.id) and self.commands.distributed:
            # its worker runs in another process, which looks at its next heartbeat
            self.commands.request_halt(execution.id)

    def pop_result(self, actor: Actor, execution: Execution) -> bytes | None:
        not_before = self.clock() - timedelta(seconds=self.settings.results_ttl)
        return self.store.pop_result(actor.tenant, actor.id, execution.id, not_before)

    def set_state(self, actor: Actor, state: Any) -> Actor:
        if actor.stateless:
            raise NotFound("actor is stateless.")
        updated = actor.replace(state=state)
        self.store.save_actor(updated)
        return updated

    def housekeeping(self) -> None:
        """Expire logs and results (spec §8.6–8.7)."""
        now = self.clock()
        self.store.expire_logs(now)
        self.store.expire_results(now - timedelta(seconds=self.settings.results_ttl))

    def redrive(self, actor: Actor, execution: Execution) -> Execution:
        """Run a dead-lettered execution again, from the back of the queue (our extension)."""
        if not execution.dead_lettered:
            raise InvalidRequest(
                f"Execution {execution.id} is not dead-lettered (status {execution.status.value}); "
                "only dead-lettered executions can be redriven."
            )
        if self.store.get_message(actor.tenant, actor.id, execution.id) is None:
            raise InvalidRequest(
                f"The message of execution {execution.id} is no longer kept; it cannot be redriven."
            )
        again = execution.replace(
            status=ExecutionStatus.SUBMITTED,
            dead_lettered=False,
            attempts=0,
            status_message=f"redriven after {execution.attempts} attempt(s)",
            start_time=None,
            finish_time=None,
            exit_code=None,
            final_state=None,
        )
        if not self.store.update_execution(again, expected=[execution.status]):
            raise InvalidRequest(f"Execution {execution.id} changed meanwhile; try again.")
        self._enqueue(actor, again)
        return again

    def add_workers(self, actor: Actor, num: int) -> tuple[int, int]:
        """Ensure at least ``num`` worker records (spec §5.8): (requested, previously there).
        ``num`` may exceed ``max_workers`` (as upstream), not ``ABACO_MAX_WORKERS_PER_HOST``."""
        if num > self.settings.max_workers_per_host:
            raise InvalidRequest(
                f"Invalid worker description: num must be at most {self.settings.max_workers_per_host}."
            )
        before = len(self.store.list_workers(actor.tenant, actor.id))
        requested = 0
        for _ in range(max(0, num - before)):
            if self.pool.request_worker(actor, max_workers=num):
                requested += 1
        return requested, before

    def stop_worker(self, worker: Worker) -> None:
        self.pool.stop_worker(worker)

    def autoscale(self) -> None:
        """Stateless actors get workers as their backlog grows, up to ``max_workers``, and
        lose the idle ones when their inbox is empty (spec §7.6; the ``sync`` hint keeps one)."""
        idle_after = timedelta(seconds=self.settings.worker_idle_timeout)
        now = self.clock()
        for actor in self.store.list_actors(None):
            if not actor.stateless or actor.status in (ActorStatus.ERROR, ActorStatus.SHUTTING_DOWN):
                continue
            workers = self.store.list_workers(actor.tenant, actor.id)
            live = [w for w in workers if w.status not in _STOPPING]
            backlog = self.queue.count(actor.dbid)
            limit = actor.max_workers or self.settings.max_workers_per_actor
            if backlog > 0:
                idle_or_starting = [w for w in live if w.status != WorkerStatus.BUSY]
                if backlog > len(idle_or_starting) and len(live) < limit:
                    self.pool.request_worker(actor, max_workers=limit)
                continue
            idle = sorted(
                (w for w in live if w.status == WorkerStatus.READY),
                key=lambda w: w.last_execution_time or w.create_time or now,
            )
            if "sync" in actor.hints and idle:
                idle.pop()  # the most recently active one stays
            for worker in idle:
                if now - (worker.last_execution_time or worker.create_time or now) >= idle_after:
                    self.pool.stop_worker(worker)

    def workers(self, actor: Actor) -> list[Worker]:
        return self.store.list_workers(actor.tenant, actor.id)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend.name if self.backend is not None else "none",
            "location": self.backend.location if self.backend is not None else "",
            "store": self.settings.display_database_url,
            "queue": self.queue.name
            + ("" if not self.commands.distributed else f", spawner commands on {self.commands.name}"),
        }


def build_platform(
    settings: Settings,
    pm: pluggy.PluginManager | None = None,
    clock: Clock = utcnow,
    *,
    with_backend: bool = True,
) -> Platform:
    """Choose and build the store, queue (and its command channel) and container backend the
    settings name; ``with_backend=False`` for processes that run no container."""
    pm = pm or build_plugin_manager()
    store = choose_store(pm, settings).factory(settings)
    queue_info = choose_queue(pm, settings)
    queue = queue_info.factory(settings)
    commands = queue_info.commands(settings) if queue_info.commands is not None else None
    backend = None
    if with_backend:
        backend = choose_backend(pm, settings).factory(settings)
        backend.ping()
    return Platform(settings, pm, store, queue, backend, clock, commands)
