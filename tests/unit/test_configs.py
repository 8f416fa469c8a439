"""Actor configs at the platform level, with explicit identities (spec §5.13; Q13, Q18, Q35):
who may attach a config to which actor, who sees which config, exact matching, cascades,
the name rules, and where the encryption key comes from."""

from __future__ import annotations

import os
import stat

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore
from cryptography.fernet import Fernet

from abaco_core.access import ADMIN_ROLE, USER_ROLE, WORLD, Identity
from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.configs import ConfigFields, parse_config_fields
from abaco_core.crypto import KEY_FILE, SecretBox, SecretsUnavailable
from abaco_core.errors import ConfigError, Conflict, InvalidRequest, NotFound, PermissionDenied
from abaco_core.platform import Platform
from abaco_core.plugins import build_plugin_manager
from abaco_core.settings import Settings

T = "t"
ALICE = Identity(T, "alice", (USER_ROLE,))
BOB = Identity(T, "bob", (USER_ROLE,))
ADMIN = Identity(T, "root", (ADMIN_ROLE,))


@pytest.fixture
def platform(tmp_path):
    settings = Settings(data_dir=str(tmp_path), init_count=0, cron_interval=0, events_interval=0)
    p = Platform(
        settings, build_plugin_manager(), MemoryStore(), LocalQueue(str(tmp_path / "q.db")), FakeBackend()
    )
    yield p
    p.stop()


def actor_of(p: Platform, owner: Identity):
    fields = parse_actor_fields(FieldSource(json={"image": "abaco-test/busybox:1"}))
    return p.register_actor(fields, tenant=owner.tenant, owner=owner.username, who=owner)


def alias(p: Platform, name: str, actor_id: str, owner: str = "alice") -> None:
    p.store.create_object(T, "alias", name, {"alias": name, "actor_id": actor_id, "owner": owner})


def fields(name: str, actors: str, value: str = "v", secret: bool = False) -> ConfigFields:
    return ConfigFields(name=name, value=value, is_secret=secret, actors=actors)


# -- Q13: UPDATE on every listed actor ---------------------------------------------------------


def test_creator_gets_update_and_the_document_shape(platform):
    a = actor_of(platform, ALICE)
    doc = platform.configs.create(ALICE, fields("c1", a.id))
    assert doc == {"name": "c1", "value": "v", "is_secret": False, "actors": a.id}
    assert platform.store.get_permissions(T, "config", "c1") == {"alice": "UPDATE"}


@pytest.mark.parametrize("level", [None, "READ", "EXECUTE"])
def test_attaching_to_an_actor_without_update_is_refused_and_nothing_is_stored(platform, level):
    a = actor_of(platform, ALICE)
    if level:
        platform.store.set_permission(T, "actor", a.id, "bob", level)
    with pytest.raises(PermissionDenied) as err:
        platform.configs.create(BOB, fields("c1", a.id, "secret-value", secret=True))
    assert err.value.message == f"Not authorized -- you do not have access to {a.id}."
    assert err.value.status == 400
    assert platform.store.list_objects(T, "config") == []
    assert platform.store.get_permissions(T, "config", "c1") == {}


def test_update_granted_by_the_world_entry_counts(platform):
    a = actor_of(platform, ALICE)
    platform.store.set_permission(T, "actor", a.id, WORLD, "UPDATE")
    platform.configs.create(BOB, fields("c1", a.id))


def test_an_alias_counts_as_its_actor_and_is_named_in_the_refusal(platform):
    a = actor_of(platform, ALICE)
    b = actor_of(platform, BOB)
    alias(platform, "alices.alias", a.id)
    with pytest.raises(PermissionDenied) as err:
        platform.configs.create(BOB, fields("c1", f"{b.id},alices.alias"))
    assert err.value.message == "Not authorized -- you do not have access to alices.alias."
    platform.store.set_permission(T, "actor", a.id, "bob", "UPDATE")
    # UPDATE on the alias object alone would not do: the actor's level is what counts
    platform.configs.create(BOB, fields("c1", f"{b.id},alices.alias"))


