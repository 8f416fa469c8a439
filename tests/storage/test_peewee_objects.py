"""Objects (JSON documents by kind) and permissions, on SQLite and PostgreSQL, and the same
contract on the harness's MemoryStore."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from abaco_harness.fakes import MemoryStore
from abaco_peewee.store import PeeweeStore

from abaco_core.errors import Conflict, InvalidRequest, ObjectNotFound


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "memory"])
def any_store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    built = PeeweeStore(request.getfixturevalue(f"{request.param}_url"))
    built.migrate()
    yield built
    built.close()


def test_create_get_list_delete(any_store):
    s = any_store
    s.create_object("t1", "alias", "b", {"actor_id": "X1"})
    s.create_object("t1", "alias", "a", {"actor_id": "X2"})
    s.create_object("t2", "alias", "a", {"actor_id": "X3"})
    s.create_object("t1", "nonce", "a", {"level": "READ"})
    assert s.get_object("t1", "alias", "a") == {"actor_id": "X2"}
    assert s.list_objects("t1", "alias") == [("b", {"actor_id": "X1"}), ("a", {"actor_id": "X2"})]
    assert sorted(k for k, _ in s.list_objects(None, "alias")) == ["a", "a", "b"]
    with pytest.raises(Conflict):
        s.create_object("t1", "alias", "a", {"actor_id": "other"})
    assert s.get_object("t1", "alias", "a") == {"actor_id": "X2"}
    assert s.delete_object("t1", "alias", "a") is True
    assert s.delete_object("t1", "alias", "a") is False
    with pytest.raises(ObjectNotFound):
        s.get_object("t1", "alias", "a")
    assert s.get_object("t2", "alias", "a") == {"actor_id": "X3"}


def test_update_object_changes_keeps_and_aborts(any_store):
    s = any_store
    s.create_object("t", "nonce", "n1", {"uses": 0})
    assert s.update_object("t", "nonce", "n1", lambda d: {**d, "uses": d["uses"] + 1}) == {"uses": 1}
    assert s.update_object("t", "nonce", "n1", lambda d: None) == {"uses": 1}

    def refuse(doc):
        raise InvalidRequest("No remaining uses left for this nonce.")

    with pytest.raises(InvalidRequest):
        s.update_object("t", "nonce", "n1", refuse)
    assert s.get_object("t", "nonce", "n1") == {"uses": 1}
    with pytest.raises(ObjectNotFound):
        s.update_object("t", "nonce", "missing", lambda d: d)


def test_update_object_is_atomic_between_threads(store, make_store):
    """20 threads, each on its own store (own connections), decrement a counter of 10: exactly
    10 succeed and the counter ends at 0."""
    store.create_object("t", "nonce", "n", {"remaining": 10})
    stores = [make_store(migrate=False) for _ in range(20)]
    barrier = threading.Barrier(20)

    def take(doc):
        if doc["remaining"] <= 0:
            raise InvalidRequest("none left")
        return {"remaining": doc["remaining"] - 1}

    def redeem(i: int) -> bool:
        barrier.wait()
        try:
            stores[i].update_object("t", "nonce", "n", take)
            return True
        except InvalidRequest:
            return False

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(redeem, range(20)))
    assert outcomes.count(True) == 10
    assert store.get_object("t", "nonce", "n") == {"remaining": 0}


def test_permissions(any_store):
    s = any_store
    assert s.get_permissions("t", "actor", "A") == {}
    s.set_permission("t", "actor", "A", "alice", "UPDATE")
    s.set_permission("t", "actor", "A", "bob", "READ")
    s.set_permission("t", "actor", "A", "alice", "READ")  # replaces, keeps its place
    s.set_permission("t", "actor", "B", "bob", "EXECUTE")
    s.set_permission("t", "alias", "A", "carol", "UPDATE")
    s.set_permission("u", "actor", "A", "bob", "UPDATE")
    assert list(s.get_permissions("t", "actor", "A").items()) == [("alice", "READ"), ("bob", "READ")]
    assert s.permissions_of("t", "actor", ["bob", "ABACO_WORLD"]) == {
        "A": {"bob": "READ"},
        "B": {"bob": "EXECUTE"},
    }
    assert s.permissions_of("t", "actor", []) == {}
    s.delete_permissions("t", "actor", "A")
    assert s.get_permissions("t", "actor", "A") == {}
    assert s.get_permissions("t", "alias", "A") == {"carol": "UPDATE"}
    assert s.get_permissions("u", "actor", "A") == {"bob": "UPDATE"}


def test_owners_of_older_actors_get_update(make_store):
    """Migration step 6: actors stored before permissions existed become their owners'."""
    from abaco_peewee import migrations
    from peewee_factories import actor

    store = make_store(migrate=False)
    migrations.migrate(store.database, target=5)
    store.create_actor(actor(actor_id="old", owner="olga"))
    store.create_actor(actor(actor_id="shared", owner="sam"))
    store.set_permission("dev", "actor", "shared", "sam", "READ")
    store.migrate()
    assert store.get_permissions("dev", "actor", "old") == {"olga": "UPDATE"}
    # an entry that exists is kept as it is
    assert store.get_permissions("dev", "actor", "shared") == {"sam": "READ"}
