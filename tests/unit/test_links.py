"""Link validation at the platform level (spec §10.3, Q12): targets by id or alias, no self
link, no cycle (resolving aliases), and EXECUTE on the target."""

from __future__ import annotations

import time

import pytest
from abaco_harness.fakes import FakeBackend, MemoryStore

from abaco_core.access import ADMIN_ROLE, USER_ROLE, WORLD, Identity
from abaco_core.actor_fields import FieldSource, parse_actor_fields
from abaco_core.aliases import update_alias
from abaco_core.builtin.local_queue import LocalQueue
from abaco_core.errors import InvalidRequest, PermissionDenied
from abaco_core.links import CYCLE, NOT_A_TARGET, SELF_LINK, find_cycle
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


def register(p: Platform, who: Identity = ALICE, **fields):
    parsed = parse_actor_fields(FieldSource(json={"image": "abaco-test/busybox:1", **fields}))
    return p.register_actor(parsed, tenant=who.tenant, owner=who.username, who=who)


def relink(p: Platform, actor, link: str, who: Identity = ALICE):
    parsed = parse_actor_fields(FieldSource(json={"image": actor.image, "link": link}), update=True)
    return p.update_actor(p.store.get_actor(T, actor.id), parsed, who=who)


def alias(p: Platform, name: str, actor_id: str) -> None:
    p.store.create_object(T, "alias", name, {"alias": name, "actor_id": actor_id, "owner": "alice"})


def test_a_chain_and_converging_chains_are_accepted(platform):
    d = register(platform)
    c = register(platform, link=d.id)
    b = register(platform, link=c.id)
    a = register(platform, link=b.id)
    e = register(platform, link=c.id)  # converges on c
    assert [x.link for x in (a, b, c, e)] == [b.id, c.id, d.id, c.id]
    relink(platform, d, "")  # an unrelated update of the chain's end stays fine


def test_two_actors_linking_each_other_is_a_cycle(platform):
    b = register(platform)
    a = register(platform, link=b.id)
    with pytest.raises(InvalidRequest) as err:
        relink(platform, b, a.id)
    assert err.value.message == CYCLE == "Error: this update would result in a cycle of linked actors."
    assert platform.store.get_actor(T, b.id).link == ""


def test_a_five_node_loop_is_a_cycle(platform):
    nodes = [register(platform)]
    for _ in range(4):
        nodes.append(register(platform, link=nodes[-1].id))
    # n4 -> n3 -> n2 -> n1 -> n0; closing n0 -> n4 makes a loop of five
    with pytest.raises(InvalidRequest, match="cycle of linked actors"):
        relink(platform, nodes[0], nodes[4].id)
    relink(platform, nodes[0], "")


def test_a_cycle_through_an_alias_is_found(platform):
    b = register(platform)
    a = register(platform, link=b.id)
    alias(platform, "the-a", a.id)
    with pytest.raises(InvalidRequest, match="cycle of linked actors"):
        relink(platform, b, "the-a")
    # and a link stored as an alias is followed too
    c = register(platform)
    alias(platform, "the-c", c.id)
    relink(platform, b, "the-c")
    with pytest.raises(InvalidRequest, match="cycle of linked actors"):
        relink(platform, c, a.id)


def test_repointing_an_alias_is_checked_for_every_actor_linking_through_it(platform):
    a, b, c, d = (register(platform) for _ in range(4))
    alias(platform, "hop", c.id)
    relink(platform, a, "hop")  # a -> hop (c)
    relink(platform, d, "hop")  # d -> hop (c)
    relink(platform, b, a.id)  # b -> a
    with pytest.raises(InvalidRequest) as err:
        update_alias(platform.store, ALICE, "hop", b.id)  # a -> b -> a
    assert err.value.message == CYCLE
    with pytest.raises(InvalidRequest, match="cycle of linked actors"):
        update_alias(platform.store, ALICE, "hop", d.id)  # d -> d
    assert platform.store.get_object(T, "alias", "hop")["actor_id"] == c.id
    e = register(platform)
    assert update_alias(platform.store, ALICE, "hop", e.id)["actor_id"] == e.id


