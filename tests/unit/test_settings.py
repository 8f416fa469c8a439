"""Settings never show their secrets (repr, the platform's description)."""

from __future__ import annotations

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore
from cryptography.fernet import Fernet

from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings, redact_url

KEY = Fernet.generate_key().decode()
DB = "postgresql://abaco:db-pass-1@db.example:5432/abaco?sslmode=require&password=db-pass-2"
REDIS = "redis://:redis-pass@cache:6379/0"


def test_repr_shows_no_secret():
    settings = Settings(encryption_key=KEY, database_url=DB, plugin={"redis_url": REDIS})
    shown = repr(settings)
    for secret in (KEY, "db-pass-1", "db-pass-2", "redis-pass"):
        assert secret not in shown
    assert "port=8000" in shown  # the rest is still there


@pytest.mark.parametrize(
    "url, expected",
    [
        (DB, "postgresql://abaco:***@db.example:5432/abaco?sslmode=require&password=***"),
        (REDIS, "redis://:***@cache:6379/0"),
        ("sqlite:////var/lib/abaco/abaco.db", "sqlite:////var/lib/abaco/abaco.db"),
        ("postgresql://abaco@db/abaco", "postgresql://abaco@db/abaco"),
        ("postgresql://u:p@[::1/x", "postgresql://***"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_the_platform_description_redacts_the_database_url(tmp_path):
    settings = Settings(
        data_dir=str(tmp_path), database_url=DB, init_count=0, cron_interval=0, events_interval=0
    )
    p = Platform(
        settings, build_plugin_manager(), MemoryStore(), LocalQueue(str(tmp_path / "q.db")), FakeBackend()
    )
    try:
        store = p.describe()["store"]
    finally:
        p.stop()
    assert "db-pass" not in store and store.startswith("postgresql://abaco:***@db.example")
