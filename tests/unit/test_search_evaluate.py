"""Running search queries over shaped records: conditions, typing, full-text relevance and
paging (spec §5.12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abaco_core.errors import InvalidRequest
from abaco_core.search import parse_query, run_query
from abaco_core.search.evaluate import values_at

RECORDS = [
    {
        "id": "A1",
        "name": "hello world",
        "status": "READY",
        "token": "false",
        "runtime": 3,
        "stateless": True,
        "hints": ["sync", "fast"],
        "mounts": [{"mode": "ro", "host_path": "/data"}, {"mode": "rw", "host_path": "/work"}],
        "default_environment": {"key1": "value1"},
        "final_state": {"ExitCode": 0, "StartedAt": "2021-05-17T12:34:56.789Z"},
        "start_time": "2021-05-17T12:34:56.789Z",
        "last_update_time": "2021-05-17T12:00:00.000Z",
        "exit_code": 0,
        "_links": {"owner": "http://api/profiles/v2/alice"},
    },
    {
        "id": "B2",
        "name": "Hello hello there",
        "status": "ERROR",
        "token": False,
        "runtime": 10,
        "stateless": False,
        "hints": [],
        "mounts": [],
        "default_environment": {},
        "final_state": None,
        "start_time": None,
        "last_update_time": "None",
        "exit_code": "undetermined",
        "_links": {"owner": "http://api/profiles/v2/bob"},
    },
    {
        "id": "C3",
        "name": None,
        "status": "READY",
        "token": True,
        "runtime": 10.0,
        "stateless": True,
        "hints": ["sync"],
        "mounts": [{"mode": "ro"}],
        "default_environment": {"key1": "other"},
        "final_state": {"ExitCode": 1, "StartedAt": "2022-01-01T00:00:00.000Z"},
        "start_time": "2022-01-01T00:00:00.000Z",
        "last_update_time": "2022-01-01T00:00:00.000Z",
        "exit_code": 1,
        "_links": {"owner": "http://api/profiles/v2/world"},
    },
]


def ids(params: dict[str, str | list[str]], records=RECORDS) -> list[str]:
    query = parse_query({k: v if isinstance(v, list) else [v] for k, v in params.items()})
    return [r["id"] for r in run_query(records, query).records]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"status": "READY"}, ["A1", "C3"]),
        ({"status.eq": "ERROR"}, ["B2"]),
        ({"status.neq": "READY"}, ["B2"]),
        ({"runtime": "10"}, ["B2", "C3"]),
        ({"runtime.gt": "3"}, ["B2", "C3"]),
        ({"runtime.gte": "3"}, ["A1", "B2", "C3"]),
        ({"runtime.lt": "10"}, ["A1"]),
        ({"runtime.lte": "3"}, ["A1"]),
        ({"runtime.in": "[3, 4]"}, ["A1"]),
        ({"runtime.nin": "[3, 4]"}, ["B2", "C3"]),
        ({"status.in": "['READY', 'ERROR']"}, ["A1", "B2", "C3"]),
        ({"status.nin": '["READY"]'}, ["B2"]),
        ({"runtime.between": "4,10"}, ["B2", "C3"]),
        ({"runtime.between": "3,3"}, ["A1"]),
        ({"runtime.between": "10,3"}, []),
        ({"id.like": "^[AB]"}, ["A1", "B2"]),
        ({"id.nlike": "^[AB]"}, ["C3"]),
        ({"name.like": "hello"}, ["A1", "B2"]),  # regexes are case-sensitive
        ({"name.nlike": "hello"}, ["C3"]),  # a null name does not match a pattern
        ({"name.gt": "Hello"}, ["A1", "B2"]),  # strings compare with strings
        ({"status.gt": "5"}, []),  # a number never compares with a string
    ],
)
def test_operators(params, expected):
    assert ids(params) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"stateless": "true"}, ["A1", "C3"]),
        ({"stateless": "false"}, ["B2"]),
        # booleans are not numbers, numbers are not booleans
        ({"stateless": "1"}, []),
        ({"exit_code": "true"}, []),
        ({"exit_code": "0"}, ["A1"]),
        # a string field also matches the value as given: the stored string "false" and false
        ({"token": "false"}, ["A1", "B2"]),
        ({"token": "true"}, ["C3"]),
        ({"exit_code": "undetermined"}, ["B2"]),
        ({"name": "none"}, ["C3"]),
        ({"final_state": "none"}, ["B2"]),
        ({"nothing_here": "none"}, ["A1", "B2", "C3"]),  # absent counts as null
        ({"name.neq": "none"}, ["A1", "B2"]),
        ({"default_environment": '{"key1": "value1"}'}, ["A1"]),
        ({"default_environment": "{}"}, ["B2"]),
        ({"hints": "[]"}, ["B2"]),
        ({"hints": '["sync"]'}, ["C3"]),
    ],
)
def test_value_types(params, expected):
    assert ids(params) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"hints": "sync"}, ["A1", "C3"]),  # any element of a list
        ({"hints.neq": "sync"}, ["B2"]),
        ({"hints.in": "['fast', 'slow']"}, ["A1"]),
        ({"mounts.mode": "rw"}, ["A1"]),  # a path fans out over a list of objects
        ({"mounts.mode": "ro"}, ["A1", "C3"]),
        ({"mounts.host_path.like": "^/wo"}, ["A1"]),
        ({"default_environment.key1": "other"}, ["C3"]),
        ({"final_state.ExitCode": "1"}, ["C3"]),
        ({"final_state.ExitCode.neq": "1"}, ["A1", "B2"]),
        ({"_links.owner.like": "alice$"}, ["A1"]),
        ({"default_environment.key1.nin": "['value1']"}, ["B2", "C3"]),
    ],
)
def test_paths(params, expected):
    assert ids(params) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"start_time": "2021"}, ["A1"]),
        ({"start_time": "2021-05-17T12:34"}, ["A1"]),
        ({"start_time": "2021-05-17T12:34:56.789Z"}, ["A1"]),
        ({"start_time": "2021-05-17T12:34:56.788Z"}, []),
        ({"start_time": "2021-05-17T14:34+02:00"}, ["A1"]),
        ({"start_time.neq": "2021"}, ["B2", "C3"]),
        ({"start_time.gt": "2021"}, ["C3"]),  # after the whole of 2021
        ({"start_time.gte": "2021"}, ["A1", "C3"]),
        ({"start_time.lt": "2022"}, ["A1"]),  # before 2022 began
        ({"start_time.lte": "2021"}, ["A1"]),
        ({"start_time.lte": "2022-01-01"}, ["A1", "C3"]),
        ({"start_time.between": "2021-05-17,2021-12"}, ["A1"]),
        ({"start_time.between": "2020,2022"}, ["A1", "C3"]),
        ({"start_time.in": "['2022', '2019']"}, ["C3"]),
        ({"start_time.nin": "['2022']"}, ["A1", "B2"]),
        ({"start_time": "none"}, ["B2"]),
        # the literal "None" of an unset time counts as unset
        ({"last_update_time": "none"}, ["B2"]),
        ({"last_update_time.lt": "2030"}, ["A1", "C3"]),
        ({"final_state.StartedAt.gte": "2021-06"}, ["C3"]),
        ({"start_time.like": "^2021-05"}, ["A1"]),
    ],
)
def test_times(params, expected):
    assert ids(params) == expected


def test_conditions_are_and_ed():
    assert ids({"status": "READY", "runtime.gt": "5"}) == ["C3"]
    assert ids({"status": ["READY", "ERROR"]}) == []


def test_full_text_words_are_or_ed_whole_words_case_insensitive():
    assert ids({"search": "there"}) == ["B2"]
    assert ids({"search": "THERE world"}) == ["A1", "B2"]
    assert ids({"search": "hell"}) == []  # whole words only
    assert ids({"search": "value1"}) == ["A1"]  # nested strings count
    assert ids({"search": "alice"}) == []  # _links do not
    assert ids({"search": "ro"}) == ["A1", "C3"]


def test_full_text_orders_by_relevance_ties_in_natural_order():
    # B2 says hello twice, A1 once
    assert ids({"search": "hello"}) == ["B2", "A1"]
    assert ids({"search": "sync ready"}) == ["A1", "C3"]
    assert ids({"search": "sync ready there"}) == ["A1", "C3", "B2"]


def test_exactsearch_is_a_phrase():
    assert ids({"exactsearch": "HELLO WORLD"}) == ["A1"]
    assert ids({"exactsearch": "world hello"}) == []
    assert ids({"exactsearch": "hello"}) == ["B2", "A1"]


def test_search_and_exactsearch_together_need_both():
    assert ids({"search": "there sync", "exactsearch": "hello"}) == ["B2", "A1"]
    assert ids({"search": "there", "exactsearch": "world"}) == []


def test_full_text_and_conditions():
    assert ids({"search": "hello", "status": "READY"}) == ["A1"]


def test_paging_and_metadata():
    query = parse_query({"skip": ["1"], "limit": ["1"]})
    page = run_query(RECORDS, query)
    assert [r["id"] for r in page.records] == ["B2"]
    assert page.result() == {
        "_metadata": {"total_count": 3, "records_skipped": 1, "record_limit": 1, "count_returned": 1},
        "search": page.records,
    }
    assert page.result(camel=True)["_metadata"] == {
        "totalCount": 3,
        "recordsSkipped": 1,
        "recordLimit": 1,
        "countReturned": 1,
    }
    assert run_query(RECORDS, parse_query({"limit": ["0"]})).result()["_metadata"]["count_returned"] == 0
    assert run_query(RECORDS, parse_query({"skip": ["7"]})).records == []


def test_values_at():
    record = {"a": [{"b": [1, 2]}, {"b": 3}, 4], "c": {"d": None}}
    assert values_at(record, ["a", "b"]) == [[1, 2], 1, 2, 3]
    assert values_at(record, ["c", "d"]) == [None]
    assert values_at(record, ["c", "e"]) == []
    assert values_at(record, ["x"]) == []


_records = st.lists(
    st.fixed_dictionaries(
        {"n": st.one_of(st.integers(-5, 5), st.none()), "s": st.sampled_from(["a", "b", "c", "ab"])}
    ),
    max_size=20,
)


@given(_records, st.integers(-6, 6), st.integers(0, 25), st.integers(0, 25))
def test_paging_slices_the_matches_and_neq_complements_eq(records, n, skip, limit):
    for i, record in enumerate(records):
        record["id"] = str(i)
    eq = run_query(records, parse_query({"n": [str(n)]}))
    neq = run_query(records, parse_query({"n.neq": [str(n)]}))
    assert eq.total + neq.total == len(records)
    assert {r["id"] for r in eq.records} == {r["id"] for r in records if r["n"] == n}
    gt = run_query(records, parse_query({"n.gt": [str(n)]}))
    lte = run_query(records, parse_query({"n.lte": [str(n)]}))
    with_number = [r for r in records if r["n"] is not None]
    assert gt.total + lte.total == len(with_number)
    page = run_query(records, parse_query({"n.gte": [str(n)], "skip": [str(skip)], "limit": [str(limit)]}))
    matching = [r for r in with_number if r["n"] >= n]
    assert page.total == len(matching)
    assert page.records == matching[skip : skip + limit]


@given(_records, st.sampled_from(["a", "b", "c", "ab", "a b"]))
def test_full_text_keeps_exactly_the_records_holding_a_word(records, words):
    query = parse_query({"search": [words]})
    kept = run_query(records, query).records
    wanted = set(words.split())
    assert sorted(map(id, kept)) == sorted(id(r) for r in records if r["s"] in wanted)


def test_a_search_past_its_time_budget_is_400():
    query = parse_query({"name.like": ["o"]})
    assert run_query(RECORDS, query, budget=60).total == len(run_query(RECORDS, query).records)
    with pytest.raises(InvalidRequest) as exc:
        run_query(RECORDS, query, budget=0)
    assert exc.value.message == (
        "The search took longer than its time budget of 0 seconds; narrow it down "
        "(fewer records, fewer or simpler conditions) and try again."
    )