def test_admin_passes_the_actor_check(platform):
    a = actor_of(platform, ALICE)
    platform.configs.create(ADMIN, fields("c1", a.id))
    assert platform.store.get_permissions(T, "config", "c1") == {"root": "UPDATE"}


def test_unknown_actor_or_alias_is_a_404_before_the_permission_check(platform):
    a = actor_of(platform, ALICE)
    with pytest.raises(NotFound) as err:
        platform.configs.create(BOB, fields("c1", f"{a.id},nosuchalias"))
    assert err.value.message == "No actor or alias found with id: nosuchalias."
    with pytest.raises(NotFound):
        platform.configs.create(ALICE, fields("c1", "kYg3bDZVZMGr"))  # an id of no actor


def test_an_actor_of_another_tenant_is_not_found(platform):
    other = Identity("elsewhere", "alice", (USER_ROLE,))
    theirs = actor_of(platform, other)
    with pytest.raises(NotFound):
        platform.configs.create(ALICE, fields("c1", theirs.id))


def test_put_applies_the_same_rule(platform):
    a = actor_of(platform, ALICE)
    b = actor_of(platform, BOB)
    platform.configs.create(ALICE, fields("c1", a.id))
    platform.store.set_permission(T, "config", "c1", "bob", "UPDATE")
    with pytest.raises(PermissionDenied):
        platform.configs.update(BOB, "c1", fields("c1", f"{a.id},{b.id}", "new"))
    # alice's actor is in the list and bob lacks UPDATE on it: unchanged
    assert platform.configs.get(ALICE, "c1")["value"] == "v"
    platform.configs.update(BOB, "c1", fields("c1", b.id, "new"))
    assert platform.configs.get(BOB, "c1") == {
        "name": "c1",
        "value": "new",
        "is_secret": False,
        "actors": b.id,
    }


def test_uniqueness_message(platform):
    a = actor_of(platform, ALICE)
    platform.configs.create(ALICE, fields("c1", a.id))
    with pytest.raises(Conflict) as err:
        platform.configs.create(ALICE, fields("c1", a.id))
    assert err.value.message == "Config c1 already exists; please choose another name for your config"
    assert err.value.status == 400


# -- reading, updating, deleting a config -------------------------------------------------------


def test_levels_on_the_config_itself(platform):
    a = actor_of(platform, ALICE)
    platform.configs.create(ALICE, fields("c1", a.id))
    message = "You do not have sufficient access to this actor config."
    with pytest.raises(PermissionDenied, match=message):
        platform.configs.get(BOB, "c1")
    platform.store.set_permission(T, "config", "c1", "bob", "READ")
    assert platform.configs.get(BOB, "c1")["name"] == "c1"
    with pytest.raises(PermissionDenied, match=message):
        platform.configs.delete(BOB, "c1")
    with pytest.raises(NotFound, match=r"^No config found: nope\.$"):
        platform.configs.get(BOB, "nope")
    assert platform.configs.get(ADMIN, "c1")["name"] == "c1"


def test_list_shows_only_readable_configs_and_admin_does_not_widen_it(platform):
    a = actor_of(platform, ALICE)
    for name in ("mine", "shared", "world", "hidden"):
        platform.configs.create(ALICE, fields(name, a.id))
    platform.store.set_permission(T, "config", "shared", "bob", "READ")
    platform.store.set_permission(T, "config", "world", WORLD, "READ")
    platform.store.set_permission(T, "config", "hidden", "bob", "NONE")
    assert [d["name"] for d in platform.configs.list(BOB)] == ["shared", "world"]
    assert [d["name"] for d in platform.configs.list(ALICE)] == ["mine", "shared", "world", "hidden"]
    # the world entry counts for everyone; the admin role adds nothing
    assert [d["name"] for d in platform.configs.list(ADMIN)] == ["world"]
    assert platform.configs.list(Identity("elsewhere", "alice", (USER_ROLE,))) == []