def test_a_loop_stored_despite_the_checks_is_not_followed(platform, caplog):
    """Two API processes may each check one half of a loop before either writes it: the
    events agent refuses to carry an event around the loop."""
    b = register(platform)
    a = register(platform, link=b.id)
    c = register(platform, link=a.id)  # c is not on the loop: its events reach a once
    platform.store.save_actor(platform.store.get_actor(T, b.id).replace(link=a.id))  # the race's result
    emit = platform._event_producer.emit
    emit(platform.store.get_actor(T, a.id), "ACTOR_READY", status_message="")
    emit(platform.store.get_actor(T, c.id), "ACTOR_READY", status_message="")
    for _ in range(5):  # the worker started for a's execution may emit more events
        platform.events.tick()
        time.sleep(0.05)
    assert platform.store.list_executions(T, b.id) == []
    assert [e.executor for e in platform.store.list_executions(T, a.id)] == ["Abaco Event"]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("loop of links" in m and a.id in m and b.id in m for m in warned), warned


def test_self_links_by_id_or_alias_are_refused(platform):
    c = register(platform)
    with pytest.raises(InvalidRequest) as err:
        relink(platform, c, c.id)
    assert err.value.message == SELF_LINK
    alias(platform, "me", c.id)
    with pytest.raises(InvalidRequest, match="cannot link to itself"):
        relink(platform, c, "me")


def test_unknown_targets(platform):
    with pytest.raises(InvalidRequest) as err:
        register(platform, link="kYg3bDZVZMGr")
    assert err.value.message == NOT_A_TARGET
    with pytest.raises(InvalidRequest, match="unable to retrieve linked actor data"):
        register(platform, link="no-such-alias")
    theirs = register(platform, Identity("elsewhere", "alice", (ADMIN_ROLE,)))
    with pytest.raises(InvalidRequest, match="unable to retrieve linked actor data"):
        register(platform, ADMIN, link=theirs.id)


@pytest.mark.parametrize(
    "grant, allowed",
    [
        (None, False),
        ("READ", False),
        ("EXECUTE", True),
        ("UPDATE", True),
        ("world:EXECUTE", True),
        ("world:READ", False),
    ],
)
def test_execute_on_the_target_is_required(platform, grant, allowed):
    target = register(platform, ALICE)
    if grant and grant.startswith("world:"):
        platform.store.set_permission(T, "actor", target.id, WORLD, grant.split(":")[1])
    elif grant:
        platform.store.set_permission(T, "actor", target.id, "bob", grant)
    if allowed:
        assert register(platform, BOB, link=target.id).link == target.id
    else:
        with pytest.raises(PermissionDenied) as err:
            register(platform, BOB, link=target.id)
        assert err.value.status == 400 and err.value.message == NOT_A_TARGET
    # the same rule on update, through an alias
    alias(platform, f"to-{grant}", target.id)
    own = register(platform, BOB)
    if allowed:
        assert relink(platform, own, f"to-{grant}", BOB).link == f"to-{grant}"
    else:
        with pytest.raises(PermissionDenied):
            relink(platform, own, f"to-{grant}", BOB)


def test_admins_may_link_to_any_actor_of_the_tenant(platform):
    target = register(platform, ALICE)
    assert register(platform, ADMIN, link=target.id).link == target.id


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "not a url",
        "http://",
        "/relative/path",
        "http://h/a b",
        "http://[::1/x",
        "http://h/\x01x",
    ],
)
def test_webhooks_must_be_http_urls(platform, url):
    with pytest.raises(InvalidRequest, match="the webhook must be an absolute http or https URL"):
        register(platform, webhook=url)


def test_private_webhook_targets_follow_the_setting(tmp_path):
    settings = Settings(
        data_dir=str(tmp_path), init_count=0, cron_interval=0, events_interval=0, auth=["token"]
    )
    p = Platform(
        settings, build_plugin_manager(), MemoryStore(), LocalQueue(str(tmp_path / "q.db")), FakeBackend()
    )
    try:
        with pytest.raises(InvalidRequest, match="loopback, link-local, private or multicast"):
            register(p, webhook="http://169.254.169.254/latest/meta-data")
        assert register(p, webhook="https://hooks.example/x").webhook == "https://hooks.example/x"
        settings.webhook_allow_private = True
        assert register(p, webhook="http://127.0.0.1:9/x").webhook == "http://127.0.0.1:9/x"
    finally:
        p.stop()


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc/x", "http://127.0.0.1:99999/x", "http://h:0/x"])
def test_a_webhook_port_must_be_a_tcp_port(platform, url):
    with pytest.raises(InvalidRequest, match="the port of the webhook must be a number from 1 to 65535"):
        register(platform, webhook=url)


def test_find_cycle_returns_the_loop():
    assert find_cycle({"a": "b", "b": "c", "c": "a"}, "a") == ["a", "b", "c", "a"]
    assert find_cycle({"x": "a", "a": "b", "b": "a"}, "x") == ["a", "b", "a"]
    assert find_cycle({"a": "b", "b": "c"}, "a") is None
