"""The queue contract, as tests every :class:`~abaco_core.interfaces.Queue` must pass.

A binding subclasses :class:`QueueSuite` and overrides two fixtures:

* ``queue`` -- an empty queue for one test (the binding closes it afterwards);
* ``reopen`` -- a callable that builds *another* queue object on the same backing store
  (a new :class:`~abaco_core.builtin.local_queue.LocalQueue` on the same file, a new Redis
  client on the same database and key prefix): what a restarted process would see.

It may override ``shared_between_clients`` (default ``False``): ``True`` when several queue
objects on one store may be used at the same time, as every process of a cluster does with
Redis. The embedded local queue is owned by one process, so it says ``False`` and the
cross-client test is skipped with that reason.

The tests call the queue only through the protocol. Besides what the protocol's docstrings
say, they pin down what the reference implementation does and the platform relies on:
``put`` of an execution id already queued *or reserved* changes nothing, and ``ack`` forgets
it (a later ``put`` queues it again, at the tail); ``release`` puts a message back in its
original place, so acceptance order survives requeues; a delivery that was released or
recovered is stale: its ``ack`` and ``release`` change nothing; ``deliveries`` counts every
reservation of the message, including those later released or recovered.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from abaco_core.interfaces import Queue
from abaco_core.records import Delivery

__all__ = ["QueueFixtures", "QueueSuite"]

#: how long a blocked ``reserve`` may take to notice a ``put`` (generous for loaded CI machines)
WAKE_LATENCY = 1.0


class QueueFixtures:
    """Fixtures a binding must (``queue``, ``reopen``) or may (``shared_between_clients``) override."""

    @pytest.fixture
    def queue(self) -> Queue:
        """An empty queue for one test. Must be overridden."""
        raise NotImplementedError(
            "a binding of the abaco queue suite must override the 'queue' fixture (an empty queue) "
            "and the 'reopen' fixture (another queue object on the same backing store)"
        )

    @pytest.fixture
    def reopen(self, queue: Queue) -> Callable[[], Queue]:
        """Build another queue object on ``queue``'s backing store. Must be overridden."""
        raise NotImplementedError(
            "a binding of the abaco queue suite must override the 'reopen' fixture: a callable "
            "returning a new queue object on the same backing store as 'queue'"
        )

    @pytest.fixture
    def shared_between_clients(self) -> bool:
        """Whether several queue objects on one store may be used concurrently."""
        return False

    @pytest.fixture
    def reopened(self, reopen: Callable[[], Queue]) -> Iterator[Callable[[], Queue]]:
        """``reopen``, closing what it built at the end of the test."""
        built: list[Queue] = []

        def build() -> Queue:
            q = reopen()
            built.append(q)
            return q

        yield build
        for q in built:
            q.close()


def drain(queue: Queue, actor: str, consumer: str = "drain") -> list[str]:
    """Reserve and acknowledge every waiting message of ``actor``; their execution ids in order."""
    got: list[str] = []
    while (d := queue.reserve(actor, consumer)) is not None:
        got.append(d.execution_id)
        queue.ack(d)
    return got


def reserve(queue: Queue, actor: str, consumer: str, timeout: float = 0.0) -> Delivery:
    d = queue.reserve(actor, consumer, timeout)
    assert d is not None, f"nothing to reserve for actor {actor!r} although a message waits"
    return d


