"""``RedisQueue``: the :class:`~abaco_core.interfaces.Queue` protocol on Redis.

Per-actor FIFO inboxes shared by every process of a cluster. Each operation that changes
the queue is one atomic Lua script (:mod:`abaco_redis.scripts`), so no message is handed to
two consumers and no client crash between two commands can lose one. A message keeps the
sequence number it got at ``put``; a released (or recovered) message goes back into its
original place, so acceptance order survives requeues. A reserver with a timeout blocks in
``BLPOP`` on the actor's wake-up list instead of polling.

Every redis-py exception is translated here: an unreachable, loading or read-only Redis
raises :class:`~abaco_core.errors.QueueUnavailable` (HTTP 503) naming the URL (password
hidden); anything else raises :class:`~abaco_core.errors.QueueError`.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from abaco_core.errors import ConfigError, QueueError, QueueUnavailable
from abaco_core.records import Delivery
from abaco_core.settings import redact_url

from . import scripts

__all__ = ["RedisQueue", "display_url"]

#: longest single BLPOP; a longer ``reserve`` timeout blocks in several of them, so a
#: blocked connection never outlives the socket timeout
BLOCK_SLICE = 5.0
#: tokens are ``<32 hex digits>:<consumer>``
_TOKEN_HEX = 32


def display_url(url: str) -> str:
    """``url`` fit for messages and logs: passwords (user part or ``?password=``) as ``***``."""
    return redact_url(url)


class RedisQueue:
    """Durable per-actor FIFO inboxes in Redis, safe to share between threads and processes.

    ``url`` is a redis-py URL (``redis://``, ``rediss://``, ``unix://``); its query
    parameters (``socket_timeout``, ``max_connections``, ...) override the defaults below.
    ``prefix`` starts every key, so several platforms (or test runs) can share one database.
    Nothing is contacted until the first call.
    """

    name = "redis"

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "abaco:q:",
        socket_timeout: float = 10.0,
        connect_timeout: float = 2.0,
        retries: int = 2,
    ) -> None:
        self.url = url
        self.display_url = display_url(url)
        self.prefix = prefix
        try:
            self._pool = redis.ConnectionPool.from_url(
                url,
                decode_responses=True,
                socket_timeout=socket_timeout,
                socket_connect_timeout=connect_timeout,
                socket_keepalive=True,
                health_check_interval=30,
                # every script is safe to repeat: put and release/ack are idempotent, and a
                # repeated reserve (same token) returns the reservation it already made
                retry=Retry(ExponentialBackoff(cap=0.25, base=0.025), retries),
                retry_on_error=[rex.ConnectionError, rex.TimeoutError],
                client_name="abaco-queue",
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"invalid Redis URL {self.display_url!r} for the redis queue: {exc}") from exc
        self._client = redis.Redis(connection_pool=self._pool)
        timeout = self._pool.connection_kwargs.get("socket_timeout")
        # a BLPOP must return before the socket gives up on its reply
        self._block_slice = (
            BLOCK_SLICE if timeout is None else max(0.05, min(BLOCK_SLICE, float(timeout) / 2))
        )
        self._put = self._client.register_script(scripts.PUT)
        self._reserve = self._client.register_script(scripts.RESERVE)
        self._ack = self._client.register_script(scripts.ACK)
        self._release = self._client.register_script(scripts.RELEASE)
        self._purge = self._client.register_script(scripts.PURGE)

    def __repr__(self) -> str:
        return f"RedisQueue({self.display_url!r}, prefix={self.prefix!r})"

    # -- keys ---------------------------------------------------------------------------------

    def _actor_key(self, actor_dbid: str, part: str) -> str:
        return f"{self.prefix}a:{actor_dbid}:{part}"

    @property
    def _seq_key(self) -> str:
        return f"{self.prefix}seq"

    @property
    def _reservations_key(self) -> str:
        return f"{self.prefix}reservations"

    @property
    def _consumers_key(self) -> str:
        return f"{self.prefix}consumers"

    def _consumer_key(self, consumer: str) -> str:
        return f"{self.prefix}c:{consumer}"

    @staticmethod
    def _token_consumer(token: str) -> str | None:
        hexpart, sep, consumer = token.partition(":")
        if not sep or len(hexpart) != _TOKEN_HEX:
            return None
        return consumer

    # -- the edge: redis-py errors become abaco errors ------------------------------------------

    @contextlib.contextmanager
    def _edge(self, what: str) -> Iterator[None]:
        try:
            yield
        except rex.BusyLoadingError as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} is loading its dataset; retry shortly ({what}: {exc})"
            ) from exc
        except (rex.AuthenticationError, rex.AuthorizationError) as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} refused the queue's credentials ({what}: {exc})"
            ) from exc
        except (rex.ConnectionError, rex.TimeoutError) as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} is unreachable; is redis-server running? ({what}: {exc})"
            ) from exc
        except rex.ReadOnlyError as exc:
            raise QueueUnavailable(
                f"Redis at {self.display_url} is a read-only replica; point ABACO_REDIS_URL at the "
                f"primary ({what}: {exc})"
            ) from exc
        except rex.RedisError as exc:
            raise QueueError(f"Redis at {self.display_url} failed to {what}: {exc}") from exc

    # -- the Queue protocol --------------------------------------------------------------------

    def put(self, actor_dbid: str, execution_id: str) -> None:
        """Append the message; putting an execution id already queued or reserved changes nothing."""
        keys = [
            self._seq_key,
            self._actor_key(actor_dbid, "ready"),
            self._actor_key(actor_dbid, "msg"),
            self._actor_key(actor_dbid, "wake"),
        ]
        with self._edge("queue a message"):
            self._put(keys=keys, args=[execution_id])

    def reserve(self, actor_dbid: str, consumer: str, timeout: float = 0.0) -> Delivery | None:
        """The oldest waiting message of the actor, reserved for ``consumer``; waits up to
        ``timeout`` seconds (blocking in Redis, not polling) for one to arrive."""
        token = f"{uuid.uuid4().hex}:{consumer}"
        wake = self._actor_key(actor_dbid, "wake")
        keys = [
            self._actor_key(actor_dbid, "ready"),
            self._actor_key(actor_dbid, "msg"),
            self._actor_key(actor_dbid, "dlv"),
            self._reservations_key,
            self._consumer_key(consumer),
            self._consumers_key,
            wake,
        ]
        args = [actor_dbid, consumer, token]
        deadline = time.monotonic() + max(0.0, timeout)
        with self._edge("reserve a message"):
            while True:
                got = self._reserve(keys=keys, args=args)
                if got:
                    return Delivery(actor_dbid, str(got[0]), token, int(got[1]))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                # BLPOP's timeout is whole milliseconds and 0 means forever: never pass less than 10 ms
                self._client.blpop([wake], timeout=max(0.01, min(remaining, self._block_slice)))

    def _settle_keys(self, delivery: Delivery, consumer: str, middle: str) -> list[str]:
        return [
            self._reservations_key,
            self._actor_key(delivery.actor_dbid, "msg"),
            self._actor_key(delivery.actor_dbid, middle),
            self._consumer_key(consumer),
            self._consumers_key,
            self._actor_key(delivery.actor_dbid, "wake"),
        ]

    def ack(self, delivery: Delivery) -> None:
        """Remove the message for good; a stale delivery (released or recovered since) is a no-op."""
        consumer = self._token_consumer(delivery.token)
        if consumer is None:
            return
        keys = self._settle_keys(delivery, consumer, "dlv")
        with self._edge("acknowledge a message"):
            self._ack(keys=keys, args=[delivery.token, delivery.actor_dbid, delivery.execution_id, consumer])

    def release(self, delivery: Delivery) -> None:
        """Put the message back in its original place; a stale delivery is a no-op."""
        consumer = self._token_consumer(delivery.token)
        if consumer is None:
            return
        keys = self._settle_keys(delivery, consumer, "ready")
        with self._edge("release a message"):
            self._release(
                keys=keys, args=[delivery.token, delivery.actor_dbid, delivery.execution_id, consumer]
            )

    def count(self, actor_dbid: str) -> int:
        """Messages waiting (reserved ones are not counted)."""
        with self._edge("count messages"):
            return int(self._client.zcard(self._actor_key(actor_dbid, "ready")))

    def purge(self, actor_dbid: str) -> list[str]:
        """Remove every waiting message of the actor; return their execution ids in order."""
        keys = [
            self._actor_key(actor_dbid, "ready"),
            self._actor_key(actor_dbid, "msg"),
            self._actor_key(actor_dbid, "dlv"),
            self._actor_key(actor_dbid, "wake"),
        ]
        with self._edge("purge messages"):
            return [str(eid) for eid in self._purge(keys=keys)]

    def recover(self, consumers: Iterable[str] | None = None) -> int:
        """Release every reservation held by ``consumers`` (all of them for ``None``); return
        how many. Each release is atomic on its own; running it again after an interruption
        releases what is left."""
        with self._edge("recover reservations"):
            if consumers is None:
                held = dict(self._client.hscan_iter(self._reservations_key, count=500))
            else:
                names = list(dict.fromkeys(consumers))
                if not names:
                    return 0
                pipe = self._client.pipeline(transaction=False)
                for name in names:
                    pipe.smembers(self._consumer_key(name))
                tokens = sorted({t for members in pipe.execute() for t in members})
                records = self._client.hmget(self._reservations_key, tokens) if tokens else []
                held = {t: r for t, r in zip(tokens, records, strict=True) if r is not None}
            return self._release_all(held)

    def _release_all(self, held: dict[str, str]) -> int:
        deliveries = [d for token, raw in held.items() if (d := self._delivery(token, raw)) is not None]
        if not deliveries:
            return 0
        pipe = self._client.pipeline(transaction=False)
        for delivery in deliveries:
            consumer = self._token_consumer(delivery.token) or ""
            self._release(
                keys=self._settle_keys(delivery, consumer, "ready"),
                args=[delivery.token, delivery.actor_dbid, delivery.execution_id, consumer],
                client=pipe,
            )
        return sum(int(n) for n in pipe.execute())

    @staticmethod
    def _delivery(token: str, raw: str) -> Delivery | None:
        try:
            record = json.loads(raw)
            return Delivery(str(record["a"]), str(record["e"]), token, int(record["d"]))
        except (ValueError, KeyError, TypeError):
            return None

    def ping(self) -> None:
        with self._edge("answer PING"):
            self._client.ping()

    def close(self) -> None:
        self._pool.disconnect()

    # -- for a cluster: who holds what ---------------------------------------------------------

    def consumers(self) -> set[str]:
        """The consumers holding at least one reservation."""
        with self._edge("list consumers"):
            return {str(c) for c in self._client.smembers(self._consumers_key)}

    def reserved_by(self, consumer: str) -> list[Delivery]:
        """The deliveries ``consumer`` holds, oldest message first."""
        with self._edge("list reservations"):
            tokens = sorted(self._client.smembers(self._consumer_key(consumer)))
            records = self._client.hmget(self._reservations_key, tokens) if tokens else []
        found: list[tuple[float, Delivery]] = []
        for token, raw in zip(tokens, records, strict=True):
            if raw is None:
                continue
            delivery = self._delivery(token, raw)
            if delivery is not None:
                found.append((float(json.loads(raw).get("s") or 0), delivery))
        found.sort(key=lambda pair: pair[0])
        return [delivery for _, delivery in found]
