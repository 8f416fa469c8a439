"""The search query parser and value typing (spec §5.12): every operator, every value type,
every invalid parameter a 400 naming it (Q3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abaco_core.errors import InvalidRequest
from abaco_core.search.query import (
    DEFAULT_LIMIT,
    MAX_PATTERN_LENGTH,
    OPERATORS,
    parse_query,
    to_snake,
    words_of,
)
from abaco_core.search.values import TimeRange, parse_display_time, parse_time_prefix, type_value

FIELDS = {"id", "status", "runtime", "start_time", "final_state", "_links", "hints", "last_update_time"}


def q(**params: str | list[str]):
    return parse_query({k: v if isinstance(v, list) else [v] for k, v in params.items()}, fields=FIELDS)


def one(key: str, value: str):
    (condition,) = parse_query({key: [value]}, fields=FIELDS).conditions
    return condition


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- defaults, paging, full text ------------------------------------------------------------------


def test_empty_query_has_the_defaults():
    query = parse_query({})
    assert (query.words, query.phrase, query.skip, query.limit, query.conditions) == ((), None, 0, 100, ())
    assert DEFAULT_LIMIT == 100 and not query.full_text


def test_skip_and_limit():
    query = q(skip="5", limit="0")
    assert (query.skip, query.limit) == (5, 0)


@pytest.mark.parametrize("key", ["skip", "limit"])
@pytest.mark.parametrize("bad", ["-1", "x", "1.5", "", " ", "1e3", "0x10"])
def test_skip_and_limit_must_be_non_negative_integers(key, bad):
    with pytest.raises(InvalidRequest) as err:
        parse_query({key: [bad]})
    assert err.value.status == 400
    assert err.value.message == f"Invalid {key} parameter: {bad!r}; it must be a non-negative integer."


def test_search_words_are_or_ed_lower_cased_and_repeats_add_words():
    query = q(search=["Hello busybox:1", "world hello"])
    assert query.words == ("hello", "busybox", "1", "world")
    assert query.full_text


def test_exactsearch_is_one_lower_cased_phrase():
    assert q(exactsearch="Some Test Message").phrase == "some test message"
    assert q(exactsearch=["a b", "c"]).phrase == "a b c"
    assert q(exactsearch="  ").phrase is None


def test_x_nonce_is_ignored():
    assert parse_query({"x-nonce": ["TENANT_abc"]}, fields=FIELDS) == parse_query({})


def test_words_of_splits_on_non_word_characters():
    assert words_of("abaco-test/busybox:1 R0y3eYbWmgEwo") == [
        "abaco",
        "test",
        "busybox",
        "1",
        "r0y3eybwmgewo",
    ]


# -- field paths and operators ------------------------------------------------------------------


def test_plain_parameter_is_equality():
    c = one("status", "READY")
    assert (c.path, c.op, c.value, c.text) == (("status",), "eq", "READY", "READY")


@pytest.mark.parametrize("op", [o for o in OPERATORS if o not in ("in", "nin", "between", "like", "nlike")])
def test_scalar_operators(op):
    c = one(f"runtime.{op}", "5")
    assert (c.path, c.op, c.value) == (("runtime",), op, 5.0)


def test_dotted_paths_reach_nested_fields():
    c = one("final_state.ExitCode.gte", "1")
    assert (c.path, c.op, c.value) == (("final_state", "ExitCode"), "gte", 1.0)
    assert one("_links.owner", "x").path == ("_links", "owner")
    # a last segment that is not an operator is part of the path
    assert one("final_state.Status", "exited").path == ("final_state", "Status")


def test_in_and_nin_take_a_json_list_single_quotes_allowed():
    assert one("status.in", '["READY", "ERROR"]').value == ("READY", "ERROR")
    assert one("status.nin", "['READY', 'ERROR']").value == ("READY", "ERROR")
    assert one("runtime.in", "[1, 2.5, null, true]").value == (1, 2.5, None, True)
    # a double-quoted list keeps its apostrophes
    assert one("id.in", '["it\'s"]').value == ("it's",)


def test_between_numbers():
    assert one("runtime.between", "1,10").value == (1.0, 10.0)
    assert one("runtime.between", " -1.5 , 2e3").value == (-1.5, 2000.0)


def test_between_times():
    low, high = one("start_time.between", "2021-05,2021-06-01").value
    assert (low.start, low.end) == (utc(2021, 5, 1), utc(2021, 6, 1))
    assert (high.start, high.end) == (utc(2021, 6, 1), utc(2021, 6, 2))


def test_like_and_nlike_compile_the_regex():
    c = one("id.like", "^R0y")
    assert c.op == "like" and c.value.pattern == "^R0y" and c.value.search("xR0yz") is None
    assert c.value.search("R0yz") is not None
    assert one("id.nlike", "abc$").op == "nlike"


def test_repeated_conditions_are_all_kept():
    conditions = parse_query({"status": ["READY", "ERROR"], "runtime.gt": ["1"]}, fields=FIELDS).conditions
    assert [(c.path, c.op, c.value) for c in conditions] == [
        (("status",), "eq", "READY"),
        (("status",), "eq", "ERROR"),
        (("runtime",), "gt", 1.0),
    ]


def test_camel_mode_converts_the_first_segment():
    query = parse_query(
        {"lastUpdateTime.gt": ["2020"], "finalState.ExitCode": ["0"], "status": ["READY"]},
        fields=FIELDS | {"last_update_time"},
        camel=True,
    )
    assert [c.path for c in query.conditions] == [
        ("last_update_time",),
        ("final_state", "ExitCode"),
        ("status",),
    ]
    # snake names still work in camel mode
    assert parse_query({"start_time": ["2020"]}, fields=FIELDS, camel=True).conditions[0].path == (
        "start_time",
    )


def test_to_snake():
    assert to_snake("lastHealthCheckTime") == "last_health_check_time"
    assert to_snake("_links") == "_links"
    assert to_snake("id") == "id"
    assert to_snake("max_workers") == "max_workers"


# -- value typing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("False", False),
        ("none", None),
        ("None", None),
        ("5", 5.0),
        ("-2.5", -2.5),
        ("1e3", 1000.0),
        ('{"a": 1}', {"a": 1}),
        ("[1, 2]", [1, 2]),
        ('"quoted"', "quoted"),
        ("plain text", "plain text"),
        ("R0y3eYbWmgEwo", "R0y3eYbWmgEwo"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("", ""),
    ],
)
def test_type_value(text, expected):
    value = type_value(text, time_field=False)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2000", utc(2000, 1, 1), utc(2001, 1, 1)),
        ("2000-05", utc(2000, 5, 1), utc(2000, 6, 1)),
        ("2000-12", utc(2000, 12, 1), utc(2001, 1, 1)),
        ("2000-02-29", utc(2000, 2, 29), utc(2000, 3, 1)),
        ("2000-01-01T01", utc(2000, 1, 1, 1), utc(2000, 1, 1, 2)),
        ("2000-01-01T01:00", utc(2000, 1, 1, 1), utc(2000, 1, 1, 1, 1)),
        ("2000-01-01 01:00:30", utc(2000, 1, 1, 1, 0, 30), utc(2000, 1, 1, 1, 0, 31)),
        ("2000-01-01T01:00:00.000Z", utc(2000, 1, 1, 1), utc(2000, 1, 1, 1, 0, 0, 1000)),
        ("2000-01-01T01:00:00.5", utc(2000, 1, 1, 1, 0, 0, 500000), utc(2000, 1, 1, 1, 0, 0, 600000)),
        ("2000-01-01T01:00+02:00", utc(1999, 12, 31, 23), utc(1999, 12, 31, 23, 1)),
        ("2000-01-01T01:00-0130", utc(2000, 1, 1, 2, 30), utc(2000, 1, 1, 2, 31)),
        # a '+' that a query string turned into a space
        ("2000-01-01T01:00 02:00", utc(1999, 12, 31, 23), utc(1999, 12, 31, 23, 1)),
    ],
)
def test_time_prefixes(text, start, end):
    value = type_value(text, time_field=True)
    assert isinstance(value, TimeRange)
    assert (value.start, value.end) == (start, end)


def test_time_fields_are_found_by_name():
    assert isinstance(one("start_time", "2020").value, TimeRange)
    assert isinstance(one("final_state.StartedAt.gt", "2020").value, TimeRange)
    assert isinstance(one("last_update_time.lte", "2020").value, TimeRange)
    assert one("start_time", "none").value is None
    assert one("runtime", "2020").value == 2020.0


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "20",
        "2000-13",
        "2000-02-30",
        "2000-01-01T25:00",
        "2000-01-01T01:00+25:00",
        "true",
        "2000/01/01",
    ],
)
def test_invalid_datetimes_are_400(text):
    with pytest.raises(InvalidRequest) as err:
        parse_query({"start_time.gt": [text]}, fields=FIELDS)
    assert err.value.status == 400
    assert err.value.message.startswith("Invalid search value for start_time.gt: Invalid datetime value")


def test_parse_display_time():
    assert parse_display_time("2021-05-17T12:34:56.789Z") == utc(2021, 5, 17, 12, 34, 56, 789000)
    assert parse_display_time("None") is None
    assert parse_display_time(None) is None
    assert parse_display_time("not a time") is None
    assert parse_display_time(5) is None


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)))
def test_every_display_time_lies_in_each_of_its_prefixes(moment):
    shown = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    parsed = parse_display_time(shown)
    for cut in (4, 7, 10, 13, 16, 19, 23):
        prefix = parse_time_prefix(shown[:cut])
        assert parsed in prefix, (shown, cut)
    assert parsed in parse_time_prefix(shown)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_offsets_shift_the_interval(moment, minutes):
    sign = "-" if minutes < 0 else "+"
    text = moment.strftime("%Y-%m-%dT%H:%M") + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    value = parse_time_prefix(text)
    local = moment.replace(second=0, microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    assert value.start == local.astimezone(UTC)
    assert value.end - value.start == timedelta(minutes=1)


# -- every invalid parameter is a 400 -------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("nope", "1", "'nope' is not a field of records; the fields are: _links, final_state, hints, id"),
        ("nope.eq", "1", "'nope' is not a field of records"),
        ("status..eq", "1", "Invalid search parameter: 'status..eq'"),
        (".eq", "1", "Invalid search parameter: '.eq'"),
        ("status.", "1", "Invalid search parameter: 'status.'"),
        ("status.in", "READY", "Invalid search value for status.in: 'READY' is not a list"),
        ("status.in", '{"a": 1}', "is not a list"),
        ("status.nin", "[unquoted]", "is not a list"),
        ("start_time.in", "[2020]", "2020 is not a datetime"),
        ("start_time.in", '["soon"]', "Invalid datetime value: 'soon'"),
        ("runtime.between", "1", "'1' is not a range; .between takes two values"),
        ("runtime.between", "1,2,3", "is not a range"),
        ("runtime.between", "1,", "is not a range"),
        ("runtime.between", "a,b", "'a,b' is not a range of numbers or datetimes"),
        ("start_time.between", "2020,later", "Invalid datetime value: 'later'"),
        ("id.like", "(", "'(' is not a valid regular expression"),
        ("id.nlike", "[a-", "is not a valid regular expression"),
        ("runtime.gt", "true", ".gt compares numbers, strings or times, not 'true'"),
        ("runtime.lt", "none", ".lt compares numbers, strings or times"),
        ("runtime.gte", "[1]", ".gte compares numbers, strings or times"),
        ("runtime.lte", '{"a": 1}', ".lte compares numbers, strings or times"),
    ],
)
def test_invalid_parameters_are_400_naming_them(key, value, fragment):
    with pytest.raises(InvalidRequest) as err:
        parse_query({key: [value]}, fields=FIELDS)
    assert err.value.status == 400
    assert fragment in err.value.message, err.value.message


def test_unknown_field_message_in_camel_mode_shows_camel_names():
    with pytest.raises(InvalidRequest) as err:
        parse_query({"bogusField": ["1"]}, fields={"last_update_time", "id"}, camel=True, what="actors")
    assert err.value.message == (
        "Invalid search parameter: 'bogusField'. 'bogus_field' is not a field of actors; "
        "the fields are: id, lastUpdateTime."
    )


def test_without_a_field_list_any_field_is_accepted():
    assert parse_query({"anything.deep": ["1"]}).conditions[0].path == ("anything", "deep")


@given(st.dictionaries(st.text(max_size=12), st.lists(st.text(max_size=12), max_size=3), max_size=5))
def test_any_parameters_parse_or_fail_with_a_400(params):
    try:
        query = parse_query(params, fields=FIELDS)
    except InvalidRequest as err:
        assert err.status == 400 and err.message
    else:
        assert query.skip >= 0 and query.limit >= 0


# -- regular expressions: a linear-time engine, bounded patterns ----------------------------------


def test_a_pathological_regex_matches_in_linear_time():
    """``^(a+)+$`` backtracks exponentially in Python's ``re``; RE2 matches it at once."""
    pattern = one("id.like", "^(a+)+$").value
    started = time.perf_counter()
    assert pattern.search("a" * 28 + "!") is None
    assert pattern.search("a" * 5000) is not None
    assert time.perf_counter() - started < 0.5


def test_a_regex_longer_than_the_cap_is_400():
    one("id.like", "a" * MAX_PATTERN_LENGTH)
    with pytest.raises(InvalidRequest) as exc:
        one("id.like", "a" * (MAX_PATTERN_LENGTH + 1))
    assert exc.value.message == (
        f"Invalid search value for id.like: the regular expression has {MAX_PATTERN_LENGTH + 1} characters; "
        f"at most {MAX_PATTERN_LENGTH} are allowed."
    )


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)b", "(?<!a)b"])
def test_backreferences_and_lookaround_are_400(pattern):
    with pytest.raises(InvalidRequest) as exc:
        one("id.nlike", pattern)
    assert "is not a valid regular expression" in exc.value.message
    assert "no backreferences or lookaround" in exc.value.message
