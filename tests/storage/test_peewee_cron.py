"""Cron slots: recorded once per actor and slot, whatever the number of concurrent schedulers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import peewee_factories as f

T0 = datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_record_and_last_slot(store):
    store.create_actor(f.actor(actor_id="a1"))
    assert store.last_cron_slot("dev", "a1") is None
    assert store.record_cron_slot("dev", "a1", T0, T0) is True
    assert store.record_cron_slot("dev", "a1", T0, T0 + timedelta(seconds=5)) is False
    assert store.record_cron_slot("dev", "a1", T0 + timedelta(hours=1), T0) is True
    assert store.last_cron_slot("dev", "a1") == T0 + timedelta(hours=1)
    assert store.last_cron_slot("dev", "other") is None
    store.delete_actor("dev", "a1")
    assert store.last_cron_slot("dev", "a1") is None


def test_concurrent_schedulers_record_each_slot_once(make_store):
    stores = [make_store() for _ in range(4)]
    stores[0].create_actor(f.actor(actor_id="a1"))
    slots = [T0 + timedelta(hours=h) for h in range(25)]
    wins: list[datetime] = []
    lock = threading.Lock()

    def scheduler(store) -> None:
        for slot in slots:
            if store.record_cron_slot("dev", "a1", slot, slot):
                with lock:
                    wins.append(slot)

    threads = [threading.Thread(target=scheduler, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == slots