class QueueSuite(QueueFixtures):
    """Every test that proves a queue honours the contract."""

    # -- basics -----------------------------------------------------------------------------------

    def test_protocol_and_ping(self, queue: Queue) -> None:
        assert isinstance(queue, Queue), "does not implement the Queue protocol"
        assert isinstance(queue.name, str) and queue.name
        queue.ping()

    def test_empty_queue(self, queue: Queue) -> None:
        assert queue.count("nobody") == 0
        assert queue.reserve("nobody", "w") is None
        assert queue.purge("nobody") == []
        assert queue.recover(None) == 0

    def test_fifo_per_actor(self, queue: Queue) -> None:
        ids = [f"e{i}" for i in range(12)]
        for eid in ids:
            queue.put("a", eid)
        assert queue.count("a") == len(ids)
        got = []
        for _ in ids:
            d = reserve(queue, "a", "w")
            assert (d.actor_dbid, d.deliveries) == ("a", 1)
            got.append(d.execution_id)
            queue.ack(d)
        assert got == ids
        assert queue.reserve("a", "w") is None

    def test_actors_are_isolated(self, queue: Queue) -> None:
        for i in range(3):
            queue.put("a", f"a{i}")
            queue.put("b", f"b{i}")
        queue.put("a_b", "ab0")  # a dbid that extends another one's
        assert (queue.count("a"), queue.count("b"), queue.count("a_b")) == (3, 3, 1)
        assert reserve(queue, "b", "w").execution_id == "b0"
        assert queue.purge("a") == ["a0", "a1", "a2"]
        assert (queue.count("a"), queue.count("b"), queue.count("a_b")) == (0, 2, 1)
        assert drain(queue, "b") == ["b1", "b2"]
        assert drain(queue, "a_b") == ["ab0"]

    def test_odd_names(self, queue: Queue) -> None:
        """Actor dbids, execution ids and consumer names are opaque strings."""
        actor, consumer = "tenant:x_{actor}*?[1] ü", "worker:{w}* é"
        ids = ["e:1", "e{2}", "e 3*", "é4"]
        for eid in ids:
            queue.put(actor, eid)
        d = reserve(queue, actor, consumer)
        assert d.execution_id == "e:1"
        assert queue.recover([consumer]) == 1
        assert drain(queue, actor, consumer) == ids

    # -- put ----------------------------------------------------------------------------------------

    def test_put_is_idempotent(self, queue: Queue) -> None:
        queue.put("a", "e0")
        queue.put("a", "e1")
        queue.put("a", "e0")
        assert queue.count("a") == 2
        d = reserve(queue, "a", "w")
        assert d.execution_id == "e0"
        queue.put("a", "e0")  # reserved: still one message (the platform's recovery re-puts)
        assert queue.count("a") == 1
        queue.release(d)
        assert queue.count("a") == 2
        assert drain(queue, "a") == ["e0", "e1"]

    def test_put_after_ack_queues_again_at_the_tail(self, queue: Queue) -> None:
        queue.put("a", "e0")
        queue.put("a", "e1")
        queue.ack(reserve(queue, "a", "w"))
        queue.put("a", "e0")
        assert drain(queue, "a") == ["e1", "e0"]

    # -- reserve, ack, release -------------------------------------------------------------------------

    def test_reserve_hides_the_message_from_other_consumers(self, queue: Queue) -> None:
        queue.put("a", "e0")
        queue.put("a", "e1")
        d0 = reserve(queue, "a", "w1")
        d1 = reserve(queue, "a", "w2")
        assert (d0.execution_id, d1.execution_id) == ("e0", "e1")
        assert d0.token != d1.token
        assert queue.reserve("a", "w3") is None
        assert queue.reserve("a", "w1") is None  # the holder does not see it again either

    def test_count_excludes_reserved(self, queue: Queue) -> None:
        for i in range(4):
            queue.put("a", f"e{i}")
        held = [reserve(queue, "a", "w") for _ in range(3)]
        assert queue.count("a") == 1
        queue.release(held[1])
        assert queue.count("a") == 2
        queue.ack(held[0])
        assert queue.count("a") == 2

    def test_ack_removes(self, queue: Queue) -> None:
        queue.put("a", "e0")
        queue.put("a", "e1")
        d = reserve(queue, "a", "w")
        queue.ack(d)
        queue.ack(d)  # twice: no-op
        queue.release(d)  # after ack: no-op
        assert queue.recover(None) == 0
        assert drain(queue, "a") == ["e1"]

    def test_release_restores_the_original_order(self, queue: Queue) -> None:
        for i in range(5):
            queue.put("a", f"e{i}")
        d0, d1, d2 = (reserve(queue, "a", "w") for _ in range(3))
        queue.put("a", "e5")
        queue.release(d1)
        queue.release(d0)
        assert reserve(queue, "a", "w").execution_id == "e0"
        assert reserve(queue, "a", "w").execution_id == "e1"
        queue.release(d2)  # released after later puts: still ahead of them
        assert drain(queue, "a") == ["e2", "e3", "e4", "e5"]

    def test_deliveries_count_every_reservation(self, queue: Queue) -> None:
        queue.put("a", "e0")
        d = reserve(queue, "a", "w1")
        assert d.deliveries == 1
        queue.release(d)
        d = reserve(queue, "a", "w2")
        assert d.deliveries == 2
        assert queue.recover(["w2"]) == 1
        d = reserve(queue, "a", "w3")
        assert (d.execution_id, d.deliveries) == ("e0", 3)
        queue.ack(d)
        queue.put("a", "e0")  # a new message: counted afresh
        assert reserve(queue, "a", "w").deliveries == 1

    def test_stale_delivery_changes_nothing(self, queue: Queue) -> None:
        queue.put("a", "e0")
        stale = reserve(queue, "a", "w1")
        assert queue.recover(["w1"]) == 1
        current = reserve(queue, "a", "w2")
        assert current.execution_id == "e0"
        queue.ack(stale)  # the consumer thought dead wakes up: its ack must not remove w2's message
        queue.release(stale)  # nor may its release hand the message to a third consumer
        assert queue.count("a") == 0
        assert queue.reserve("a", "w3") is None
        queue.release(current)
        assert queue.count("a") == 1

    # -- purge and recover -----------------------------------------------------------------------------

    def test_purge_returns_ids_in_order_and_keeps_reserved(self, queue: Queue) -> None:
        for i in range(6):
            queue.put("a", f"e{i}")
        held = reserve(queue, "a", "w")
        second = reserve(queue, "a", "w")
        queue.release(second)  # back at the head of what waits
        assert queue.purge("a") == ["e1", "e2", "e3", "e4", "e5"]
        assert queue.count("a") == 0
        assert queue.purge("a") == []
        queue.put("a", "e1")  # purged ids are forgotten
        queue.release(held)
        assert drain(queue, "a") == ["e0", "e1"]

    def test_recover_named_consumers(self, queue: Queue) -> None:
        for i in range(4):
            queue.put("a", f"a{i}")
        queue.put("b", "b0")
        w1a = reserve(queue, "a", "w1")
        w2a = reserve(queue, "a", "w2")
        w1b = reserve(queue, "b", "w1")
        reserve(queue, "a", "w3")
        assert queue.recover([]) == 0
        assert queue.recover(["nobody"]) == 0
        assert queue.recover(["w1", "nobody", "w1"]) == 2
        assert queue.recover(["w1"]) == 0
        assert (queue.count("a"), queue.count("b")) == (2, 1)
        assert reserve(queue, "a", "w4").execution_id == w1a.execution_id == "a0"
        assert reserve(queue, "b", "w4").execution_id == w1b.execution_id
        queue.ack(w2a)  # w2 still held its reservation
        assert queue.recover(["w3", "w4"]) == 3
        assert drain(queue, "a") == ["a0", "a2", "a3"]
        assert drain(queue, "b") == ["b0"]

    def test_recover_all(self, queue: Queue) -> None:
        for i in range(5):
            queue.put("a", f"e{i}")
        queue.put("b", "b0")
        for consumer in ("w1", "w2", "w3"):
            reserve(queue, "a", consumer)
        reserve(queue, "b", "w1")
        assert queue.recover(None) == 4
        assert queue.recover(None) == 0
        assert drain(queue, "a") == [f"e{i}" for i in range(5)]
        assert drain(queue, "b") == ["b0"]

    # -- blocking reserve ------------------------------------------------------------------------------

    def test_blocking_reserve_times_out(self, queue: Queue) -> None:
        start = time.monotonic()
        assert queue.reserve("a", "w", timeout=0.3) is None
        elapsed = time.monotonic() - start
        assert 0.25 <= elapsed < 0.3 + WAKE_LATENCY, f"reserve(timeout=0.3) returned after {elapsed:.3f} s"

    def test_blocking_reserve_wakes_on_put_from_another_thread(self, queue: Queue) -> None:
        put_at: list[float] = []

        def late_put() -> None:
            put_at.append(time.monotonic())
            queue.put("a", "late")

        timer = threading.Timer(0.3, late_put)
        timer.start()
        try:
            start = time.monotonic()
            d = queue.reserve("a", "w", timeout=10)
            woke = time.monotonic()
        finally:
            timer.join()
        assert d is not None and d.execution_id == "late"
        assert woke - put_at[0] < WAKE_LATENCY, f"woke {woke - put_at[0]:.3f} s after the put"
        assert woke - start >= 0.25

    def test_blocking_reserve_ignores_other_actors(self, queue: Queue) -> None:
        threading.Timer(0.1, queue.put, ("b", "b0")).start()
        assert queue.reserve("a", "w", timeout=0.5) is None
        assert queue.count("b") == 1

    def test_blocking_reserve_wakes_on_release(self, queue: Queue) -> None:
        queue.put("a", "e0")
        d = reserve(queue, "a", "w1")
        threading.Timer(0.2, queue.release, (d,)).start()
        got = queue.reserve("a", "w2", timeout=10)
        assert got is not None and got.execution_id == "e0" and got.deliveries == 2

    def test_every_blocked_reserver_wakes(self, queue: Queue) -> None:
        """Eight reservers block on one actor; eight puts wake all of them (no lost wake-up)."""
        got: list[Delivery | None] = []
        lock = threading.Lock()

        def wait(i: int) -> None:
            d = queue.reserve("a", f"w{i}", timeout=10)
            with lock:
                got.append(d)

        threads = [threading.Thread(target=wait, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        start = time.monotonic()
        for i in range(8):
            queue.put("a", f"e{i}")
        for t in threads:
            t.join(15)
        elapsed = time.monotonic() - start
        assert all(d is not None for d in got) and len(got) == 8
        assert sorted(d.execution_id for d in got) == [f"e{i}" for i in range(8)]
        assert elapsed < 2 * WAKE_LATENCY, f"eight blocked reservers took {elapsed:.2f} s to get eight puts"

    def test_burst_of_puts_while_reservers_arrive(self, queue: Queue) -> None:
        """Reservers and a burst of puts arrive together, round after round: a put that lands
        between a reserver's look and its wait must still wake it (no lost wake-up)."""
        for round_ in range(15):
            got: list[Delivery | None] = []
            go = threading.Barrier(7)

            def wait(consumer: str, go: threading.Barrier = go, got: list[Delivery | None] = got) -> None:
                go.wait()
                got.append(queue.reserve("a", consumer, timeout=5))

            threads = [threading.Thread(target=wait, args=(f"r{round_}w{i}",)) for i in range(6)]
            for t in threads:
                t.start()
            go.wait()
            start = time.monotonic()
            for i in range(6):
                queue.put("a", f"r{round_}e{i}")
            for t in threads:
                t.join(10)
            elapsed = time.monotonic() - start
            assert len(got) == 6 and all(d is not None for d in got), f"round {round_}: a reserver starved"
            assert elapsed < 2 * WAKE_LATENCY, f"round {round_}: six reservers took {elapsed:.2f} s"
            for d in got:
                queue.ack(d)

    # -- concurrency --------------------------------------------------------------------------------------

    @staticmethod
    def _race(queues: list[Queue], total: int, actor: str = "a") -> Counter[str]:
        """``len(queues)`` threads reserve and ack concurrently while a producer puts ``total``
        messages; what each got, counted."""
        got: Counter[str] = Counter()
        errors: list[BaseException] = []
        lock = threading.Lock()
        produced = threading.Event()
        start = threading.Barrier(len(queues) + 1)

        def consume(q: Queue, i: int) -> None:
            try:
                start.wait()
                while True:
                    d = q.reserve(actor, f"w{i}", timeout=0.05)
                    if d is None:
                        if produced.is_set() and q.count(actor) == 0:
                            return
                        continue
                    with lock:
                        got[d.execution_id] += 1
                    q.ack(d)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=consume, args=(q, i)) for i, q in enumerate(queues)]
        for t in threads:
            t.start()
        start.wait()
        for n in range(total):
            queues[n % len(queues)].put(actor, f"e{n:04d}")
        produced.set()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads), "a consumer never finished"
        return got

    def test_concurrent_reservers_get_each_message_exactly_once(self, queue: Queue) -> None:
        total = 400
        got = self._race([queue] * 8, total)
        twice = sorted(eid for eid, n in got.items() if n > 1)
        assert not twice, f"handed out more than once: {twice[:10]}"
        assert sorted(got) == [f"e{n:04d}" for n in range(total)], "some messages were never handed out"

    def test_reservations_are_exclusive_under_contention(self, queue: Queue) -> None:
        """Eight threads reserve (without acknowledging) from one prefilled inbox."""
        total = 200
        for n in range(total):
            queue.put("a", f"e{n:04d}")
        got: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def grab(i: int) -> None:
            start.wait()
            while (d := queue.reserve("a", f"w{i}")) is not None:
                with lock:
                    got.append(d.execution_id)

        threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(got) == len(set(got)) == total
        assert queue.count("a") == 0
        assert queue.recover(None) == total

    def test_clients_on_one_store_never_share_a_message(
        self, queue: Queue, reopened: Callable[[], Queue], shared_between_clients: bool
    ) -> None:
        if not shared_between_clients:
            pytest.skip(f"queue {queue.name} is owned by one process (shared_between_clients is False)")
        clients = [queue, *(reopened() for _ in range(3))]
        got = self._race([clients[i % 4] for i in range(8)], 400)
        assert all(n == 1 for n in got.values()) and len(got) == 400

    # -- durability ---------------------------------------------------------------------------------------

    def test_a_new_queue_object_sees_everything(self, queue: Queue, reopened: Callable[[], Queue]) -> None:
        for i in range(5):
            queue.put("a", f"e{i}")
        queue.put("b", "b0")
        held = reserve(queue, "a", "w")
        released = reserve(queue, "a", "w")
        queue.release(released)
        queue.ack(reserve(queue, "b", "w"))

        other = reopened()
        assert (other.count("a"), other.count("b")) == (4, 0)
        other.put("a", "e0")  # still reserved: put stays idempotent across objects
        other.put("a", "e5")
        assert other.recover(["w"]) == 1
        queue.ack(held)  # stale since the recovery
        assert drain(other, "a") == [f"e{i}" for i in range(6)]
        assert drain(queue, "a") == []
