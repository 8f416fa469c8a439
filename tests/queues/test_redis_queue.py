"""What the conformance suite cannot say about the Redis queue: its plugin registration, its
errors when Redis is down, its key layout, the cluster helpers, and survival of a killed
client process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis

from abaco_core.errors import ConfigError, QueueError, QueueUnavailable
from abaco_core.plugins import build_plugin_manager, choose_queue, settings_from

from .services import redis_scratch, redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    with redis_scratch() as prefix:
        yield prefix


@pytest.fixture
def queue(prefix: str):
    from abaco_redis.queue import RedisQueue

    q = RedisQueue(redis_url(), prefix=prefix)
    yield q
    q.close()


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    yield client
    client.close()


def dead_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


# -- registration -----------------------------------------------------------------------------------


def test_plugin_registers_the_queue_and_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABACO_REDIS_URL", "redis://:pw@10.1.2.3:6380/4")
    monkeypatch.setenv("ABACO_REDIS_QUEUE_PREFIX", "mine:")
    pm = build_plugin_manager()
    settings = settings_from(pm, queue="redis")
    assert settings.get("redis_url") == "redis://:pw@10.1.2.3:6380/4"
    q = choose_queue(pm, settings).factory(settings)  # builds without contacting Redis
    try:
        assert (q.name, q.prefix) == ("redis", "mine:")
        assert "pw" not in repr(q) and "***" in repr(q)
    finally:
        q.close()


def _settings_without_redis_env(**overrides: object):
    from abaco_core.settings import load_settings

    pm = build_plugin_manager()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABACO_REDIS", "ABACO_QUEUE"))}
    specs = [s for group in pm.hook.abaco_settings() for s in group or ()]
    return pm, load_settings(environ=env, plugin_specs=specs, overrides=overrides)


def test_plugin_default_url() -> None:
    pm, settings = _settings_without_redis_env(queue="redis")
    assert settings.get("redis_url") == ""  # unset: the queue uses the default URL
    q = choose_queue(pm, settings).factory(settings)
    try:
        assert q.url == "redis://127.0.0.1:6379/0"
    finally:
        q.close()


def test_redis_url_chooses_the_cluster_queue() -> None:
    pm, settings = _settings_without_redis_env()
    assert settings.queue == "auto" and choose_queue(pm, settings).name == "local"
    pm, settings = _settings_without_redis_env(redis_url="redis://10.1.2.3:6380/4")
    chosen = choose_queue(pm, settings)
    assert chosen.name == "rq" and chosen.commands is not None
    # an explicit choice wins over the URL
    pm, settings = _settings_without_redis_env(redis_url="redis://10.1.2.3:6380/4", queue="redis")
    assert choose_queue(pm, settings).name == "redis"


def test_plugin_module_is_cheap_to_import() -> None:
    code = "import sys, abaco_redis.plugin; print('redis' in sys.modules, 'rq' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_invalid_url_is_a_config_error() -> None:
    from abaco_redis.queue import RedisQueue

    with pytest.raises(ConfigError, match="invalid Redis URL"):
        RedisQueue("http://:secret@example.com/0")


# -- Redis down ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form", ["redis://:hunter2@127.0.0.1:{port}/0", "redis://127.0.0.1:{port}/0?password=hunter2"]
)
def test_stopped_redis_gives_queue_unavailable(form: str) -> None:
    from abaco_redis.queue import RedisQueue

    from abaco_core.records import Delivery

    url = form.format(port=dead_port())
    q = RedisQueue(url, prefix="x:")
    d = Delivery("a", "e0", "0" * 32 + ":w")
    calls = {
        "put": lambda: q.put("a", "e0"),
        "reserve": lambda: q.reserve("a", "w"),
        "reserve(timeout)": lambda: q.reserve("a", "w", timeout=5),
        "ack": lambda: q.ack(d),
        "release": lambda: q.release(d),
        "count": lambda: q.count("a"),
        "purge": lambda: q.purge("a"),
        "recover": lambda: q.recover(["w"]),
        "recover(None)": lambda: q.recover(None),
        "ping": q.ping,
        "consumers": q.consumers,
        "reserved_by": lambda: q.reserved_by("w"),
    }
    try:
        for what, call in calls.items():
            start = time.monotonic()
            with pytest.raises(QueueUnavailable) as info:
                call()
            elapsed = time.monotonic() - start
            message = str(info.value)
            assert info.value.status == 503
            assert f"127.0.0.1:{urlsplit(url).port}" in message and "unreachable" in message, what
            assert "hunter2" not in message, f"{what} leaks the password: {message}"
            assert elapsed < 3, f"{what} took {elapsed:.2f} s to fail"
    finally:
        q.close()


def test_redis_errors_never_leak(queue, raw: redis.Redis, prefix: str) -> None:
    raw.set(f"{prefix}a:a:ready", "not a sorted set")
    with pytest.raises(QueueError) as info:
        queue.count("a")
    assert not isinstance(info.value, QueueUnavailable)
    assert "WRONGTYPE" in str(info.value)


# -- layout and scripts -------------------------------------------------------------------------------------


def test_key_layout(queue, raw: redis.Redis, prefix: str) -> None:
    queue.put("t_a", "e0")
    queue.put("t_a", "e1")
    d = queue.reserve("t_a", "w1")
    queue.release(d)
    d = queue.reserve("t_a", "w1")
    keys = {k[len(prefix) :] for k in raw.keys(f"{prefix}*")}
    assert keys == {
        "seq",
        "a:t_a:ready",
        "a:t_a:msg",
        "a:t_a:dlv",
        "a:t_a:wake",
        "reservations",
        "c:w1",
        "consumers",
    }
    assert raw.zrange(f"{prefix}a:t_a:ready", 0, -1, withscores=True) == [("e1", 2.0)]
    assert raw.hgetall(f"{prefix}a:t_a:msg") == {"e0": "1", "e1": "2"}
    assert raw.hgetall(f"{prefix}a:t_a:dlv") == {"e0": "2"}
    record = json.loads(raw.hget(f"{prefix}reservations", d.token))
    assert record == {"a": "t_a", "e": "e0", "c": "w1", "s": "1", "d": 2}
    assert raw.smembers(f"{prefix}c:w1") == {d.token}
    assert raw.smembers(f"{prefix}consumers") == {"w1"}
    assert raw.llen(f"{prefix}a:t_a:wake") <= 1
    # once everything is acknowledged only the sequence number is left
    queue.ack(d)
    queue.ack(queue.reserve("t_a", "w2"))
    assert {k[len(prefix) :] for k in raw.keys(f"{prefix}*")} == {"seq"}


def test_reserve_is_safe_to_retry(queue) -> None:
    """A reserve whose reply was lost is repeated with the same token: same reservation."""
    queue.put("a", "e0")
    queue.put("a", "e1")
    token = "f" * 32 + ":w"
    keys = [
        queue._actor_key("a", "ready"),
        queue._actor_key("a", "msg"),
        queue._actor_key("a", "dlv"),
        queue._reservations_key,
        queue._consumer_key("w"),
        queue._consumers_key,
        queue._actor_key("a", "wake"),
    ]
    first = queue._reserve(keys=keys, args=["a", "w", token])
    again = queue._reserve(keys=keys, args=["a", "w", token])
    assert first == again == ["e0", 1]
    assert queue.count("a") == 1


def test_wake_up_is_passed_on(queue, raw: redis.Redis, prefix: str) -> None:
    """Two puts land before two reservers wait: one wake-up token is left (the list holds at
    most one). The reserver that takes it must leave one for the other, or that one would
    sleep until its timeout with a message waiting."""
    wake = f"{prefix}a:a:wake"
    queue.put("a", "e0")
    queue.put("a", "e1")
    assert raw.llen(wake) == 1
    assert raw.lpop(wake) == "1"  # the first reserver's BLPOP
    assert queue.reserve("a", "w1").execution_id == "e0"
    assert raw.llen(wake) == 1, "the wake-up was not passed on to the next reserver"
    assert raw.lpop(wake) == "1"
    assert queue.reserve("a", "w2").execution_id == "e1"
    assert raw.llen(wake) == 0  # nothing waits: nobody to wake
    queue.put("a", "e2")
    queue.put("a", "e3")
    assert raw.llen(wake) == 1  # never more than one token


def test_consumers_and_reserved_by(queue) -> None:
    for i in range(3):
        queue.put("a", f"a{i}")
    queue.put("b", "b0")
    assert queue.consumers() == set()
    a0 = queue.reserve("a", "w1")
    b0 = queue.reserve("b", "w1")
    a1 = queue.reserve("a", "w2")
    assert queue.consumers() == {"w1", "w2"}
    assert queue.reserved_by("w1") == [a0, b0]
    assert queue.reserved_by("w2") == [a1]
    assert queue.reserved_by("nobody") == []
    queue.ack(a1)
    assert queue.consumers() == {"w1"}
    assert queue.recover(queue.consumers()) == 2
    assert queue.consumers() == set() and queue.reserved_by("w1") == []


def test_long_reserve_outlasts_the_socket_timeout(prefix: str) -> None:
    """A blocking reserve longer than the socket timeout blocks in slices, without a TimeoutError."""
    from abaco_redis.queue import RedisQueue

    q = RedisQueue(redis_url(), prefix=prefix, socket_timeout=0.3)
    try:
        start = time.monotonic()
        assert q.reserve("a", "w", timeout=1.0) is None
        assert 0.95 <= time.monotonic() - start < 2.5
    finally:
        q.close()


def test_accepted_messages_survive_a_killed_client_process(queue, prefix: str) -> None:
    script = f"""
import os, sys
from abaco_redis.queue import RedisQueue
q = RedisQueue({redis_url()!r}, prefix={prefix!r})
for i in range(50):
    q.put("a", f"e{{i}}")
q.reserve("a", "doomed")
print("ok", flush=True)
os.kill(os.getpid(), 9)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok" and out.returncode == -9
    assert queue.count("a") == 49
    assert queue.consumers() == {"doomed"}
    assert queue.recover(["doomed"]) == 1
    got = []
    while (d := queue.reserve("a", "w")) is not None:
        got.append(d.execution_id)
        queue.ack(d)
    assert got == [f"e{i}" for i in range(50)]