def test_delete_removes_the_config_and_its_permissions(platform):
    a = actor_of(platform, ALICE)
    platform.configs.create(ALICE, fields("c1", a.id))
    platform.store.set_permission(T, "config", "c1", "bob", "READ")
    platform.configs.delete(ALICE, "c1")
    assert platform.store.list_objects(T, "config") == []
    assert platform.store.get_permissions(T, "config", "c1") == {}
    # the name is free again
    platform.configs.create(ALICE, fields("c1", a.id))


# -- Q18 exact matching, Q35 cascades -----------------------------------------------------------


def test_configs_of_an_actor_match_entries_exactly(platform):
    a = actor_of(platform, ALICE)
    b = actor_of(platform, ALICE)
    alias(platform, "prod", a.id)
    alias(platform, "production", b.id)
    platform.configs.create(ALICE, fields("by_id", f" {a.id} ,{b.id}"))
    platform.configs.create(ALICE, fields("by_alias", "prod"))
    platform.configs.create(ALICE, fields("other_alias", "production"))
    platform.configs.create(ALICE, fields("only_b", b.id))
    assert platform.configs.for_actor(a) == {"by_id": "v", "by_alias": "v"}
    assert platform.configs.for_actor(b) == {"by_id": "v", "other_alias": "v", "only_b": "v"}


def test_secret_values_are_decrypted_only_for_the_environment(platform):
    a = actor_of(platform, ALICE)
    doc = platform.configs.create(ALICE, fields("s", a.id, "hunter2", secret=True))
    assert doc["value"] != "hunter2" and "hunter2" not in str(platform.store.objects)
    assert platform.secrets.decrypt(doc["value"]) == "hunter2"
    assert platform.configs.for_actor(a) == {"s": "hunter2"}


def test_deleting_an_actor_removes_its_id_from_every_config(platform):
    a = actor_of(platform, ALICE)
    b = actor_of(platform, ALICE)
    alias(platform, "keep.me", b.id)
    platform.configs.create(ALICE, fields("both", f"{a.id},keep.me, {b.id}"))
    platform.configs.create(ALICE, fields("only_a", a.id))
    platform.delete_actor(platform.store.get_actor(T, a.id))
    assert platform.configs.get(ALICE, "both")["actors"] == f"keep.me, {b.id}"
    assert platform.configs.get(ALICE, "only_a")["actors"] == ""
    assert platform.configs.remove_identifier(T, "keep.me") == 1
    assert platform.configs.get(ALICE, "both")["actors"] == f" {b.id}"


# -- parsing and name rules ---------------------------------------------------------------------


def parse(body: dict, name: str | None = None) -> ConfigFields:
    return parse_config_fields(FieldSource(json=body), name=name)


def test_parsing_accepts_both_spellings_and_string_booleans():
    got = parse({"name": "n", "value": 5, "isSecret": "false", "actors": ["x", "y"]})
    assert got == ConfigFields("n", "5", False, "x,y")
    form = parse_config_fields(
        FieldSource(form={"name": ["n"], "value": ["v"], "is_secret": ["True"], "actors": ["a"]})
    )
    assert form == ConfigFields("n", "v", True, "a")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"value": "v", "is_secret": False, "actors": "a"}, "Missing required field: name."),
        ({"name": "n", "is_secret": False, "actors": "a"}, "Missing required field: value."),
        ({"name": "n", "value": "v", "actors": "a"}, "Missing required field: is_secret."),
        ({"name": "n", "value": "v", "is_secret": False}, "Missing required field: actors."),
        ({"name": "n", "value": "v", "is_secret": "perhaps", "actors": "a"}, "is_secret must be a boolean"),
        ({"name": "n", "value": {"a": 1}, "is_secret": False, "actors": "a"}, "value must be a string"),
        (
            {"name": "n", "value": "v", "is_secret": False, "actors": " , "},
            "actors must be a comma-separated",
        ),
        ({"name": "n", "value": "v", "is_secret": False, "actors": 7}, "actors must be a comma-separated"),
        ({"name": "", "value": "v", "is_secret": False, "actors": "a"}, "name must be a non-empty string"),
        ({"name": "admin", "value": "v", "is_secret": False, "actors": "a"}, "admin is a reserved word."),
        ({"name": "utilization", "value": "v", "is_secret": False, "actors": "a"}, "is a reserved word."),
        ({"name": "a b", "value": "v", "is_secret": False, "actors": "a"}, "' ' is a forbidden character."),
        ({"name": "a/b", "value": "v", "is_secret": False, "actors": "a"}, "'/' is a forbidden character."),
        ({"name": "a,b", "value": "v", "is_secret": False, "actors": "a"}, "',' is a forbidden character."),
    ],
)
def test_bad_bodies(body, message):
    with pytest.raises(InvalidRequest) as err:
        parse(body)
    assert err.value.status == 400
    assert message in err.value.message


