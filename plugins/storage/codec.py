"""Conversions between abaco's dataclasses and table rows.

A row keeps in columns what the store queries (keys, status, figures that are summed,
times) and every other field of the dataclass in ``doc``, a JSON object. A field added to
a dataclass is therefore stored without a migration: it lands in ``doc``; reading an older
row, a field missing from ``doc`` takes its dataclass default, and a key of ``doc`` the
dataclass no longer has is ignored.

Values are encoded by the field's declared type: datetimes as ISO 8601 in UTC with
microseconds (in columns: integer microseconds since the Unix epoch), enums by value
(decoded back to the enum), everything else as plain JSON. Naive datetimes are taken to
be UTC; every datetime read back is aware (UTC).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from abaco_core.errors import InvalidRequest, StoreError

__all__ = ["RecordCodec", "dumps", "from_micros", "loads", "to_micros"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def to_micros(value: datetime | None) -> int | None:
    """Microseconds since the Unix epoch (UTC); naive datetimes are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidRequest(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return EPOCH + timedelta(microseconds=int(value))


def _iso(value: datetime) -> str:
    if not isinstance(value, datetime):
        raise InvalidRequest(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _from_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def dumps(value: Any) -> str:
    """Compact JSON; non-ASCII escaped, so any str (even a lone surrogate) can be stored."""
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"a value cannot be stored as JSON: {exc}") from None


def loads(text: str | bytes) -> Any:
    return json.loads(text)


def _kind(hint: Any) -> Any:
    """``datetime``, an enum class, or ``None`` (plain JSON) for a field's type hint."""
    candidates: Sequence[Any] = (hint,)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        candidates = typing.get_args(hint)
    for candidate in candidates:
        if candidate is datetime:
            return datetime
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


class RecordCodec(Generic[T]):
    """Maps one dataclass to a row: ``columns`` (field name → column name) plus ``doc``."""

    def __init__(self, cls: type[T], columns: dict[str, str]) -> None:
        self.cls = cls
        hints = typing.get_type_hints(cls)
        self.kinds: dict[str, Any] = {f.name: _kind(hints[f.name]) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(columns) - set(self.kinds)
        if unknown:
            raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
        self.columns = dict(columns)
        self.column_names = list(columns.values())
        self.doc_fields = [name for name in self.kinds if name not in columns]
        self._encoders: list[tuple[str, Callable[[Any], Any]]] = [
            (name, self._column_encoder(self.kinds[name])) for name in columns
        ]

    # -- encoding --------------------------------------------------------------------

    @staticmethod
    def _column_encoder(kind: Any) -> Callable[[Any], Any]:
        if kind is datetime:
            return to_micros
        if kind is not None:
            return lambda value: None if value is None else kind(value).value
        return lambda value: value

    def _doc_value(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        kind = self.kinds[name]
        if kind is datetime:
            return _iso(value)
        if kind is not None:
            try:
                return kind(value).value
            except ValueError:
                raise InvalidRequest(f"{name}: {value!r} is not a {kind.__name__}") from None
        return value

    def column_values(self, record: T) -> list[Any]:
        """The column values of ``record``, in the order of :attr:`column_names`."""
        try:
            return [encode(getattr(record, name)) for name, encode in self._encoders]
        except ValueError as exc:
            raise InvalidRequest(f"invalid {self.cls.__name__}: {exc}") from None

    def doc(self, record: T) -> str:
        return dumps({name: self._doc_value(name, getattr(record, name)) for name in self.doc_fields})

    # -- decoding --------------------------------------------------------------------

    def load(self, columns: Sequence[Any], doc: str | None) -> T:
        """A record from its column values (in :attr:`column_names` order) and its doc."""
        values: dict[str, Any] = {}
        if doc:
            stored = loads(doc)
            for name in self.doc_fields:
                if name in stored:
                    values[name] = self._decode(name, stored[name], from_column=False)
        for name, value in zip(self.columns, columns, strict=True):
            values[name] = self._decode(name, value, from_column=True)
        return self.cls(**values)

    def _decode(self, name: str, value: Any, *, from_column: bool) -> Any:
        if value is None:
            return None
        kind = self.kinds[name]
        try:
            if kind is datetime:
                return from_micros(value) if from_column else _from_iso(value)
            if kind is not None:
                return kind(value)
        except ValueError as exc:
            raise StoreError(f"unreadable {self.cls.__name__}.{name} in the database: {exc}") from None
        return value
