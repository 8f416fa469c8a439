"""The embedded durable queue: per-actor FIFO inboxes in a SQLite file of the data dir.

One process owns the file (``abaco up``). Every accepted message is committed to disk
before ``put`` returns, so a killed process loses nothing: reservations left behind by a
dead process are released by :meth:`LocalQueue.recover` at the next start. Only the
standard library is used; the core stays free of ORM and broker libraries.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable

from ..errors import QueueUnavailable
from ..hookspecs import hookimpl
from ..records import Delivery, QueueInfo
from ..settings import Settings, SettingSpec

__all__ = ["LocalQueue"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    actor TEXT NOT NULL,
    execution_id TEXT NOT NULL UNIQUE,
    consumer TEXT,
    token TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_actor_ready ON inbox (actor, consumer, seq);
"""


class LocalQueue:
    """A :class:`~abaco_core.interfaces.Queue` on one SQLite file, safe across threads."""

    name = "local"

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            #: ``put`` commits on this connection, synced as configured (FULL: on disk, even
            #: through a power loss, before the message is acknowledged to its sender)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
            #: reservations, acks, releases and purges commit on this one without an fsync of
            #: their own: a crash of the process loses none of them (WAL), a power loss at most
            #: the last ones, which only repeats work -- every reservation is released at start
            #: anyway, a lost ack delivers an execution that is already final (its worker then
            #: acks it without running it), a lost purge brings back messages whose executions
            #: are already ERROR. The next ``put`` syncs the log, theirs included.
            self._book = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._book.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"cannot open the local queue at {path}: {exc}") from exc
        self._lock = threading.Lock()
        #: one condition per actor, all on the one lock: a put wakes only that actor's workers
        self._conditions: dict[str, threading.Condition] = {}

    def _condition(self, actor_dbid: str) -> threading.Condition:
        """The actor's condition; call with the lock held."""
        cond = self._conditions.get(actor_dbid)
        if cond is None:
            cond = self._conditions[actor_dbid] = threading.Condition(self._lock)
        return cond

    def _wake_all(self) -> None:
        for cond in self._conditions.values():
            cond.notify_all()

    def _run(self, sql: str, params: tuple = (), *, durable: bool = False) -> sqlite3.Cursor:
        """Run one statement (its own transaction); ``durable`` on the connection that syncs."""
        try:
            return (self._db if durable else self._book).execute(sql, params)
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"local queue failure: {exc}") from exc

    def put(self, actor_dbid: str, execution_id: str) -> None:
        """Append; putting an execution id that is already queued changes nothing."""
        with self._lock:
            self._run(
                "INSERT OR IGNORE INTO inbox (actor, execution_id) VALUES (?, ?)",
                (actor_dbid, execution_id),
                durable=True,
            )
            self._condition(actor_dbid).notify()

    def reserve(self, actor_dbid: str, consumer: str, timeout: float = 0.0) -> Delivery | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            cond = self._condition(actor_dbid)
            while True:
                # one statement: take the oldest waiting message and mark it reserved
                secret = uuid.uuid4().hex
                rows = self._run(
                    "UPDATE inbox SET consumer = ?, token = ?, deliveries = deliveries + 1 WHERE seq = "
                    "(SELECT seq FROM inbox WHERE actor = ? AND consumer IS NULL ORDER BY seq LIMIT 1) "
                    "RETURNING seq, execution_id, deliveries",
                    (consumer, secret, actor_dbid),
                ).fetchall()
                if rows:
                    seq, execution_id, deliveries = rows[0]
                    return Delivery(actor_dbid, execution_id, f"{seq}:{secret}", deliveries)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                cond.wait(remaining)

    @staticmethod
    def _reservation(delivery: Delivery) -> tuple[int, str]:
        """The row (its sequence number) and the secret a delivery's token names: a lookup by
        primary key, whatever the length of the inbox."""
        seq, _, secret = delivery.token.partition(":")
        try:
            return int(seq), secret
        except ValueError:
            return -1, secret  # not one of ours: matches nothing

    def ack(self, delivery: Delivery) -> None:
        with self._lock:
            self._run("DELETE FROM inbox WHERE seq = ? AND token = ?", self._reservation(delivery))

    def release(self, delivery: Delivery) -> None:
        """Back to its original place: the sequence number keeps acceptance order."""
        with self._lock:
            self._run(
                "UPDATE inbox SET consumer = NULL, token = NULL WHERE seq = ? AND token = ?",
                self._reservation(delivery),
            )
            self._condition(delivery.actor_dbid).notify()

    def count(self, actor_dbid: str) -> int:
        with self._lock:
            (n,) = self._run(
                "SELECT COUNT(*) FROM inbox WHERE actor = ? AND consumer IS NULL", (actor_dbid,)
            ).fetchone()
        return int(n)

    def purge(self, actor_dbid: str) -> list[str]:
        with self._lock:
            rows = self._run(
                "DELETE FROM inbox WHERE actor = ? AND consumer IS NULL RETURNING seq, execution_id",
                (actor_dbid,),
            ).fetchall()
        return [eid for _, eid in sorted(rows)]

    def recover(self, consumers: Iterable[str] | None = None) -> int:
        with self._lock:
            if consumers is None:
                cur = self._run("UPDATE inbox SET consumer = NULL, token = NULL WHERE consumer IS NOT NULL")
            else:
                names = list(consumers)
                if not names:
                    return 0
                marks = ",".join("?" * len(names))
                cur = self._run(
                    f"UPDATE inbox SET consumer = NULL, token = NULL WHERE consumer IN ({marks})",
                    tuple(names),
                )
            self._wake_all()
            return cur.rowcount

    def consumers(self) -> set[str]:
        """The consumers holding at least one reservation."""
        with self._lock:
            rows = self._run("SELECT DISTINCT consumer FROM inbox WHERE consumer IS NOT NULL").fetchall()
        return {str(row[0]) for row in rows}

    def ping(self) -> None:
        with self._lock:
            self._run("SELECT 1")

    def close(self) -> None:
        with self._lock:
            self._book.close()
            self._db.close()


@hookimpl
def abaco_settings() -> list[SettingSpec]:
    return [
        SettingSpec(
            "local_queue_synchronous",
            "FULL",
            "SQLite synchronous mode of the embedded queue: FULL survives power loss, NORMAL only crashes",
            lambda v: str(v).upper(),
        )
    ]


@hookimpl
def abaco_queues() -> list[QueueInfo]:
    def factory(settings: Settings) -> LocalQueue:
        return LocalQueue(
            os.path.join(settings.data_dir, "queue.db"),
            synchronous=settings.get("local_queue_synchronous", "FULL"),
        )

    return [
        QueueInfo(
            "local",
            factory,
            "durable per-actor inboxes in a SQLite file (embedded mode)",
            probe=lambda _settings: True,
            priority=1000,
        )
    ]
