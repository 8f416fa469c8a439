"""Each actor's webhook signing secret (our extension of spec §10.2): made once, kept
encrypted, rotated, deleted with its actor; unavailable without an encryption key."""

from __future__ import annotations

import json

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore

from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.crypto import SecretsUnavailable
from abaco_core.errors import ActorNotFound, ConfigError
from abaco_core.events.signing import KIND
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings, load_settings

T = "local"


def make_platform(tmp_path, **settings) -> Platform:
    s = Settings(data_dir=str(tmp_path), init_count=0, cron_interval=0, events_interval=0, **settings)
    return Platform(
        s, build_plugin_manager(), MemoryStore(), LocalQueue(str(tmp_path / "q.db")), FakeBackend()
    )


@pytest.fixture
def platform(tmp_path):
    p = make_platform(tmp_path)
    yield p
    p.stop()


def actor(p: Platform) -> str:
    fields = parse_actor_fields(FieldSource(json={"image": "abaco-test/busybox:1"}))
    return p.register_actor(fields, tenant=T, owner="alice").id


def test_one_secret_per_actor_made_once_and_kept_encrypted(platform):
    a, b = actor(platform), actor(platform)
    secret = platform.webhook_secrets.get(T, a)
    assert platform.webhook_secrets.get(T, a) == secret
    assert platform.webhook_secrets.get(T, b) != secret
    stored = platform.store.get_object(T, KIND, a)
    assert secret not in json.dumps(stored) and platform.secrets.decrypt(stored["secret"]) == secret


def test_rotation_replaces_the_secret(platform):
    a = actor(platform)
    old = platform.webhook_secrets.get(T, a)
    new = platform.webhook_secrets.rotate(T, a)
    assert new != old and platform.webhook_secrets.get(T, a) == new
    b = actor(platform)
    assert platform.webhook_secrets.rotate(T, b) == platform.webhook_secrets.get(T, b)  # none before


def test_the_secret_goes_with_its_actor_and_none_is_made_for_a_missing_one(platform):
    a = actor(platform)
    platform.webhook_secrets.get(T, a)
    platform.delete_actor(platform.store.get_actor(T, a))
    assert platform.store.list_objects(T, KIND) == []
    with pytest.raises(ActorNotFound):
        platform.webhook_secrets.get(T, a)
    assert platform.store.list_objects(T, KIND) == []


def test_without_an_encryption_key_there_is_no_secret(tmp_path):
    p = make_platform(tmp_path, database_url="postgresql://x@localhost/db")
    try:
        with pytest.raises(SecretsUnavailable):
            p.webhook_secrets.get(T, actor(p))
    finally:
        p.stop()


def test_an_undecryptable_secret_is_a_clear_error(platform):
    a = actor(platform)
    platform.store.create_object(T, KIND, a, {"secret": "not-a-token"})
    with pytest.raises(ConfigError, match=f"webhook signing secret of actor {a}.*rotate it"):
        platform.webhook_secrets.get(T, a)
    new = platform.webhook_secrets.rotate(T, a)
    assert platform.webhook_secrets.get(T, a) == new


@pytest.mark.parametrize(
    "source", [{"environ": {"ABACO_WEBHOOK_SECRET": "s"}}, {"overrides": {"webhook_secret": "s"}}]
)
def test_the_deployment_wide_secret_is_refused_with_what_replaced_it(source):
    with pytest.raises(ConfigError, match="ABACO_WEBHOOK_SECRET is no longer used") as err:
        load_settings(**{"environ": {}, **source})
    assert "/webhook/secret" in err.value.message
