"""The ordering guarantees (DESIGN.md decision 5, spec §7.8) as a hypothesis state machine
over a real :class:`~abaco_core.interfaces.Queue` and :class:`~abaco_core.interfaces.Store`.

The machine drives the two the way the platform does, without its threads: it accepts
messages (a ``SUBMITTED`` execution with its message, then ``put``), lets named consumers
take the next message of an actor when the actor's concurrency bound allows (a stateful
actor runs one execution at a time, a stateless one at most ``max_workers``), marks the
execution ``RUNNING`` and later ``COMPLETE`` (compare-and-set with ``expected=``) before the
``ack``, and injects the failures the platform recovers from:

* a consumer that reserves a message and puts it back unrun (a worker whose actor's
  revision changed, or whose container failed to start);
* a consumer that dies holding a message; later its reservations are recovered
  (``recover([names])``) and its ``RUNNING`` executions go back to ``SUBMITTED``;
* a platform restart: every consumer dies, ``recover(None)``, every ``RUNNING`` execution
  goes back to ``SUBMITTED``, and every pending execution is ``put`` again (idempotent).

Checked after every step: each start takes the oldest waiting message of the actor, so the
start order follows acceptance order (for a stateful actor strictly: completions too);
nothing is completed twice; nothing accepted is lost (each message is waiting, reserved or
``COMPLETE``, and the queue's count agrees); the concurrency bounds hold in the store;
every status change is an allowed transition of
:data:`~abaco_core.models.EXECUTION_TRANSITIONS` and the store agrees with the model. At
the end, every message left is recovered and drained in acceptance order.

Bind it with :func:`ordering_test_case`::

    TestOrdering = ordering_test_case(lambda: LocalQueue(path()), MemoryStore)

Each example calls the factories once and closes what they return at its end; each example
uses its own tenant, so a store may be shared between examples. The queue must be private
to the example (``recover(None)`` releases every reservation of the queue).
"""

from __future__ import annotations

import itertools
import unittest
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from hypothesis import event
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from abaco_core.interfaces import Queue, Store
from abaco_core.models import (
    EXECUTION_TRANSITIONS,
    Actor,
    ActorStatus,
    Execution,
    ExecutionStatus,
    Message,
)
from abaco_core.records import Delivery

__all__ = ["OrderingMachine", "ordering_test_case"]

RUNNING, SUBMITTED, COMPLETE = ExecutionStatus.RUNNING, ExecutionStatus.SUBMITTED, ExecutionStatus.COMPLETE

#: worker slots (consumers alive at any time)
SLOTS = 4
MAX_ACTORS = 3
#: the actions of a step, repeated to weigh them: workers turn most often
ACTIONS = (
    "work",
    "work",
    "work",
    "work",
    "accept",
    "accept",
    "put_back_unrun",
    "die",
    "recover_dead",
    "restart",
    "put_again",
)


@dataclass
class ActorModel:
    id: str
    dbid: str
    stateless: bool
    max_workers: int | None
    accepted: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)
    #: execution id -> consumer holding it (alive or dead)
    held: dict[str, str] = field(default_factory=dict)
    complete: list[str] = field(default_factory=list)
    #: every SUBMITTED -> RUNNING, in order (restarts included)
    starts: list[str] = field(default_factory=list)
    deliveries: Counter[str] = field(default_factory=Counter)

    @property
    def bound(self) -> int:
        return (self.max_workers or 1) if self.stateless else 1

    def head(self) -> str | None:
        return min(self.waiting, key=self.index.__getitem__) if self.waiting else None


