"""The events agent survives what it does not expect (our extension of spec §10.2): an
exception in a pass or in a webhook task is logged with its traceback and the delivery is
tried again later; the agent's thread never dies."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore

from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.events import DELIVERY
from abaco_core.events import agent as agent_module
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings

T = "t"


def make_platform(tmp_path, **extra: object) -> Platform:
    settings = Settings(
        data_dir=str(tmp_path),
        init_count=0,
        cron_interval=0,
        events_interval=0,
        webhook_retry_base=60,
        webhook_max_attempts=3,
        **extra,
    )
    return Platform(
        settings, build_plugin_manager(), MemoryStore(), LocalQueue(str(tmp_path / "q.db")), FakeBackend()
    )


@pytest.fixture
def platform(tmp_path):
    p = make_platform(tmp_path)
    yield p
    p.events.stop()
    p.stop()


def source_actor(p: Platform) -> str:
    fields = parse_actor_fields(FieldSource(json={"image": "abaco-test/busybox:1"}))
    return p.register_actor(fields, tenant=T, owner="alice").id


def store_delivery(
    p: Platform, key: str = "d1-webhook", attempts: int = 0, source: str | None = None
) -> None:
    source = source or source_actor(p)
    doc = {
        "tenant": T,
        "event": {"event_type": "ACTOR_READY", "actor_id": source},
        "target": "webhook",
        "to": "http://127.0.0.1:9/hook?x-nonce=LOCAL_n",
        "source": source,
        "attempts": attempts,
        "due": 0.0,
        "lease_owner": "",
        "lease_until": 0.0,
        "last_error": "",
    }
    p.store.create_object(T, DELIVERY, key, doc)


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def boom(*_args: object, **_kwargs: object) -> bytes:
    raise RuntimeError("unexpected")


def test_an_unexpected_error_in_a_webhook_task_is_logged_and_retried_later(platform, monkeypatch, caplog):
    monkeypatch.setattr(agent_module, "body_of", boom)
    store_delivery(platform)
    platform.events.start(3600)
    assert platform.events.tick() == 1

    def retried() -> bool:
        return platform.store.get_object(T, DELIVERY, "d1-webhook")["attempts"] == 1

    wait_for(retried)
    doc = platform.store.get_object(T, DELIVERY, "d1-webhook")
    assert doc["due"] > time.time() + 30 and doc["lease_owner"] == "" and doc["lease_until"] == 0.0
    assert doc["last_error"] == "internal error: RuntimeError"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged and "d1-webhook" in logged[0].getMessage()
    assert not [r for r in caplog.records if "LOCAL_n" in r.getMessage()]


def test_an_unexpected_error_counts_as_an_attempt(platform, monkeypatch):
    monkeypatch.setattr(agent_module, "body_of", boom)
    store_delivery(platform, attempts=2)
    platform.events.tick()  # no pool: inline
    assert platform.store.list_objects(T, DELIVERY) == []  # the third of three: dropped


def test_the_loop_survives_an_unexpected_error(platform, monkeypatch, caplog):
    calls: list[int] = []
    real_tick = platform.events.tick

    def flaky_tick() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("unexpected")
        return real_tick()

    monkeypatch.setattr(platform.events, "tick", flaky_tick)
    platform.events.start(0.05)
    wait_for(lambda: len(calls) >= 3)
    assert platform.events._thread is not None and platform.events._thread.is_alive()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


def test_a_webhook_is_leased_only_when_a_pool_thread_is_free(platform, monkeypatch):
    release = threading.Event()
    started: list[str] = []

    def slow_post(url: str, body: bytes, **kwargs: object) -> int:
        started.append(str(kwargs["delivery_id"]))
        release.wait(10)
        return 204

    monkeypatch.setattr(agent_module, "post", slow_post)
    platform.settings.webhook_concurrency = 1
    store_delivery(platform, "d1-webhook")
    store_delivery(platform, "d2-webhook")
    platform.events.start(3600)
    assert platform.events.tick() == 1
    wait_for(lambda: started == ["d1-webhook"])
    first = platform.store.get_object(T, DELIVERY, "d1-webhook")
    second = platform.store.get_object(T, DELIVERY, "d2-webhook")
    assert first["lease_until"] > time.time() + platform.settings.webhook_timeout
    assert second["lease_owner"] == ""  # free for another agent meanwhile
    release.set()
    wait_for(lambda: platform.store.list_objects(T, DELIVERY) == [])
    assert started == ["d1-webhook", "d2-webhook"]


class Recorded:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, url: str, body: bytes, **kwargs: object) -> int:
        self.calls.append(kwargs)
        return 204


def test_deliveries_are_signed_with_the_source_actors_secret(platform, monkeypatch):
    recorded = Recorded()
    monkeypatch.setattr(agent_module, "post", recorded)
    source = source_actor(platform)
    store_delivery(platform, source=source)
    platform.events.tick()
    assert [c["secret"] for c in recorded.calls] == [platform.webhook_secrets.get(T, source)]


def test_a_deleted_actors_pending_webhooks_are_dropped(platform, monkeypatch):
    recorded = Recorded()
    monkeypatch.setattr(agent_module, "post", recorded)
    source = source_actor(platform)
    store_delivery(platform, source=source)
    platform.delete_actor(platform.store.get_actor(T, source))
    platform.events.tick()
    assert recorded.calls == [] and platform.store.list_objects(T, DELIVERY) == []


def test_without_an_encryption_key_webhooks_are_sent_unsigned(tmp_path, monkeypatch, caplog):
    p = make_platform(tmp_path, database_url="postgresql://x@localhost/db")
    try:
        recorded = Recorded()
        monkeypatch.setattr(agent_module, "post", recorded)
        store_delivery(p, "d1-webhook")
        store_delivery(p, "d2-webhook")
        p.events.tick()
        assert [c["secret"] for c in recorded.calls] == [None, None]
        said = [r for r in caplog.records if "sent unsigned" in r.getMessage()]
        assert len(said) == 1
    finally:
        p.stop()
