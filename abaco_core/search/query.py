"""The search query language (spec §5.12), parsed from query parameters into a
:class:`Query`. Pure: no store, no request; every invalid parameter raises
:class:`~abaco_core.errors.InvalidRequest` (400, Q3) naming the parameter.

==============================  ===============================================================
``search=<words>``              full text: records holding any of the words (repeats add words)
``exactsearch=<phrase>``        full text: records holding the phrase (case-insensitive)
``skip=<n>`` / ``limit=<n>``    paging, non-negative integers, 0 / 100 by default
``x-nonce``                     ignored (it authenticates the request)
``<path>=<v>``                  equality; ``path`` is a field, dotted paths reach nested fields
``<path>.<op>=<v>``             ``eq neq gt gte lt lte in nin between like nlike``
==============================  ===============================================================

``like``/``nlike`` patterns are compiled with RE2 (``google-re2``), whose matching time is
linear in the text whatever the pattern, so a pattern such as ``^(a+)+$`` cannot stall the
API; RE2 has no backreferences nor lookaround (a 400 says so), and a pattern has at most
:data:`MAX_PATTERN_LENGTH` characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import re2

from ..casing import to_camel
from ..errors import InvalidRequest
from .values import NUMBER, is_time_field, parse_time_prefix, type_value

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_PATTERN_LENGTH",
    "OPERATORS",
    "Condition",
    "Pattern",
    "Query",
    "compile_pattern",
    "parse_query",
    "to_snake",
    "words_of",
]

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "between", "like", "nlike")
DEFAULT_LIMIT = 100
#: parameters that are not field conditions
_PAGING = ("skip", "limit")
_TEXT = ("search", "exactsearch")
_IGNORED = ("x-nonce",)
_ORDERED = ("gt", "gte", "lt", "lte")
_WORD = re.compile(r"\w+")
#: the longest ``like``/``nlike`` pattern accepted
MAX_PATTERN_LENGTH = 1000
#: RE2's memory budget for one compiled pattern (a pattern needing more is a 400)
_PATTERN_MEMORY = 4 << 20


class Pattern(Protocol):
    """A compiled ``like``/``nlike`` pattern (an RE2 regexp)."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...


