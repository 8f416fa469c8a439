from __future__ import annotations

from abaco_core.environment import build_environment, format_value
from abaco_core.models import Actor, Execution, Message, Worker


def test_values_are_formatted_as_actor_images_expect():
    assert format_value("text") == "text"
    assert format_value(3) == "3"
    assert format_value(True) == "True"
    assert format_value({"a": [1, None, False]}) == "{'a': [1, None, False]}"
    assert format_value(None) is None


def test_precedence_defaults_then_metadata_then_worker_variables():
    actor = Actor(
        "T",
        "A1",
        "img",
        "owner",
        name=None,
        default_environment={"k": "default", "_abaco_actor_id": "x"},
        state={"count": 1},
    )
    execution = Execution("T", "A1", "E1", "owner")
    message = Message(
        "T",
        "A1",
        "E1",
        {"m": True},
        "application/json",
        {"k": "query", "_abaco_username": "owner", "_abaco_execution_id": "E1"},
    )
    env = build_environment(actor=actor, execution=execution, message=message, worker=Worker("T", "A1", "W1"))
    assert env["k"] == "query"
    assert env["_abaco_actor_id"] == "A1"  # worker-set variables beat defaults
    assert env["MSG"] == "{'m': True}"
    assert env["_abaco_actor_state"] == "{'count': 1}"
    assert env["_abaco_actor_name"] == "None"
    assert env["_abaco_actor_dbid"] == "T_A1"


def test_binary_messages_have_no_msg():
    actor = Actor("T", "A1", "img", "o", default_environment={"MSG": "default"})
    message = Message("T", "A1", "E1", b"\x00", "application/octet-stream", {})
    env = build_environment(
        actor=actor,
        execution=Execution("T", "A1", "E1", "o"),
        message=message,
        worker=Worker("T", "A1", "W1"),
    )
    assert "MSG" not in env and env["_abaco_Content_Type"] == "application/octet-stream"
