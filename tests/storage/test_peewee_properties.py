"""Property: whatever executions are created for whichever actors, each actor's list comes
back in insertion order -- whole, filtered by status, page by page -- with matching totals."""

from __future__ import annotations

import itertools
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee_factories import execution, message

from abaco_core.models import ExecutionStatus
from abaco_core.records import ExecutionTotals

ACTORS = ["a0", "a1", "a2"]

executions_st = st.lists(
    st.tuples(
        st.sampled_from(ACTORS),
        st.sampled_from(list(ExecutionStatus)),
        st.integers(0, 2**40),  # cpu
        st.integers(0, 2**30),  # io
        st.integers(0, 10**6),  # runtime
    ),
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    created=executions_st,
    statuses=st.sets(st.sampled_from(list(ExecutionStatus))),
    limit=st.none() | st.integers(0, 10),
    offset=st.integers(0, 12),
)
def test_insertion_order_and_totals(store, created, statuses, limit, offset):
    tenant = f"t{uuid.uuid4().hex[:10]}"  # a fresh tenant per example: the database is shared
    serial = itertools.count()
    expected: dict[str, list] = {name: [] for name in ACTORS}
    for actor_id, status, cpu, io, runtime in created:
        # ids in an order unrelated to insertion order
        ex = execution(
            actor_id,
            tenant,
            f"x{uuid.uuid4().hex[:6]}-{next(serial)}",
            status=status,
            cpu=cpu,
            io=io,
            runtime=runtime,
        )
        store.create_execution(ex, message(ex, {"n": len(expected[actor_id])}))
        expected[actor_id].append(ex)

    for actor_id, mine in expected.items():
        assert store.list_executions(tenant, actor_id) == mine
        assert store.execution_totals(tenant, actor_id) == ExecutionTotals(
            count=len(mine),
            cpu=sum(e.cpu for e in mine),
            io=sum(e.io for e in mine),
            runtime=sum(e.runtime for e in mine),
        )
        filtered = [e for e in mine if e.status in statuses]
        assert store.list_executions(tenant, actor_id, statuses=statuses) == filtered
        end = None if limit is None else offset + limit
        assert store.list_executions(tenant, actor_id, limit=limit, offset=offset) == mine[offset:end]
        assert (
            store.list_executions(tenant, actor_id, statuses=statuses, limit=limit, offset=offset)
            == filtered[offset:end]
        )
    everything = [e for e in store.executions_with_status(list(ExecutionStatus)) if e.tenant == tenant]
    assert sorted(everything, key=lambda e: e.id) == sorted(
        (e for mine in expected.values() for e in mine), key=lambda e: e.id
    )