def compile_pattern(text: str) -> Pattern:
    """``text`` compiled by RE2; :class:`ValueError` for a pattern too long, invalid, using
    what RE2 lacks (backreferences, lookaround) or needing too much memory."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"the regular expression has {len(text)} characters; at most {MAX_PATTERN_LENGTH} are allowed."
        )
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _PATTERN_MEMORY
    try:
        return re2.compile(text, options)
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not a valid regular expression (it is not valid Unicode).") from None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(
            f"{text!r} is not a valid regular expression ({reason}); patterns use RE2 syntax "
            "(Python's, with no backreferences or lookaround)."
        ) from None


def words_of(text: str) -> list[str]:
    """The words full-text search sees in a text: runs of letters, digits and ``_``,
    lower-cased (``abaco-test/busybox:1`` → ``abaco``, ``test``, ``busybox``, ``1``)."""
    return _WORD.findall(text.lower())


def to_snake(name: str) -> str:
    """``lastUpdateTime`` → ``last_update_time`` (a leading ``_`` stays, snake names stay)."""
    lead = "_" if name.startswith("_") else ""
    return lead + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.lstrip("_")).lower()


@dataclass(frozen=True)
class Condition:
    """One field condition. ``value`` is typed for ``op``: a scalar or :class:`TimeRange`
    (``eq`` ... ``lte``), a tuple of them (``in``/``nin``), a pair (``between``) or a
    compiled pattern (``like``/``nlike``). ``text`` is the value as given."""

    path: tuple[str, ...]
    op: str
    value: Any
    text: str

    @property
    def time_field(self) -> bool:
        return is_time_field(self.path)


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    phrase: str | None = None
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    @property
    def full_text(self) -> bool:
        return bool(self.words) or self.phrase is not None


def parse_query(
    params: Mapping[str, Sequence[str]],
    *,
    fields: Collection[str] | None = None,
    camel: bool = False,
    what: str = "records",
) -> Query:
    """Parse query parameters (each name with its list of values, in order).

    ``fields`` are the top-level fields of the records searched (snake case); a condition on
    another field is refused. In ``camel`` mode the first segment of a path is converted
    from camelCase (spec §2.5). ``what`` names the records in messages.
    """
    words: list[str] = []
    phrases: list[str] = []
    paging = {"skip": 0, "limit": DEFAULT_LIMIT}
    conditions: list[Condition] = []
    for key, values in params.items():
        if key in _IGNORED:
            continue
        if key == "search":
            for value in values:
                words.extend(words_of(value))
        elif key == "exactsearch":
            phrases.extend(v.strip() for v in values if v.strip())
        elif key in _PAGING:
            for value in values:
                paging[key] = _non_negative(key, value)
        else:
            path, op = _split_key(key, fields=fields, camel=camel, what=what)
            for value in values:
                conditions.append(Condition(path, op, _typed(key, path, op, value), value))
    phrase = " ".join(phrases).lower() if phrases else None
    return Query(
        words=tuple(dict.fromkeys(words)),
        phrase=phrase,
        skip=paging["skip"],
        limit=paging["limit"],
        conditions=tuple(conditions),
    )


#: the largest ``skip`` or ``limit`` (what every store takes as an integer)
MAX_PAGING = 2**31 - 1


def _non_negative(key: str, value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidRequest(f"Invalid {key} parameter: {value!r}; it must be a non-negative integer.")
    if len(text) > 10 or int(text) > MAX_PAGING:
        raise InvalidRequest(
            f"Invalid {key} parameter: {value!r}; it must be a non-negative integer of at most {MAX_PAGING}."
        )
    return int(text)


def _split_key(
    key: str, *, fields: Collection[str] | None, camel: bool, what: str
) -> tuple[tuple[str, ...], str]:
    segments = key.split(".")
    op = "eq"
    if len(segments) > 1 and segments[-1] in OPERATORS:
        op = segments.pop()
    if not all(segments):
        raise InvalidRequest(
            f"Invalid search parameter: {key!r}. Use <field>=<value> or <field>.<operator>=<value> with "
            f"a field name (dotted paths reach nested fields) and an operator among {', '.join(OPERATORS)}."
        )
    if camel:
        segments[0] = to_snake(segments[0])
    if fields is not None and segments[0] not in fields:
        shown = sorted(to_camel(f) if camel else f for f in fields)
        raise InvalidRequest(
            f"Invalid search parameter: {key!r}. {segments[0]!r} is not a field of {what}; "
            f"the fields are: {', '.join(shown)}."
        )
    return tuple(segments), op


def _typed(key: str, path: tuple[str, ...], op: str, text: str) -> Any:
    time_field = is_time_field(path)
    try:
        if op in ("like", "nlike"):
            return compile_pattern(text)
        if op in ("in", "nin"):
            return tuple(_element(item, time_field) for item in _json_list(text))
        if op == "between":
            return _between(text, time_field)
        value = type_value(text, time_field=time_field)
        if op in _ORDERED and (value is None or isinstance(value, (bool, dict, list))):
            raise ValueError(f".{op} compares numbers, strings or times, not {text!r}.")
        return value
    except ValueError as exc:
        raise InvalidRequest(f"Invalid search value for {key}: {exc}") from None


def _json_list(text: str) -> list[Any]:
    for candidate in (text, text.replace("'", '"')):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, list):
            return value
    raise ValueError(f"{text!r} is not a list; .in and .nin take a JSON list, e.g. [\"READY\", 'ERROR'].")


def _element(item: Any, time_field: bool) -> Any:
    if not time_field or item is None:
        return item
    if not isinstance(item, str):
        raise ValueError(f"{item!r} is not a datetime; the list of a time field holds ISO-8601 strings.")
    return parse_time_prefix(item)


def _between(text: str, time_field: bool) -> tuple[Any, Any]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ValueError(f"{text!r} is not a range; .between takes two values separated by a comma.")
    if time_field:
        low, high = (parse_time_prefix(p) for p in parts)
        return low, high
    if not all(NUMBER.fullmatch(p.strip()) for p in parts):
        raise ValueError(f"{text!r} is not a range of numbers or datetimes.")
    return float(parts[0]), float(parts[1])
