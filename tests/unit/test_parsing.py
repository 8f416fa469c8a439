"""Registration fields, message payload forms, casing, identifiers and times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from abaco_core.actor_fields import FieldSource, mem_limit_bytes, parse_actor_fields
from abaco_core.casing import camelize_keys, to_camel
from abaco_core.errors import InvalidRequest, PayloadTooLarge
from abaco_core.ids import is_hashid, new_id
from abaco_core.messages import parse_message, query_metadata
from abaco_core.settings import parse_bool
from abaco_core.timefmt import display, display_or_none, parse_engine_time


def fields(case="snake", update=False, **json):
    return parse_actor_fields(FieldSource(json=json), case=case, update=update).values


def test_defaults_on_registration():
    v = fields(image="abaco/test")
    assert v["stateless"] is True and v["default_environment"] == {} and v["hints"] == []
    assert v["token"] == "false" and v["queue"] == "default" and v["name"] is None and v["type"] == "none"


def test_form_and_query_values_are_parsed():
    source = FieldSource(
        query={"log_ex": ["16000"]}, form={"image": ["x"], "stateless": ["False"], "hints": ["a", "b"]}
    )
    v = parse_actor_fields(source).values
    assert v["log_ex"] == 16000 and v["stateless"] is False and v["hints"] == ["a", "b"]


def test_json_wins_over_query_and_form():
    source = FieldSource(json={"image": "from-json"}, query={"image": ["q"]}, form={"image": ["f"]})
    assert parse_actor_fields(source).values["image"] == "from-json"


def test_camel_mode_reads_camel_names_and_names_fields_in_camel():
    v = fields(case="camel", image="x", defaultEnvironment={"a": 1}, default_environment={"ignored": 1})
    assert v["default_environment"] == {"a": 1}
    with pytest.raises(InvalidRequest, match="useContainerUid"):
        fields(case="camel", image="x", useContainerUid="maybe")


def test_schedule_without_cron_on_means_on():
    assert fields(image="x", cron_schedule="now + 1 hour")["cron_on"] is True
    assert fields(image="x", cron_schedule="now + 1 hour", cron_on=False)["cron_on"] is False


def test_force_uses_the_tolerant_boolean_parser():
    assert fields(image="x", update=True, force="False")["force"] is False
    assert fields(image="x", update=True, force="true")["force"] is True


@pytest.mark.parametrize(
    "value, expected",
    [
        ("512m", 512 * 1024**2),
        ("2g", 2 * 1024**3),
        ("-1", None),
        (None, None),
        ("1024", 1024),
        ("1.5g", int(1.5 * 1024**3)),
    ],
)
def test_mem_limit_bytes(value, expected):
    assert mem_limit_bytes(value) == expected


@pytest.mark.parametrize(
    "value, expected", [("True", True), ("off", False), ("1", True), (0, False), (True, True)]
)
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["", "maybe", 2, None, []])
def test_parse_bool_rejects(value):
    with pytest.raises(ValueError):
        parse_bool(value)


def parse(body=b"", content_type=None, query=None, form=None, length=None, limit=1000):
    return parse_message(
        content_type=content_type,
        content_length=str(len(body)) if length is None else length,
        body=body,
        query=query or {},
        form=form,
        max_content_length=limit,
    )


def test_message_field_in_form_json_or_query():
    assert parse(form={"message": ["hi"]}).payload == "hi"
    m = parse(b'{"message": {"a": 1}, "b": 2}', "application/json")
    assert (m.payload, m.content_type) == ("{'a': 1}", "str")
    assert parse(query={"message": ["q"]}).payload == "q"


def test_json_bodies():
    m = parse(b'{"a": [1, 2]}', "application/json")
    assert (m.payload, m.content_type) == ({"a": [1, 2]}, "application/json")
    m = parse(b"{}", "application/json")  # falsy JSON: content type str (sic)
    assert (m.payload, m.content_type) == ({}, "str")
    m = parse(b"[1]", "text/whatever")
    assert (m.payload, m.content_type) == ([1], "str")


def test_binary_messages():
    m = parse(b"\x00\xff", "application/octet-stream")
    assert (m.payload, m.content_type, m.shown) == (
        b"\x00\xff",
        "application/octet-stream",
        "binary - omitted",
    )
    with pytest.raises(InvalidRequest, match="Content Length required"):
        parse_message(
            content_type="application/octet-stream",
            content_length=None,
            body=b"x",
            query={},
            form=None,
            max_content_length=10,
        )
    with pytest.raises(InvalidRequest, match="must be an integer"):
        parse(b"x", "application/octet-stream", length="ten")
    with pytest.raises(PayloadTooLarge, match="max content length of: 3"):
        parse(b"abcd", "application/octet-stream", limit=3)
    # parameters on the content type: not binary, and not JSON either
    with pytest.raises(InvalidRequest, match="could not be serialized"):
        parse(b"\xff\xfe", "application/octet-stream; charset=x")


def test_query_metadata_strips_reserved_parameters():
    q = {"a": ["1", "2"], "message": ["m"], "x-nonce": ["n"], "_abaco_synchronous": ["true"], "b": [""]}
    assert query_metadata(q) == {"a": "1", "b": ""}


def test_camel_case_names():
    assert to_camel("execution_id") == "executionId"
    assert to_camel("last_health_check_time") == "lastHealthCheckTime"
    assert to_camel("_links") == "_links"
    assert camelize_keys({"is_secret": 1, "nested": {"a_b": 1}}) == {"isSecret": 1, "nested": {"a_b": 1}}


def test_ids_are_hashids():
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(12 <= len(i) <= 13 and i.isalnum() and is_hashid(i) for i in ids)
    assert not is_hashid("my.alias") and not is_hashid("")


def test_time_display():
    t = datetime(2000, 5, 17, 12, 34, 56, 100000, tzinfo=UTC)
    assert display(t) == "2000-05-17T12:34:56.100Z"
    assert display(None) is None and display_or_none(None) == "None"
    assert parse_engine_time("0001-01-01T00:00:00Z") is None
    assert parse_engine_time("2024-01-02T03:04:05.123456789Z") == datetime(
        2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
    )
    assert parse_engine_time("garbage") is None


def test_snake_mode_also_understands_the_documented_camel_names():
    v = fields(image="x", cronSchedule="now + 1 hour", maxWorkers=2)
    assert v["cron_schedule"] == "now + 1 hour" and v["max_workers"] == 2
    assert fields(image="x", max_workers=3, maxWorkers=2)["max_workers"] == 3