@dataclass
class Slot:
    consumer: str
    actor: str | None = None
    delivery: Delivery | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class OrderingMachine(RuleBasedStateMachine):
    """Queue + store under the platform's discipline. Subclasses set ``make_queue`` and
    ``make_store`` (see :func:`ordering_test_case`)."""

    make_queue: ClassVar[Callable[[], Queue]]
    make_store: ClassVar[Callable[[], Store]]

    actors = Bundle("actors")

    def __init__(self) -> None:
        super().__init__()
        self.queue = type(self).make_queue()
        try:
            self.store = type(self).make_store()
        except BaseException:
            self.queue.close()
            raise
        self.tenant = f"ord{uuid.uuid4().hex[:10]}"
        self.models: dict[str, ActorModel] = {}
        self.status: dict[str, ExecutionStatus] = {}
        self.completions: Counter[str] = Counter()
        self._names = itertools.count()
        self.slots = [Slot(self._consumer()) for _ in range(SLOTS)]
        #: consumers that died, their reservations not yet recovered
        self.dead: list[Slot] = []

    # -- helpers ----------------------------------------------------------------------------------

    def _consumer(self) -> str:
        return f"{self.tenant}-w{next(self._names)}"

    def _transition(self, execution: Execution, new: ExecutionStatus, **changes: Any) -> Execution:
        """Change an execution's status the way the platform does: an allowed transition,
        written with compare-and-set on the status it was read with."""
        old = execution.status
        assert old == self.status[execution.id], (
            f"{execution.id}: store says {old}, model {self.status[execution.id]}"
        )
        assert new in EXECUTION_TRANSITIONS[old], (
            f"{execution.id}: {old} -> {new} is not an allowed transition"
        )
        updated = execution.replace(status=new, **changes)
        assert self.store.update_execution(updated, expected=[old]), (
            f"{execution.id}: CAS {old} -> {new} refused"
        )
        self.status[execution.id] = new
        return updated

    def _running(self, m: ActorModel) -> list[Execution]:
        return self.store.list_executions(self.tenant, m.id, statuses=[RUNNING])

    def _take(self, m: ActorModel, consumer: str) -> Delivery | None:
        """Reserve the actor's next message and check it is the oldest waiting one."""
        d = self.queue.reserve(m.dbid, consumer)
        head = m.head()
        if d is None:
            assert head is None, f"{m.id}: reserve found nothing although {head} waits"
            return None
        assert d.actor_dbid == m.dbid
        assert d.execution_id == head, (
            f"{m.id}: reserve handed out {d.execution_id} (accepted #{m.index.get(d.execution_id)}) "
            f"but the oldest waiting message is {head} (#{m.index.get(head) if head else None})"
        )
        m.deliveries[head] += 1
        assert d.deliveries == m.deliveries[head], (
            f"{head}: deliveries {d.deliveries}, expected {m.deliveries[head]}"
        )
        m.waiting.remove(head)
        m.held[head] = consumer
        return d

    def _recover_held(self, slots: list[Slot]) -> None:
        """The platform's recovery of dead consumers' executions: RUNNING -> SUBMITTED."""
        for slot in slots:
            if slot.delivery is None:
                continue
            m = self.models[slot.actor]
            eid = slot.delivery.execution_id
            execution = self.store.get_execution(self.tenant, m.id, eid)
            assert execution.status == RUNNING and execution.worker_id == slot.consumer
            self._transition(execution, SUBMITTED, worker_id=None, start_time=None)
            del m.held[eid]
            m.waiting.add(eid)
            slot.delivery = None

    # -- rules ----------------------------------------------------------------------------------------

    @initialize(
        target=actors,
        kinds=st.lists(
            st.tuples(st.booleans(), st.integers(1, 3), st.integers(0, 6)), min_size=1, max_size=MAX_ACTORS
        ),
    )
    def create_actors(self, kinds: list[tuple[bool, int, int]]) -> MultipleResults[str]:
        """Actors, each stateless (with ``max_workers`` 1-3) or stateful, with a backlog of messages."""
        created = []
        for stateless, max_workers, backlog in kinds:
            aid = f"A{len(self.models)}"
            actor = Actor(
                tenant=self.tenant,
                id=aid,
                image="abaco-test/busybox:1",
                owner="tester",
                stateless=stateless,
                max_workers=max_workers if stateless else None,
                status=ActorStatus.READY,
                create_time=_now(),
            )
            self.store.create_actor(actor)
            self.models[aid] = ActorModel(aid, actor.dbid, stateless, actor.max_workers)
            self._accept(aid, backlog)
            created.append(aid)
        return multiple(*created)

    # One rule dispatches every action. Hypothesis's swarm testing switches separate rules
    # off for whole examples (half of them, on average); an example without worker steps
    # would test nothing here, so the actions share one rule and ACTIONS weighs them.

    @rule(action=st.sampled_from(ACTIONS), slot=st.integers(0, SLOTS - 1), aid=actors, n=st.integers(1, 4))
    def step(self, action: str, slot: int, aid: str, n: int) -> None:
        getattr(self, action)(slot, aid, n)

    def accept(self, slot: int, aid: str, n: int) -> None:
        """POST /messages: ``n`` durable SUBMITTED executions with their messages, each then put."""
        self._accept(aid, n)

    def _accept(self, aid: str, n: int) -> None:
        m = self.models[aid]
        for _ in range(n):
            eid = uuid.uuid4().hex[:10]  # random: lexical order says nothing about acceptance order
            execution = Execution(
                self.tenant, aid, eid, executor="tester", status=SUBMITTED, message_received_time=_now()
            )
            message = Message(self.tenant, aid, eid, f"message {len(m.accepted)}", "str")
            self.store.create_execution(execution, message)
            self.queue.put(m.dbid, eid)
            m.index[eid] = len(m.accepted)
            m.accepted.append(eid)
            m.waiting.add(eid)
            self.status[eid] = SUBMITTED

    def work(self, slot: int, aid: str, n: int) -> None:
        """One turn of a worker's loop: finish what it runs, else start the actor's next message."""
        if self.slots[slot].delivery is not None:
            self._finish(self.slots[slot])
        else:
            self._start(self.slots[slot], self.models[aid])

    def _start(self, s: Slot, m: ActorModel) -> None:
        """A free consumer takes the actor's next message if the concurrency bound allows."""
        running = self._running(m)
        assert len(running) == len(m.held), f"{m.id}: store runs {len(running)}, model holds {len(m.held)}"
        if len(running) >= m.bound:
            event("start refused: concurrency bound reached")
            return
        d = self._take(m, s.consumer)
        if d is None:
            return
        execution = self.store.get_execution(self.tenant, m.id, d.execution_id)
        assert execution.status == SUBMITTED, f"{d.execution_id} was handed out while {execution.status}"
        self._transition(execution, RUNNING, worker_id=s.consumer, start_time=_now())
        if d.execution_id in m.starts:
            event("restart of an interrupted execution")
        m.starts.append(d.execution_id)
        s.actor, s.delivery = m.id, d
        event(f"start ({'stateless' if m.stateless else 'stateful'}, {len(running) + 1} running)")

    def _finish(self, s: Slot) -> None:
        """The container exited: COMPLETE (compare-and-set from RUNNING), then ack."""
        assert s.delivery is not None and s.actor is not None
        m, d = self.models[s.actor], s.delivery
        eid = d.execution_id
        execution = self.store.get_execution(self.tenant, m.id, eid)
        assert execution.status == RUNNING and execution.worker_id == s.consumer
        done = self._transition(execution, COMPLETE, finish_time=_now(), exit_code=0)
        # a second finisher (a duplicate delivery) is refused by the compare-and-set
        assert not self.store.update_execution(done, expected=[RUNNING]), f"{eid} completed twice"
        self.queue.ack(d)
        self.completions[eid] += 1
        del m.held[eid]
        m.complete.append(eid)
        s.actor, s.delivery = None, None

    def put_back_unrun(self, slot: int, aid: str, n: int) -> None:
        """A consumer takes a message and releases it without running it (its actor's revision
        changed, or the container did not start), then exits and is replaced."""
        s, m = self.slots[slot], self.models[aid]
        if s.delivery is not None:
            return
        d = self._take(m, s.consumer)
        if d is None:
            return
        self.queue.release(d)
        event("put back unrun")
        del m.held[d.execution_id]
        m.waiting.add(d.execution_id)
        self.slots[slot] = Slot(self._consumer())

    def die(self, slot: int, aid: str, n: int) -> None:
        """A consumer dies, holding whatever it holds; a new one takes its place."""
        self.dead.append(self.slots[slot])
        self.slots[slot] = Slot(self._consumer())

    def recover_dead(self, slot: int, aid: str, n: int) -> None:
        """The platform notices the dead consumers: their reservations go back, in place."""
        names = [s.consumer for s in self.dead]
        holding = sum(1 for s in self.dead if s.delivery is not None)
        assert self.queue.recover([*names, f"{self.tenant}-nobody"]) == holding
        event(f"recovered {min(holding, 2)}{'+' if holding > 2 else ''} reservations of dead consumers")
        self._recover_held(self.dead)
        self.dead.clear()

    def restart(self, slot: int, aid: str, n: int) -> None:
        """The platform restarts: every consumer is gone; recover(None), RUNNING executions
        back to SUBMITTED, every pending execution put again (a no-op for the queued ones)."""
        gone = self.dead + self.slots
        holding = sum(1 for s in gone if s.delivery is not None)
        assert self.queue.recover(None) == holding
        event(f"restart with {min(holding, 2)}{'+' if holding > 2 else ''} reservations")
        self._recover_held(gone)
        self.dead = []
        self.slots = [Slot(self._consumer()) for _ in range(SLOTS)]
        pending = [
            e for e in self.store.executions_with_status([SUBMITTED, RUNNING]) if e.tenant == self.tenant
        ]
        assert all(e.status == SUBMITTED for e in pending)
        for execution in pending:
            self.queue.put(self.models[execution.actor_id].dbid, execution.id)

    def put_again(self, slot: int, aid: str, n: int) -> None:
        """Re-putting messages already queued or reserved changes nothing."""
        m = self.models[aid]
        for eid in [*sorted(m.waiting), *sorted(m.held)]:
            self.queue.put(m.dbid, eid)

    # -- invariants ------------------------------------------------------------------------------------

    @invariant()
    def concurrency_bounds_hold(self) -> None:
        for m in self.models.values():
            running = self._running(m)
            assert len(running) <= m.bound, (
                f"{m.id} ({'stateless' if m.stateless else 'stateful'}, bound {m.bound}) runs {len(running)}"
            )

    @invariant()
    def nothing_is_lost(self) -> None:
        for m in self.models.values():
            waiting, held, complete = m.waiting, set(m.held), set(m.complete)
            assert not (waiting & held or waiting & complete or held & complete)
            assert waiting | held | complete == set(m.accepted), f"{m.id}: accepted messages went missing"
            assert self.queue.count(m.dbid) == len(waiting), (
                f"{m.id}: queue counts {self.queue.count(m.dbid)} waiting, model {len(waiting)}"
            )

    @invariant()
    def store_agrees(self) -> None:
        for m in self.models.values():
            stored = {e.id: e.status for e in self.store.list_executions(self.tenant, m.id)}
            assert stored == {eid: self.status[eid] for eid in m.accepted}

    @invariant()
    def starts_follow_acceptance_order(self) -> None:
        for m in self.models.values():
            first = list(dict.fromkeys(m.starts))
            assert first == m.accepted[: len(first)], f"{m.id}: first starts {first} vs accepted {m.accepted}"
            assert len(m.complete) == len(set(m.complete)), f"{m.id}: duplicate completion"
            if not m.stateless:
                # serial: a start is the next accepted message, or the same one again after a failure
                collapsed = [eid for i, eid in enumerate(m.starts) if i == 0 or m.starts[i - 1] != eid]
                assert collapsed == m.accepted[: len(collapsed)], f"{m.id}: stateful starts {m.starts}"
                assert m.complete == m.accepted[: len(m.complete)], (
                    f"{m.id}: stateful completions {m.complete}"
                )
        assert all(n == 1 for n in self.completions.values())

    # -- the end -----------------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            everyone = self.dead + self.slots
            assert self.queue.recover(None) == sum(1 for s in everyone if s.delivery is not None)
            for m in self.models.values():
                left = sorted(m.waiting | set(m.held), key=m.index.__getitem__)
                got = []
                while (d := self.queue.reserve(m.dbid, "drain")) is not None:
                    got.append(d.execution_id)
                    self.queue.ack(d)
                assert got == left, f"{m.id}: drained {got}, expected {left} (acceptance order)"
        finally:
            try:
                self.queue.close()
            finally:
                self.store.close()


def ordering_test_case(
    make_queue: Callable[[], Queue],
    make_store: Callable[[], Store],
    *,
    name: str = "Ordering",
    settings: Settings | None = None,
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` running :class:`OrderingMachine` over the queue and store the
    factories build (once per example; closed at its end). ``settings`` (max_examples,
    stateful_step_count, ...) default to hypothesis's current profile."""
    machine = type(
        name,
        (OrderingMachine,),
        {"make_queue": staticmethod(make_queue), "make_store": staticmethod(make_store)},
    )
    case = machine.TestCase
    if settings is not None:
        case.settings = settings
    return case
