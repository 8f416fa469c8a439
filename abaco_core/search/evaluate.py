"""Running a :class:`~.query.Query` over shaped records (plain JSON-like dicts). Pure.

Semantics, close to the document store upstream Abaco searched:

- A dotted path fans out over lists: ``mounts.mode`` reaches the ``mode`` of every mount,
  and a condition holds when it holds for *any* value found (``hints=sync`` holds when one
  hint is ``sync``). ``neq``, ``nin`` and ``nlike`` are the negations of ``eq``, ``in`` and
  ``like``, so they also hold when the field is absent; ``=none`` matches absent or null
  fields (and the literal ``"None"`` of an unset time).
- Types never mix: a number equals or compares with numbers only (booleans are not
  numbers), a string with strings. Equality also holds when a string field equals the value
  exactly as given, so ``token=false`` finds ``false`` and ``"false"``.
- A time value is an interval (:class:`~.values.TimeRange`): ``start_time=2021-05`` is any
  time in May 2021, ``.gt`` is after the whole interval, ``.gte`` from its start, ``.lt``
  before its start, ``.lte`` before its end; ``.between=a,b`` from the start of ``a`` to the
  end of ``b``.
- Full text looks at every string value (``_links`` excepted): ``search`` words are OR-ed
  and matched as whole words, case-insensitively; ``exactsearch`` is a case-insensitive
  phrase. A record must hold one of the words and the phrase when both are given; the
  records are then ordered by relevance (how many times the words and the phrase occur),
  ties in their natural order. Paging applies last.

A search has a time budget (``budget`` seconds): the time is checked between records, and a
search past it ends with a 400 (:class:`SearchTooSlow`). The patterns of ``like`` are RE2's
(:mod:`.query`), linear in the text, so no single record can take long.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..casing import camelize_keys
from ..errors import InvalidRequest
from .query import Condition, Pattern, Query, words_of
from .values import TimeRange, parse_display_time

__all__ = ["SearchPage", "SearchTooSlow", "matches", "relevance", "run_query", "values_at"]


class SearchTooSlow(InvalidRequest):
    """A search that ran past its time budget (400)."""

    def __init__(self, budget: float) -> None:
        super().__init__(
            f"The search took longer than its time budget of {budget:g} seconds; narrow it down "
            "(fewer records, fewer or simpler conditions) and try again."
        )


class _Clock:
    """Raises :class:`SearchTooSlow` once the budget is spent (``None``: no budget)."""

    def __init__(self, budget: float | None) -> None:
        self.budget = budget
        self.deadline = None if budget is None else time.monotonic() + budget

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            assert self.budget is not None
            raise SearchTooSlow(self.budget)


@dataclass(frozen=True)
class SearchPage:
    total: int
    skip: int
    limit: int
    records: list[dict[str, Any]]

    def result(self, *, camel: bool = False) -> dict[str, Any]:
        """The ``result`` of a search response (spec §4.9)."""
        metadata = {
            "total_count": self.total,
            "records_skipped": self.skip,
            "record_limit": self.limit,
            "count_returned": len(self.records),
        }
        return {"_metadata": camelize_keys(metadata) if camel else metadata, "search": self.records}


def run_query(records: Sequence[dict[str, Any]], query: Query, *, budget: float | None = None) -> SearchPage:
    """The page of ``records`` (snake-case, in their natural order) the query selects, in
    at most about ``budget`` seconds (else :class:`SearchTooSlow`)."""
    clock = _Clock(budget)
    kept = []
    for record in records:
        clock.check()
        if all(matches(record, c) for c in query.conditions):
            kept.append(record)
    if query.full_text:
        scored = []
        for i, record in enumerate(kept):
            clock.check()
            if (score := relevance(record, query)) is not None:
                scored.append((score, i, record))
        scored.sort(key=lambda item: (-item[0], item[1]))
        kept = [r for _, _, r in scored]
    return SearchPage(
        total=len(kept),
        skip=query.skip,
        limit=query.limit,
        records=kept[query.skip : query.skip + query.limit],
    )


# -- conditions ----------------------------------------------------------------------------------


def values_at(record: dict[str, Any], path: Sequence[str]) -> list[Any]:
    """Every value a dotted path reaches (lists fan out; a list found at the end counts both
    as itself and through its items)."""
    current: list[Any] = [record]
    for segment in path:
        found: list[Any] = []
        for value in current:
            if isinstance(value, dict):
                if segment in value:
                    found.append(value[segment])
            elif isinstance(value, list):
                found.extend(item[segment] for item in value if isinstance(item, dict) and segment in item)
        current = found
    reached: list[Any] = []
    for value in current:
        reached.append(value)
        if isinstance(value, list):
            reached.extend(value)
    return reached


def matches(record: dict[str, Any], condition: Condition) -> bool:
    found = values_at(record, condition.path)
    op, value = condition.op, condition.value
    if op in ("eq", "neq"):
        hit = _equals_any(found, value, condition)
        return hit if op == "eq" else not hit
    if op in ("in", "nin"):
        hit = any(_equals_any(found, element, None) for element in value)
        return hit if op == "in" else not hit
    if op in ("like", "nlike"):
        hit = any(isinstance(v, str) and _search(value, v) for v in found)
        return hit if op == "like" else not hit
    if op == "between":
        low, high = value
        return any(_between(v, low, high) for v in found)
    return any(_ordered(v, value, op) for v in found)


def _search(pattern: Pattern, text: str) -> bool:
    try:
        return pattern.search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate (JSON allows them): RE2 reads UTF-8
        return pattern.search(text.encode("utf-8", "replace").decode("utf-8")) is not None


def _equals_any(found: list[Any], value: Any, condition: Condition | None) -> bool:
    if value is None and not found:
        return True
    as_given = condition.text if condition is not None else None
    return any(_equal(v, value) or (isinstance(v, str) and v == as_given) for v in found)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(found: Any, value: Any) -> bool:
    if value is None:
        return found is None or found == "None"
    if isinstance(value, TimeRange):
        moment = parse_display_time(found)
        return moment is not None and moment in value
    if isinstance(value, bool):
        return isinstance(found, bool) and found is value
    if _is_number(value):
        return _is_number(found) and found == value
    return type(found) is type(value) and found == value


def _ordered(found: Any, value: Any, op: str) -> bool:
    if isinstance(value, TimeRange):
        moment = parse_display_time(found)
        if moment is None:
            return False
        bound = value.end if op in ("gt", "lte") else value.start
        return {"gt": moment >= bound, "gte": moment >= bound, "lt": moment < bound, "lte": moment < bound}[
            op
        ]
    if _is_number(value):
        if not _is_number(found):
            return False
    elif not (isinstance(value, str) and isinstance(found, str)):
        return False
    return {"gt": found > value, "gte": found >= value, "lt": found < value, "lte": found <= value}[op]


def _between(found: Any, low: Any, high: Any) -> bool:
    if isinstance(low, TimeRange):
        moment = parse_display_time(found)
        return moment is not None and low.start <= moment < high.end
    return _is_number(found) and low <= found <= high


# -- full text ----------------------------------------------------------------------------------


def _strings(value: Any, *, top: bool = True) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not (top and key == "_links"):
                yield from _strings(item, top=False)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, top=False)


def relevance(record: dict[str, Any], query: Query) -> int | None:
    """How relevant the record is to the query's full text; ``None`` when it does not match."""
    texts = list(_strings(record))
    score = 0
    if query.words:
        counts = Counter(word for text in texts for word in words_of(text))
        score += sum(counts[word] for word in query.words)
        if score == 0:
            return None
    if query.phrase is not None:
        occurrences = sum(text.lower().count(query.phrase) for text in texts)
        if occurrences == 0:
            return None
        score += occurrences
    return score
