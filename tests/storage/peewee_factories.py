"""Record factories for the peewee store tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from abaco_core.models import (
    Actor,
    ActorStatus,
    Execution,
    ExecutionStatus,
    Message,
    Worker,
    WorkerStatus,
)

_ids = itertools.count(1)

T0 = datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC)


def actor(tenant: str = "dev", actor_id: str | None = None, **changes: Any) -> Actor:
    fields: dict[str, Any] = {"image": "abaco/test:1", "owner": "alice"}
    fields.update(changes)
    return Actor(tenant=tenant, id=actor_id or f"actor{next(_ids)}", **fields)


def full_actor(tenant: str = "dev", actor_id: str = "full") -> Actor:
    """An actor with every field away from its default."""
    return Actor(
        tenant=tenant,
        id=actor_id,
        image="registry.local/ns/img:2.0",
        owner="ünïcødé-owner",
        name="héllo ☃ 𝄞",
        description='line one\nline two\ttabbed "quoted" \\ backslash',
        stateless=False,
        privileged=True,
        use_container_uid=True,
        default_environment={"A": "1", "nested": {"b": [1, 2.5, None, True, "x"]}, "empty": {}},
        token=True,
        hints=["sync", "ünï"],
        link="other-actor",
        webhook="https://example.invalid/hook?x=1&y=2",
        cron_schedule="2024-05-17 12 + 1 hour",
        cron_on=True,
        cron_next_ex="2024-05-17 13",
        queue="gpu",
        max_workers=3,
        max_cpus=2_000_000_000,
        mem_limit="1g",
        log_ex=600,
        type="bin",
        state={"counter": 41, "deep": {"list": [{"k": "v"}, [1, [2, [3]]]], "none": None}},
        status=ActorStatus.READY,
        status_message="all good ✓",
        revision=7,
        mounts=[{"host_path": "/data", "container_path": "/_abaco_data1", "mode": "ro"}],
        uid="1000",
        gid="1000",
        tasdir="/home/alice",
        create_time=T0,
        last_update_time=T0.astimezone(timezone(timedelta(hours=-5))) + timedelta(seconds=1),
    )


def execution(
    actor_id: str = "a1", tenant: str = "dev", execution_id: str | None = None, **changes: Any
) -> Execution:
    fields: dict[str, Any] = {"executor": "alice", "message_received_time": T0}
    fields.update(changes)
    return Execution(tenant=tenant, actor_id=actor_id, id=execution_id or f"ex{next(_ids)}", **fields)


def full_execution(actor_id: str = "a1", tenant: str = "dev", execution_id: str = "exfull") -> Execution:
    return Execution(
        tenant=tenant,
        actor_id=actor_id,
        id=execution_id,
        executor="ållice",
        api_server="http://127.0.0.1:8000",
        status=ExecutionStatus.COMPLETE,
        worker_id="w1",
        message_received_time=T0,
        start_time=T0 + timedelta(milliseconds=1),
        finish_time=T0 + timedelta(seconds=3, microseconds=7),
        runtime=3,
        cpu=123_456_789_012,
        io=2**40,
        exit_code="OOMKilled",
        final_state={"state": {"x": [1, 2]}, "ExitCode": 137},
        status_message="killed ☠",
        attempts=2,
    )


def message(
    ex: Execution, payload: Any = "hello", content_type: str = "text/plain", **metadata: str
) -> Message:
    return Message(
        tenant=ex.tenant,
        actor_id=ex.actor_id,
        execution_id=ex.id,
        payload=payload,
        content_type=content_type,
        metadata=dict(metadata),
    )


def worker(actor_id: str = "a1", tenant: str = "dev", worker_id: str | None = None, **changes: Any) -> Worker:
    return Worker(tenant=tenant, actor_id=actor_id, id=worker_id or f"w{next(_ids)}", **changes)


def full_worker(actor_id: str = "a1", tenant: str = "dev", worker_id: str = "wfull") -> Worker:
    return Worker(
        tenant=tenant,
        actor_id=actor_id,
        id=worker_id,
        status=WorkerStatus.SPAWNER_SETUP,
        image="abaco/test:1",
        revision=4,
        location="unix:///var/run/docker.sock",
        cid="c0ffee" * 10,
        ch_name="worker_ch_é",
        host_id="7",
        host_ip="10.0.0.7",
        create_time=T0,
        last_execution_time=T0 + timedelta(minutes=1),
        last_health_check_time=T0 + timedelta(minutes=2, microseconds=999_999),
    )
