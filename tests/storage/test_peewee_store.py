"""Every method of the peewee store, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from peewee_factories import (
    T0,
    actor,
    execution,
    full_actor,
    full_execution,
    full_worker,
    message,
    worker,
)

from abaco_core.errors import (
    ActorNotFound,
    Conflict,
    ExecutionNotFound,
    InvalidRequest,
    WorkerNotFound,
)
from abaco_core.interfaces import Store
from abaco_core.models import (
    Actor,
    ActorStatus,
    Execution,
    ExecutionStatus,
    Worker,
    WorkerStatus,
)
from abaco_core.records import ExecutionTotals

S = ExecutionStatus


def test_is_a_store(store):
    assert isinstance(store, Store)
    assert store.name == "peewee"
    store.ping()


# -- actors -------------------------------------------------------------------------------


def test_actor_round_trip_every_field(store):
    original = full_actor()
    store.create_actor(original)
    loaded = store.get_actor("dev", "full")
    assert loaded == original
    for f in dataclasses.fields(Actor):
        assert type(getattr(loaded, f.name)) is type(getattr(original, f.name)), f.name
    assert loaded.status is ActorStatus.READY
    assert loaded.create_time.tzinfo is not None and loaded.create_time.utcoffset() == timedelta(0)
    assert loaded.create_time.microsecond == 123456


def test_actor_round_trip_defaults_and_nones(store):
    original = actor(actor_id="plain")
    store.create_actor(original)
    loaded = store.get_actor("dev", "plain")
    assert loaded == original
    assert loaded.name is None and loaded.create_time is None and loaded.max_workers is None
    assert loaded.token == "false" and loaded.status is ActorStatus.SUBMITTED


@pytest.mark.parametrize(
    "state",
    [
        {},
        [],
        "a string",
        "",
        5,
        -1.5,
        None,
        True,
        False,
        [1, "two", {"3": [4]}],
        {"é": {"deep": [None, {"x": "☃"}]}},
    ],
    ids=repr,
)
def test_actor_state_any_json_value(store, state):
    store.create_actor(actor(actor_id="s", state=state))
    loaded = store.get_actor("dev", "s").state
    assert loaded == state and type(loaded) is type(state)


def test_token_keeps_bool_or_string(store):
    store.create_actor(actor(actor_id="b", token=True))
    store.create_actor(actor(actor_id="s", token="true"))
    assert store.get_actor("dev", "b").token is True
    assert store.get_actor("dev", "s").token == "true"


def test_naive_datetimes_are_taken_as_utc(store):
    naive = datetime(2024, 1, 2, 3, 4, 5, 678000)
    store.create_actor(actor(actor_id="n", create_time=naive))
    assert store.get_actor("dev", "n").create_time == naive.replace(tzinfo=UTC)


def test_other_timezones_come_back_as_the_same_instant_in_utc(store):
    when = datetime(2024, 1, 2, 3, 4, 5, 1000, tzinfo=timezone(timedelta(hours=9)))
    store.create_actor(actor(actor_id="z", create_time=when))
    loaded = store.get_actor("dev", "z").create_time
    assert loaded == when and loaded.utcoffset() == timedelta(0)


def test_get_missing_actor(store):
    with pytest.raises(ActorNotFound):
        store.get_actor("dev", "nope")


def test_duplicate_actor_is_a_conflict(store):
    store.create_actor(actor(actor_id="dup"))
    with pytest.raises(Conflict, match="dup"):
        store.create_actor(actor(actor_id="dup", image="other"))
    assert store.get_actor("dev", "dup").image == "abaco/test:1"
    store.create_actor(actor(tenant="other", actor_id="dup"))  # same id, other tenant: fine


def test_list_actors_by_tenant_in_creation_order(store):
    ids = ["zeta", "alpha", "mid"]
    for actor_id in ids:
        store.create_actor(actor(actor_id=actor_id))
    store.create_actor(actor(tenant="t2", actor_id="other"))
    assert [a.id for a in store.list_actors("dev")] == ids
    assert [a.id for a in store.list_actors("t2")] == ["other"]
    assert [(a.tenant, a.id) for a in store.list_actors(None)] == [("dev", i) for i in ids] + [
        ("t2", "other")
    ]
    assert store.list_actors("empty") == []


def test_save_actor(store):
    original = actor(actor_id="sv")
    store.create_actor(original)
    changed = original.replace(status=ActorStatus.ERROR, status_message="boom", state=[1, 2], revision=2)
    store.save_actor(changed)
    assert store.get_actor("dev", "sv") == changed


def test_save_missing_actor(store):
    with pytest.raises(ActorNotFound):
        store.save_actor(actor(actor_id="ghost"))


def test_delete_actor_cascades_but_keeps_executions(store):
    keep, gone = actor(actor_id="keep"), actor(actor_id="gone")
    store.create_actor(keep)
    store.create_actor(gone)
    for a in (keep, gone):
        ex = execution(a.id, execution_id=f"{a.id}-ex")
        store.create_execution(ex, message(ex, b"\x00payload"))
        store.set_logs("dev", a.id, ex.id, "some logs", None)
        store.add_result("dev", a.id, ex.id, b"result", T0)
        assert store.add_worker(worker(a.id, worker_id=f"{a.id}-w"))

    store.delete_actor("dev", "gone")

    with pytest.raises(ActorNotFound):
        store.get_actor("dev", "gone")
    assert store.list_workers("dev", "gone") == []
    assert store.get_logs("dev", "gone", "gone-ex", T0) == ""
    assert store.get_message("dev", "gone", "gone-ex") is None
    assert store.pop_result("dev", "gone", "gone-ex", T0) is None
    assert store.get_execution("dev", "gone", "gone-ex").id == "gone-ex"
    assert [e.id for e in store.list_executions("dev", "gone")] == ["gone-ex"]
    assert store.execution_totals("dev", "gone").count == 1
    # the other actor is untouched
    assert store.get_actor("dev", "keep") == keep
    assert [w.id for w in store.list_workers("dev", "keep")] == ["keep-w"]
    assert store.get_logs("dev", "keep", "keep-ex", T0) == "some logs"
    assert store.get_message("dev", "keep", "keep-ex").payload == b"\x00payload"
    assert store.pop_result("dev", "keep", "keep-ex", T0) == b"result"


def test_delete_missing_actor_is_a_no_op(store):
    store.delete_actor("dev", "never-was")


def test_actor_can_be_recreated_after_delete(store):
    store.create_actor(actor(actor_id="again"))
    store.delete_actor("dev", "again")
    store.create_actor(actor(actor_id="again", image="new"))
    assert store.get_actor("dev", "again").image == "new"


# -- executions ---------------------------------------------------------------------------


def test_execution_round_trip_every_field(store):
    original = full_execution()
    store.create_execution(original, message(original))
    loaded = store.get_execution("dev", "a1", "exfull")
    assert loaded == original
    for f in dataclasses.fields(Execution):
        assert type(getattr(loaded, f.name)) is type(getattr(original, f.name)), f.name
    assert loaded.finish_time - loaded.start_time == timedelta(seconds=2, microseconds=999_007)


def test_execution_round_trip_defaults(store):
    original = Execution(tenant="dev", actor_id="a1", id="bare", executor="x")
    store.create_execution(original, message(original))
    loaded = store.get_execution("dev", "a1", "bare")
    assert loaded == original
    assert loaded.status is S.SUBMITTED and loaded.exit_code is None and loaded.final_state is None


@pytest.mark.parametrize("exit_code", [0, 137, "OOMKilled", None])
def test_exit_code_keeps_its_type(store, exit_code):
    ex = execution(exit_code=exit_code)
    store.create_execution(ex, message(ex))
    assert store.get_execution("dev", "a1", ex.id).exit_code == exit_code
    assert type(store.get_execution("dev", "a1", ex.id).exit_code) is type(exit_code)


def test_get_missing_execution(store):
    with pytest.raises(ExecutionNotFound):
        store.get_execution("dev", "a1", "nope")
    ex = execution(execution_id="here")
    store.create_execution(ex, message(ex))
    with pytest.raises(ExecutionNotFound):
        store.get_execution("dev", "other-actor", "here")
    with pytest.raises(ExecutionNotFound):
        store.get_execution("other-tenant", "a1", "here")


def test_duplicate_execution_is_a_conflict_and_writes_nothing(store):
    ex = execution(execution_id="dup")
    store.create_execution(ex, message(ex, "first"))
    again = ex.replace(executor="mallory")
    with pytest.raises(Conflict, match="dup"):
        store.create_execution(again, message(again, "second"))
    assert store.get_execution("dev", "a1", "dup").executor == "alice"
    assert store.get_message("dev", "a1", "dup").payload == "first"
    assert store.execution_totals("dev", "a1").count == 1


def test_execution_without_its_message_is_not_written(store):
    """The execution and its message go in together: when the message cannot be written,
    the execution is not written either."""
    ex = execution(execution_id="orphan")
    # a stray message row under the same key makes the message insert fail
    planted = execution(execution_id="orphan", actor_id="a1")
    db = store.database
    db.execute_sql(
        f'INSERT INTO "abaco_messages" ("tenant", "actor_id", "execution_id", "content_type", '
        f'"is_binary", "payload", "metadata") VALUES ({", ".join([db.param] * 7)})',
        (planted.tenant, planted.actor_id, planted.id, "text/plain", False, b'"stray"', "{}"),
    )
    with pytest.raises(Conflict):
        store.create_execution(ex, message(ex, "real"))
    with pytest.raises(ExecutionNotFound):
        store.get_execution("dev", "a1", "orphan")
    assert store.execution_totals("dev", "a1").count == 0
    assert store.get_message("dev", "a1", "orphan").payload == "stray"


def test_message_must_belong_to_the_execution(store):
    ex = execution(execution_id="mine")
    other = execution(execution_id="theirs")
    with pytest.raises(InvalidRequest):
        store.create_execution(ex, message(other))
    with pytest.raises(ExecutionNotFound):
        store.get_execution("dev", "a1", "mine")


def test_list_executions_in_insertion_order_with_filters_and_pages(store):
    ids = [f"e{n:02d}" for n in range(12)][::-1]  # ids sort the other way round
    statuses = [S.SUBMITTED, S.RUNNING, S.COMPLETE, S.ERROR]
    for n, ex_id in enumerate(ids):
        ex = execution(execution_id=ex_id, status=statuses[n % 4])
        store.create_execution(ex, message(ex))
    other = execution("a2", execution_id="elsewhere")
    store.create_execution(other, message(other))

    assert [e.id for e in store.list_executions("dev", "a1")] == ids
    assert [e.id for e in store.list_executions("dev", "a1", limit=5)] == ids[:5]
    assert [e.id for e in store.list_executions("dev", "a1", limit=5, offset=10)] == ids[10:]
    assert [e.id for e in store.list_executions("dev", "a1", offset=7)] == ids[7:]
    assert store.list_executions("dev", "a1", limit=0) == []
    assert store.list_executions("dev", "a1", offset=100) == []
    done = store.list_executions("dev", "a1", statuses=[S.COMPLETE, S.ERROR])
    assert [e.id for e in done] == [i for n, i in enumerate(ids) if n % 4 in (2, 3)]
    assert [e.id for e in store.list_executions("dev", "a1", statuses=["RUNNING"], limit=2)] == [
        ids[1],
        ids[5],
    ]
    assert store.list_executions("dev", "a1", statuses=[]) == []
    assert store.list_executions("dev", "nobody") == []
    assert store.count_executions("dev", "a1") == 12
    assert store.count_executions("dev", "a1", statuses=[S.COMPLETE, S.ERROR]) == 6
    assert store.count_executions("dev", "a1", statuses=[]) == 0
    assert store.count_executions("dev", "nobody") == 0
    with pytest.raises(InvalidRequest):
        store.list_executions("dev", "a1", limit=-1)
    with pytest.raises(InvalidRequest):
        store.list_executions("dev", "a1", statuses=["BOGUS"])


def test_executions_with_status_across_actors_and_tenants(store):
    made = []
    for tenant, actor_id, status in [
        ("dev", "a1", S.RUNNING),
        ("dev", "a2", S.SUBMITTED),
        ("t2", "a1", S.RUNNING),
        ("dev", "a1", S.COMPLETE),
        ("t2", "a9", S.SUBMITTED),
    ]:
        ex = execution(actor_id, tenant, status=status)
        store.create_execution(ex, message(ex))
        made.append(ex)
    found = store.executions_with_status([S.RUNNING, S.SUBMITTED])
    assert found == [made[0], made[1], made[2], made[4]]
    assert store.executions_with_status([S.ERROR]) == []
    assert store.executions_with_status([]) == []


def test_execution_totals(store):
    assert store.execution_totals("dev", "a1") == ExecutionTotals(0, 0, 0, 0)
    for cpu, io, runtime in [(10, 1, 2), (2**40, 5, 7), (0, 0, 0)]:
        ex = execution(cpu=cpu, io=io, runtime=runtime)
        store.create_execution(ex, message(ex))
    other = execution("a2", cpu=999)
    store.create_execution(other, message(other))
    assert store.execution_totals("dev", "a1") == ExecutionTotals(count=3, cpu=2**40 + 10, io=6, runtime=9)
    assert store.execution_totals("dev", "a2") == ExecutionTotals(count=1, cpu=999, io=0, runtime=0)


def test_update_execution_overwrites(store):
    ex = execution(execution_id="u")
    store.create_execution(ex, message(ex))
    done = full_execution(execution_id="u")
    assert store.update_execution(done) is True
    assert store.get_execution("dev", "a1", "u") == done
    assert store.execution_totals("dev", "a1") == ExecutionTotals(1, done.cpu, done.io, done.runtime)


def test_update_execution_compare_and_set(store):
    ex = execution(execution_id="cas")
    store.create_execution(ex, message(ex))
    running = ex.replace(status=S.RUNNING, worker_id="w1", start_time=T0)
    assert store.update_execution(running, expected=[S.SUBMITTED]) is True
    # a second claim with the same expectation loses, and writes nothing
    stolen = ex.replace(status=S.RUNNING, worker_id="w2")
    assert store.update_execution(stolen, expected=[S.SUBMITTED]) is False
    assert store.get_execution("dev", "a1", "cas") == running
    # expected may hold several statuses, and plain strings
    finished = running.replace(status=S.COMPLETE, exit_code=0, runtime=3)
    assert store.update_execution(finished, expected=["SUBMITTED", "RUNNING"]) is True
    assert store.get_execution("dev", "a1", "cas") == finished
    # an empty expectation never writes; no expectation always does
    assert store.update_execution(finished.replace(status=S.ERROR), expected=[]) is False
    assert store.update_execution(finished.replace(status=S.ERROR)) is True
    assert store.get_execution("dev", "a1", "cas").status is S.ERROR


def test_update_execution_compare_and_set_on_the_worker(store):
    """A worker declared dead cannot finish a run another worker took over."""
    ex = execution(execution_id="owned")
    store.create_execution(ex, message(ex))
    first = ex.replace(status=S.RUNNING, worker_id="w1", start_time=T0)
    assert store.update_execution(first, expected=[S.SUBMITTED]) is True
    # w1 is declared dead: its run goes back to the queue, and w2 takes it over
    again = first.replace(status=S.SUBMITTED, start_time=None)
    assert store.update_execution(again, expected=[S.RUNNING], expected_worker="w1") is True
    second = again.replace(status=S.RUNNING, worker_id="w2", start_time=T0)
    assert store.update_execution(second, expected=[S.SUBMITTED]) is True
    # the status matches what w1 expects, the worker does not: w1's result is refused
    late = first.replace(status=S.COMPLETE, exit_code=0)
    assert store.update_execution(late, expected=[S.RUNNING], expected_worker="w1") is False
    assert store.get_execution("dev", "a1", "owned") == second
    done = second.replace(status=S.COMPLETE, exit_code=0)
    assert store.update_execution(done, expected=[S.RUNNING], expected_worker="w2") is True
    assert store.get_execution("dev", "a1", "owned") == done


def test_update_missing_execution_writes_nothing(store):
    assert store.update_execution(execution(execution_id="ghost")) is False
    assert store.update_execution(execution(execution_id="ghost"), expected=[S.SUBMITTED]) is False
    with pytest.raises(ExecutionNotFound):
        store.get_execution("dev", "a1", "ghost")


# -- messages -----------------------------------------------------------------------------

PAYLOADS = [
    b"",
    b"\x00\x01\x02\xff" * 1000,
    bytes(range(256)),
    "plain text",
    "",
    "ünïcødé ☃ 𝄞 \x00 nul",
    "123",
    "null",
    '{"looks": "like json"}',
    {"a": 1, "b": [True, None, 2.5], "c": {"d": "é"}},
    [1, "two", None],
    42,
    -0.5,
    True,
    None,
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: repr(p)[:30])
def test_message_payload_round_trip(store, payload):
    ex = execution()
    content_type = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
    store.create_execution(ex, message(ex, payload, content_type, x="1", _abaco_username="ålice"))
    loaded = store.get_message("dev", "a1", ex.id)
    assert loaded.payload == payload
    assert type(loaded.payload) is type(payload)
    assert loaded.content_type == content_type
    assert loaded.metadata == {"x": "1", "_abaco_username": "ålice"}
    assert (loaded.tenant, loaded.actor_id, loaded.execution_id) == ("dev", "a1", ex.id)


def test_large_binary_message(store):
    payload = bytes(range(256)) * 8192  # 2 MiB
    ex = execution()
    store.create_execution(ex, message(ex, payload, "application/octet-stream"))
    assert store.get_message("dev", "a1", ex.id).payload == payload


def test_get_and_delete_message(store):
    assert store.get_message("dev", "a1", "none") is None
    ex = execution()
    store.create_execution(ex, message(ex))
    store.delete_message("dev", "a1", ex.id)
    assert store.get_message("dev", "a1", ex.id) is None
    store.delete_message("dev", "a1", ex.id)  # idempotent
    assert store.get_execution("dev", "a1", ex.id) == ex


# -- logs -----------------------------------------------------------------------------------


def test_logs_round_trip_and_overwrite(store):
    assert store.get_logs("dev", "a1", "e1", T0) == ""
    store.set_logs("dev", "a1", "e1", "first", None)
    assert store.get_logs("dev", "a1", "e1", T0) == "first"
    store.set_logs("dev", "a1", "e1", "second", None)
    assert store.get_logs("dev", "a1", "e1", T0) == "second"
    assert store.get_logs("dev", "a1", "e2", T0) == ""
    assert store.get_logs("dev", "a2", "e1", T0) == ""


@pytest.mark.parametrize(
    "text",
    ["", "ünïcødé ☃ 𝄞\r\n", "nul \x00 inside", "lone surrogate \udcff", "x" * 3_000_000],
    ids=["empty", "unicode", "nul", "surrogate", "3MB"],
)
def test_logs_keep_any_text(store, text):
    store.set_logs("dev", "a1", "e1", text, None)
    assert store.get_logs("dev", "a1", "e1", T0) == text


def test_logs_expire(store):
    later = T0 + timedelta(hours=1)
    store.set_logs("dev", "a1", "soon", "short-lived", later)
    store.set_logs("dev", "a1", "forever", "kept", None)
    store.set_logs("dev", "a1", "past", "gone", T0 - timedelta(seconds=1))
    assert store.get_logs("dev", "a1", "soon", T0) == "short-lived"
    assert store.get_logs("dev", "a1", "soon", later - timedelta(milliseconds=1)) == "short-lived"
    assert store.get_logs("dev", "a1", "soon", later) == ""  # expired exactly at expires_at
    assert store.get_logs("dev", "a1", "past", T0) == ""
    assert store.get_logs("dev", "a1", "forever", T0 + timedelta(days=10_000)) == "kept"

    assert store.expire_logs(T0) == 1  # "past"
    assert store.expire_logs(T0) == 0
    assert store.get_logs("dev", "a1", "soon", T0) == "short-lived"
    assert store.expire_logs(later) == 1  # "soon"
    assert store.expire_logs(later + timedelta(days=10_000)) == 0
    assert store.get_logs("dev", "a1", "forever", later) == "kept"


def test_setting_logs_again_can_change_expiry(store):
    store.set_logs("dev", "a1", "e1", "v1", T0)
    store.set_logs("dev", "a1", "e1", "v2", None)
    assert store.expire_logs(T0 + timedelta(days=1)) == 0
    assert store.get_logs("dev", "a1", "e1", T0 + timedelta(days=1)) == "v2"


def test_logs_naive_expiry_is_utc(store):
    store.set_logs("dev", "a1", "e1", "text", datetime(2024, 5, 17, 12, 0))
    assert store.get_logs("dev", "a1", "e1", datetime(2024, 5, 17, 11, 59, tzinfo=UTC)) == "text"
    assert store.get_logs("dev", "a1", "e1", datetime(2024, 5, 17, 12, 0, tzinfo=UTC)) == ""


def test_logs_must_be_text(store):
    with pytest.raises(InvalidRequest):
        store.set_logs("dev", "a1", "e1", b"bytes", None)


# -- results ------------------------------------------------------------------------------------


def test_results_pop_oldest_first(store):
    assert store.pop_result("dev", "a1", "e1", T0) is None
    for n, data in enumerate([b"one", b"", b"\x00\xff three", "four ☃".encode()]):
        store.add_result("dev", "a1", "e1", data, T0 + timedelta(seconds=n))
    store.add_result("dev", "a1", "e2", b"other execution", T0)
    store.add_result("dev", "a2", "e1", b"other actor", T0)
    popped = [store.pop_result("dev", "a1", "e1", T0) for _ in range(5)]
    assert popped == [b"one", b"", b"\x00\xff three", "four ☃".encode(), None]
    assert store.pop_result("dev", "a1", "e2", T0) == b"other execution"
    assert store.pop_result("dev", "a2", "e1", T0) == b"other actor"


def test_pop_result_skips_expired_ones(store):
    store.add_result("dev", "a1", "e1", b"old", T0)
    store.add_result("dev", "a1", "e1", b"new", T0 + timedelta(seconds=10))
    assert store.pop_result("dev", "a1", "e1", T0 + timedelta(seconds=10)) == b"new"
    assert store.pop_result("dev", "a1", "e1", T0 + timedelta(seconds=10)) is None
    assert store.pop_result("dev", "a1", "e1", T0) == b"old"


def test_expire_results(store):
    for n in range(5):
        store.add_result("dev", "a1", "e1", f"r{n}".encode(), T0 + timedelta(seconds=n))
    assert store.expire_results(T0) == 0
    assert store.expire_results(T0 + timedelta(seconds=2)) == 2  # created before, not at
    assert store.expire_results(T0 + timedelta(seconds=2)) == 0
    assert store.pop_result("dev", "a1", "e1", T0) == b"r2"
    assert store.expire_results(T0 + timedelta(days=1)) == 2


def test_large_result(store):
    data = bytes(range(256)) * 256
    store.add_result("dev", "a1", "e1", data, T0)
    assert store.pop_result("dev", "a1", "e1", T0) == data


def test_result_must_be_bytes(store):
    with pytest.raises(InvalidRequest):
        store.add_result("dev", "a1", "e1", "text", T0)


# -- workers ----------------------------------------------------------------------------------


def test_worker_round_trip_every_field(store):
    store.create_actor(actor(actor_id="a1"))
    original = full_worker()
    assert store.add_worker(original) is True
    loaded = store.get_worker("dev", "a1", "wfull")
    assert loaded == original
    for f in dataclasses.fields(Worker):
        assert type(getattr(loaded, f.name)) is type(getattr(original, f.name)), f.name
    assert loaded.status is WorkerStatus.SPAWNER_SETUP


def test_add_worker_respects_max_workers(store):
    store.create_actor(actor(actor_id="a1"))
    assert store.add_worker(worker(worker_id="w1"), max_workers=2) is True
    assert store.add_worker(worker(worker_id="w2"), max_workers=2) is True
    assert store.add_worker(worker(worker_id="w3"), max_workers=2) is False
    assert store.add_worker(worker(worker_id="w3"), max_workers=3) is True
    assert store.add_worker(worker(worker_id="w4")) is True  # no limit
    assert store.add_worker(worker(worker_id="w5"), max_workers=0) is False
    assert [w.id for w in store.list_workers("dev", "a1")] == ["w1", "w2", "w3", "w4"]


def test_max_workers_counts_per_actor(store):
    store.create_actor(actor(actor_id="a1"))
    store.create_actor(actor(actor_id="a2"))
    store.create_actor(actor(tenant="t2", actor_id="a1"))
    assert store.add_worker(worker("a1"), max_workers=1)
    assert store.add_worker(worker("a2"), max_workers=1)
    assert store.add_worker(worker("a1", "t2"), max_workers=1)
    assert not store.add_worker(worker("a1"), max_workers=1)


def test_add_worker_needs_the_actor(store):
    """No worker for an actor that does not exist (or was deleted meanwhile)."""
    assert store.add_worker(worker("ghost")) is False
    assert store.add_worker(worker("ghost"), max_workers=1) is False
    store.create_actor(actor(actor_id="brief"))
    store.delete_actor("dev", "brief")
    assert store.add_worker(worker("brief"), max_workers=1) is False
    assert store.list_workers(None) == []


def test_duplicate_worker_is_a_conflict(store):
    store.create_actor(actor(actor_id="a1"))
    store.add_worker(worker(worker_id="w1"))
    with pytest.raises(Conflict, match="w1"):
        store.add_worker(worker(worker_id="w1"))
    assert len(store.list_workers("dev", "a1")) == 1


def test_get_missing_worker(store):
    with pytest.raises(WorkerNotFound):
        store.get_worker("dev", "a1", "nope")


def test_list_workers_filters(store):
    for tenant, actor_id in [("dev", "a1"), ("dev", "a2"), ("t2", "a1")]:
        store.create_actor(actor(tenant, actor_id))
    store.add_worker(worker("a1", worker_id="w1"))
    store.add_worker(worker("a2", worker_id="w2"))
    store.add_worker(worker("a1", "t2", worker_id="w3"))
    store.add_worker(worker("a1", worker_id="w4"))
    assert [w.id for w in store.list_workers("dev", "a1")] == ["w1", "w4"]
    assert [w.id for w in store.list_workers("dev")] == ["w1", "w2", "w4"]
    assert [w.id for w in store.list_workers(None)] == ["w1", "w2", "w3", "w4"]
    assert [w.id for w in store.list_workers(None, "a1")] == ["w1", "w3", "w4"]
    assert store.list_workers("dev", "none") == []


def test_save_worker(store):
    store.create_actor(actor(actor_id="a1"))
    original = worker(worker_id="w1")
    store.add_worker(original)
    busy = original.replace(status=WorkerStatus.BUSY, cid="abc", last_execution_time=T0)
    store.save_worker(busy)
    assert store.get_worker("dev", "a1", "w1") == busy


def test_save_worker_compare_and_set(store):
    store.create_actor(actor(actor_id="a1"))
    original = worker(worker_id="w1", status=WorkerStatus.READY)
    store.add_worker(original)
    live = [WorkerStatus.READY, WorkerStatus.BUSY]
    busy = original.replace(status=WorkerStatus.BUSY)
    assert store.save_worker(busy, expected=live) is True
    # a stop request wins over the worker's own later writes
    stopping = busy.replace(status=WorkerStatus.SHUTDOWN_REQUESTED)
    assert store.save_worker(stopping, expected=live) is True
    assert store.save_worker(busy.replace(status=WorkerStatus.READY), expected=live) is False
    assert store.get_worker("dev", "a1", "w1") == stopping
    assert store.save_worker(busy, expected=[]) is False
    store.delete_worker("dev", "a1", "w1")
    with pytest.raises(WorkerNotFound):
        store.save_worker(busy, expected=live)


def test_save_deleted_worker(store):
    store.create_actor(actor(actor_id="a1"))
    original = worker(worker_id="w1")
    store.add_worker(original)
    store.delete_worker("dev", "a1", "w1")
    with pytest.raises(WorkerNotFound):
        store.save_worker(original.replace(status=WorkerStatus.READY))
    with pytest.raises(WorkerNotFound):
        store.get_worker("dev", "a1", "w1")
    store.delete_worker("dev", "a1", "w1")  # idempotent


def test_deleting_a_worker_frees_a_slot(store):
    store.create_actor(actor(actor_id="a1"))
    assert store.add_worker(worker(worker_id="w1"), max_workers=1)
    assert not store.add_worker(worker(worker_id="w2"), max_workers=1)
    store.delete_worker("dev", "a1", "w1")
    assert store.add_worker(worker(worker_id="w2"), max_workers=1)


# -- stores sharing a database ----------------------------------------------------------------


def test_two_stores_see_each_others_writes(store, make_store):
    other = make_store()
    store.create_actor(actor(actor_id="shared"))
    assert other.get_actor("dev", "shared").id == "shared"
    ex = execution("shared")
    other.create_execution(ex, message(ex))
    assert store.get_execution("dev", "shared", ex.id) == ex
