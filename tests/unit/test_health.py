"""The health pass, heartbeats and cross-process stop requests, on the in-memory store and
the local queue, with an injected clock and a command channel that records what it sends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore

from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.models import Actor, ActorStatus, Execution, ExecutionStatus, Message, Worker, WorkerStatus
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.records import SpawnCommand
from abaco_core.runtime.worker import WorkerThread
from abaco_core.settings import Settings

T0 = datetime(2030, 5, 17, 9, 20, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingCommands:
    """A distributed command channel whose consumers are elsewhere: it only records."""

    name = "recording"
    distributed = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, SpawnCommand]] = []
        self.halts: set[str] = set()

    def send(self, queue: str, command: SpawnCommand) -> None:
        self.sent.append((queue, command))

    def serve(self, queues, handler, *, stop: threading.Event) -> None:  # pragma: no cover
        stop.wait()

    def request_halt(self, execution_id: str) -> None:
        self.halts.add(execution_id)

    def halt_requested(self, execution_id: str) -> bool:
        return execution_id in self.halts

    def close(self) -> None:
        pass


@pytest.fixture
def platform(tmp_path):
    settings = Settings(
        data_dir=str(tmp_path),
        init_count=0,
        cron_interval=0,
        heartbeat_interval=1,
        worker_dead_after=10,
        spawn_timeout=60,
    )
    p = Platform(
        settings,
        build_plugin_manager(),
        MemoryStore(),
        LocalQueue(str(tmp_path / "q.db")),
        FakeBackend(),
        Clock(T0),
        RecordingCommands(),
    )
    yield p
    p.stop()


def actor(p: Platform, actor_id: str, **fields) -> Actor:
    a = Actor(tenant="t", id=actor_id, image="abaco-test/busybox:1", owner="o", create_time=T0, **fields)
    p.store.create_actor(a)
    return a


def worker(p: Platform, a: Actor, worker_id: str, status=WorkerStatus.READY, seen=T0) -> Worker:
    w = Worker(
        tenant=a.tenant,
        actor_id=a.id,
        id=worker_id,
        status=status,
        create_time=T0,
        last_health_check_time=seen if status not in (WorkerStatus.REQUESTED,) else None,
    )
    assert p.store.add_worker(w)
    return w


def running(p: Platform, a: Actor, w: Worker, execution_id: str) -> Execution:
    """An execution ``w`` runs: queued, reserved by ``w``, RUNNING under ``w``."""
    e = Execution(tenant=a.tenant, actor_id=a.id, id=execution_id, executor="o", message_received_time=T0)
    p.store.create_execution(e, Message(a.tenant, a.id, e.id, "hi", "str"))
    p.queue.put(a.dbid, e.id)
    assert p.queue.reserve(a.dbid, w.id) is not None
    e = e.replace(status=ExecutionStatus.RUNNING, worker_id=w.id, attempts=1, start_time=T0)
    assert p.store.update_execution(e, expected=[ExecutionStatus.SUBMITTED])
    return e


def later(p: Platform, seconds: float) -> None:
    p.clock.now = T0 + timedelta(seconds=seconds)  # type: ignore[attr-defined]


def test_dead_workers_runs_are_retried_or_end_error_and_their_messages_go_back(platform):
    p = platform
    retried, failed, healthy = actor(p, "A", max_retries=1), actor(p, "B"), actor(p, "C")
    w_a, w_b = worker(p, retried, "wa"), worker(p, failed, "wb")
    running(p, retried, w_a, "ea")
    running(p, failed, w_b, "eb")
    w_c = worker(p, healthy, "wc")
    e_c = running(p, healthy, w_c, "ec")

    later(p, 9)  # not yet: nobody is dead
    p.store.save_worker(w_c.replace(last_health_check_time=T0 + timedelta(seconds=9)))
    assert p.health_pass() == []
    later(p, 15)  # wa and wb last beat 15 s ago; wc 6 s ago
    dead = p.health_pass()
    assert sorted(w.id for w in dead) == ["wa", "wb"]

    again = p.store.get_execution("t", "A", "ea")
    assert again.status is ExecutionStatus.SUBMITTED and again.attempts == 1
    assert "worker wa stopped answering" in again.status_message and "retried" in again.status_message
    ended = p.store.get_execution("t", "B", "eb")
    assert ended.status is ExecutionStatus.ERROR and ended.dead_lettered
    assert ended.status_message.startswith("worker wb stopped answering during the execution")
    assert p.store.get_message("t", "B", "eb") is not None  # kept for a redrive
    assert p.store.get_execution("t", "C", "ec") == e_c  # the live worker's run is untouched
    # the messages are back in their inboxes, the dead records gone, live ones kept
    assert p.queue.count(retried.dbid) == 1 and p.queue.count(failed.dbid) == 1
    assert p.queue.count(healthy.dbid) == 0
    assert [w.id for w in p.store.list_workers("t", "C")] == ["wc"]
    # the actors with a backlog got a worker again, through the command channel
    sent = {(c.actor_id, q) for q, c in p.commands.sent}  # type: ignore[attr-defined]
    assert sent == {("A", "default"), ("B", "default")}
    assert {w.status for w in p.store.list_workers("t", "A")} == {WorkerStatus.REQUESTED}


def test_workers_that_never_started_are_removed_after_the_spawn_timeout(platform):
    p = platform
    a = actor(p, "A")
    worker(p, a, "slow", status=WorkerStatus.PULLING_IMAGE)
    later(p, 30)  # heartbeats do not apply before READY
    assert p.health_pass() == [] and [w.id for w in p.store.list_workers("t", "A")] == ["slow"]
    later(p, 61)
    p.health_pass()
    assert p.store.list_workers("t", "A") == []


def test_a_run_whose_worker_record_vanished_is_lost_too(platform):
    p = platform
    a = actor(p, "A")
    w = worker(p, a, "w1")
    running(p, a, w, "e1")
    p.store.delete_worker("t", "A", "w1")
    p.health_pass()
    e = p.store.get_execution("t", "A", "e1")
    assert e.status is ExecutionStatus.ERROR and "worker w1 is gone" in e.status_message
    assert p.queue.count(a.dbid) == 1  # its reservation, held by no worker, was released


def test_stop_requests_travel_through_the_worker_record(platform):
    p = platform
    a = actor(p, "A")
    requested = worker(p, a, "new", status=WorkerStatus.REQUESTED)
    p.stop_worker(requested)  # not started: its record goes, no spawner will start it
    assert p.store.list_workers("t", "A") == []
    p.pool.handle_command(SpawnCommand("t", "A", "new", 1))  # the command arrives late: nothing
    assert p.store.list_workers("t", "A") == []

    w = worker(p, a, "w1")
    thread = WorkerThread(p, w)  # as in the process that owns it (not started here)
    thread.heartbeat()
    assert not thread.stop_requested.is_set()
    assert p.store.get_worker("t", "A", "w1").last_health_check_time == T0
    p.stop_worker(p.store.get_worker("t", "A", "w1"))  # from another process: the record only
    assert p.store.get_worker("t", "A", "w1").status is WorkerStatus.SHUTDOWN_REQUESTED
    later(p, 1)
    thread.heartbeat()  # the owner learns it at its next heartbeat, and its write is refused
    assert thread.stop_requested.is_set()
    stored = p.store.get_worker("t", "A", "w1")
    assert stored.status is WorkerStatus.SHUTDOWN_REQUESTED and stored.last_health_check_time == T0
    p.store.delete_worker("t", "A", "w1")
    thread.heartbeat()  # a deleted record is not an error


def test_a_command_for_a_stopped_worker_deletes_its_record(platform):
    p = platform
    a = actor(p, "A")
    worker(p, a, "w1", status=WorkerStatus.SHUTDOWN_REQUESTED)
    p.pool.handle_command(SpawnCommand("t", "A", "w1", 1))
    assert p.store.list_workers("t", "A") == []


def test_heartbeats_count_from_when_the_scheduler_could_see_them(platform):
    """After a scheduler start or a store outage, workers get a full dead-after period."""
    p = platform
    a = actor(p, "A")
    worker(p, a, "w1")  # last heartbeat at T0
    later(p, 60)
    assert p.health_pass(since=T0 + timedelta(seconds=55)) == []
    assert [w.id for w in p.health_pass(since=T0 + timedelta(seconds=45))] == ["w1"]


def test_a_deletion_left_halfway_is_finished(platform):
    p = platform
    a = actor(p, "A")
    p.store.create_execution(
        Execution(tenant="t", actor_id="A", id="e1", executor="o"), Message("t", "A", "e1", "hi", "str")
    )
    p.queue.put(a.dbid, "e1")
    p.store.save_actor(a.replace(status=ActorStatus.SHUTTING_DOWN))  # the API died here
    p.health_pass()
    assert p.store.list_actors("t") == []
    assert p.queue.count(a.dbid) == 0
    assert p.store.get_execution("t", "A", "e1").status is ExecutionStatus.ERROR


def test_a_deletion_that_failed_in_its_cascade_is_finished_by_the_health_pass(platform, monkeypatch):
    from abaco_core import aliases, nonces
    from abaco_core.errors import StoreUnavailable

    p = platform
    a = actor(p, "A")
    p.store.create_object("t", aliases.KIND, "myalias", {"alias": "myalias", "actor_id": "A", "owner": "o"})
    p.store.create_object("t", nonces.KIND, "t_n1", {"id": "t_n1", "actor_id": "A", "level": "READ"})

    def unavailable(*args, **kwargs):
        raise StoreUnavailable("PostgreSQL went away")

    monkeypatch.setattr(p.store, "delete_object", unavailable)
    with pytest.raises(StoreUnavailable):
        p.delete_actor(a)
    monkeypatch.undo()
    # the actor is still there, SHUTTING_DOWN: the mark the health pass finishes deletions by
    assert p.store.get_actor("t", "A").status is ActorStatus.SHUTTING_DOWN
    p.health_pass()
    assert p.store.list_actors("t") == []
    assert p.store.list_objects("t", aliases.KIND) == []
    assert p.store.list_objects("t", nonces.KIND) == []