@pytest.mark.parametrize("field", ["name", "value", "actors"])
def test_text_without_a_utf8_encoding_is_refused_without_echoing_it(field):
    body = {"name": "n", "value": "v", "is_secret": True, "actors": "a", field: "pw-\ud800-tail"}
    with pytest.raises(InvalidRequest) as err:
        parse(body)
    assert err.value.message == (
        f"Invalid actor config description: {field} must be valid UTF-8 text (it holds an unpaired surrogate)."
    )
    assert err.value.__context__ is None and err.value.__cause__ is None


def test_encrypting_a_lone_surrogate_is_a_400_that_carries_no_plaintext(tmp_path):
    with pytest.raises(InvalidRequest) as err:
        SecretBox(Settings(data_dir=str(tmp_path))).encrypt("pw-\ud800-tail")
    assert "tail" not in err.value.message and err.value.__context__ is None


def test_put_cannot_rename():
    assert parse({"value": "v", "is_secret": False, "actors": "a"}, name="n").name == "n"
    assert parse({"name": "n", "value": "v", "is_secret": False, "actors": "a"}, name="n").name == "n"
    with pytest.raises(InvalidRequest, match="cannot be changed"):
        parse({"name": "m", "value": "v", "is_secret": False, "actors": "a"}, name="n")


def test_dotted_names_are_allowed():
    assert parse({"name": "my.config", "value": "v", "is_secret": False, "actors": "a"}).name == "my.config"


# -- the encryption key -------------------------------------------------------------------------


def test_embedded_mode_generates_one_private_key_and_keeps_it(tmp_path):
    box = SecretBox(Settings(data_dir=str(tmp_path)))
    token = box.encrypt("x")
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # a restart (a new box) reads the same key
    assert SecretBox(Settings(data_dir=str(tmp_path))).decrypt(token) == "x"


def test_configured_keys_rotate_and_a_wrong_key_is_a_clear_error(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox(Settings(data_dir=str(tmp_path), encryption_key=old)).encrypt("x")
    rotated = SecretBox(Settings(data_dir=str(tmp_path), encryption_key=f"{new},{old}"))
    assert rotated.decrypt(token) == "x"
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ConfigError, match="'db' cannot be decrypted") as err:
        SecretBox(Settings(data_dir=str(tmp_path), encryption_key=new)).decrypt(token, name="db")
    assert "x" not in err.value.message.replace("decrypted", "")


def test_a_malformed_key_fails_at_start_without_showing_it(tmp_path):
    box = SecretBox(Settings(data_dir=str(tmp_path), encryption_key="not-a-key"))
    with pytest.raises(ConfigError) as err:
        box.check()
    assert "key 1 is not a Fernet key" in err.value.message and "not-a-key" not in err.value.message


def test_a_cluster_store_without_a_key_refuses_secrets_with_503(tmp_path):
    box = SecretBox(Settings(data_dir=str(tmp_path), database_url="postgresql://x@localhost/db"))
    with pytest.raises(SecretsUnavailable) as err:
        box.encrypt("x")
    assert err.value.status == 503 and "ABACO_ENCRYPTION_KEY" in err.value.message
    assert not (tmp_path / KEY_FILE).exists()
