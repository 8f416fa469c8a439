"""Parsing and validating actor registration fields (spec §4.1, §5.1–5.2).

The request may carry fields in a JSON body, the query string or a form (first value
found wins, in that order). Every failure is an :class:`InvalidRequest` whose message has
the shape ``Invalid actor description: {'<field>': '<help>'}``, naming the field the way the
instance spells it (snake or camel case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .casing import to_camel
from .errors import InvalidRequest
from .settings import parse_bool

__all__ = [
    "MISSING",
    "ActorFields",
    "FieldSource",
    "lookup_field",
    "mem_limit_bytes",
    "parse_actor_fields",
    "parse_field",
]

_MISSING = object()
#: what :func:`lookup_field` and :func:`parse_field` return for a field the request lacks
MISSING = _MISSING
_HINT_FORBIDDEN = "\"'{}[]"
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
_MEM_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
ACTOR_TYPES = ("none", "bin", "json")

HELP = {
    "image": "The Docker image to use for the actor (required).",
    "name": "A user-defined name for the actor.",
    "description": "A description of the actor.",
    "stateless": "Whether the actor is stateless (a boolean).",
    "privileged": "Whether the actor runs in privileged mode (a boolean).",
    "use_container_uid": "Whether the actor runs as the container's own uid (a boolean).",
    "default_environment": "A JSON object of default environment variables and values.",
    "token": "Whether executions receive an access token (a boolean).",
    "hints": "A list of hints (strings) about the actor.",
    "link": "An actor id or alias that receives this actor's events.",
    "webhook": "A URL that receives this actor's events.",
    "cron_schedule": "A cron schedule for the actor.",
    "cron_on": "Whether the cron schedule is on (a boolean).",
    "cron_timezone": "The IANA time zone of a standard cron schedule, such as Europe/Paris.",
    "queue": "The command queue for the actor's workers.",
    "max_workers": "The maximum number of workers (a positive integer).",
    "max_cpus": "The maximum CPU of an execution in NanoCPUs (a positive integer, or -1).",
    "mem_limit": "The memory limit of an execution, such as 512m or 2g (or -1).",
    "log_ex": "Seconds the logs of an execution are kept (an integer).",
    "type": "The return type of the actor: none, bin or json.",
    "max_retries": "How many times an execution that fails for a platform reason is retried (0 or more).",
    "retry_delay": "Seconds between two attempts of an execution (0 or more).",
    "retry_on_exit_code": "Whether an execution whose container exits nonzero is retried too (a boolean).",
    "force": "Whether to refresh the image and start new workers (a boolean).",
}


@dataclass(frozen=True)
class FieldSource:
    """Where request fields come from, in lookup order: JSON body, query string, form."""

    json: Mapping[str, Any] | None = None
    query: Mapping[str, list[str]] | None = None
    form: Mapping[str, list[str]] | None = None

    def get(self, name: str, *, many: bool = False, default: Any = _MISSING) -> Any:
        """The first value found for ``name``; ``default`` (a private sentinel unless given)
        when the request does not carry it."""
        if self.json is not None and name in self.json:
            return self.json[name]
        for multi in (self.query, self.form):
            if multi and name in multi:
                values = multi[name]
                return list(values) if many else values[0]
        return default


def mem_limit_bytes(value: str | None) -> int | None:
    """``512m`` → 536870912; ``-1`` or unset → ``None`` (unlimited)."""
    if value is None or str(value).strip() == "-1":
        return None
    match = _MEM_RE.match(str(value))
    if not match:
        raise ValueError(f"not a memory size: {value!r}")
    return int(float(match.group(1)) * _MEM_UNITS[match.group(2).lower()])


@dataclass
class ActorFields:
    """Validated user fields; ``supplied`` says which ones the request carried."""

    values: dict[str, Any]
    supplied: frozenset[str]


def _bool(v: Any) -> bool:
    return parse_bool(v)


def _str(v: Any) -> str:
    if isinstance(v, (dict, list, bool)) or v is None:
        raise ValueError("not a string")
    return str(v)


def _image(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("not a string")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    raise ValueError("not an integer")


def _object(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError("not a JSON object")
    for name, value in v.items():
        if not name or "=" in name or "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise ValueError("not usable as environment variables")
    return v


def _hints(v: Any) -> list[str]:
    items = v if isinstance(v, list) else [v]
    out = []
    for item in items:
        if isinstance(item, (dict, list)) or item is None:
            raise InvalidRequest(
                "Hints must be simple stings or numbers, no lists or dicts. Error character: {"
            )
        text = str(item)
        for ch in text:
            if ch in _HINT_FORBIDDEN:
                raise InvalidRequest(
                    f"Hints must be simple stings or numbers, no lists or dicts. Error character: {ch}"
                )
        out.append(text)
    return out


def _max_cpus(v: Any) -> int:
    n = _int(v)
    if n != -1 and not 0 < n <= 1024 * 10**9:
        raise ValueError("must be positive (at most 1024 CPUs) or -1")
    return n


def _positive(v: Any) -> int:
    n = _int(v)
    if n <= 0:
        raise ValueError("must be positive")
    return n


def _non_negative(v: Any) -> int:
    n = _int(v)
    if n < 0:
        raise ValueError("must not be negative")
    return n


def _seconds(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("not a number")
    n = float(v)
    if not 0 <= n <= 86400:
        raise ValueError("must be between 0 and 86400")
    return n


def _log_ex(v: Any) -> int:
    n = _int(v)
    if n < -1 or n == 0:
        raise ValueError("must be positive or -1")
    return n


def _mem(v: Any) -> str:
    text = str(v).strip() if isinstance(v, (str, int)) and not isinstance(v, bool) else None
    if text is None:
        raise ValueError("not a memory size")
    size = mem_limit_bytes(text)
    if size is not None and not 4 * 1024**2 <= size <= 2**50:
        raise ValueError("must be between 4m and 1024t")
    return text


def _type(v: Any) -> str:
    text = _str(v).lower()
    if text not in ACTOR_TYPES:
        raise ValueError("must be none, bin or json")
    return text


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "image": _image,
    "name": _str,
    "description": _str,
    "stateless": _bool,
    "privileged": _bool,
    "use_container_uid": _bool,
    "default_environment": _object,
    "token": _bool,
    "hints": _hints,
    "link": _str,
    "webhook": _str,
    "cron_schedule": _str,
    "cron_on": _bool,
    "cron_timezone": _str,
    "queue": _str,
    "max_workers": _positive,
    "max_cpus": _max_cpus,
    "mem_limit": _mem,
    "log_ex": _log_ex,
    "type": _type,
    "max_retries": _non_negative,
    "retry_delay": _seconds,
    "retry_on_exit_code": _bool,
}

DEFAULTS: dict[str, Any] = {
    "description": "",
    "stateless": True,
    "privileged": False,
    "use_container_uid": False,
    "default_environment": {},
    "hints": [],
    "link": "",
    "webhook": "",
    "cron_schedule": None,
    "cron_on": False,
    "cron_timezone": None,
    "queue": "default",
    "max_workers": None,
    "max_cpus": None,
    "mem_limit": None,
    "log_ex": None,
    "type": "none",
    "max_retries": 0,
    "retry_delay": 0.0,
    "retry_on_exit_code": False,
}


def _invalid(field: str, case: str, help_text: str | None = None) -> InvalidRequest:
    shown = to_camel(field) if case == "camel" else field
    return InvalidRequest(f"Invalid actor description: {{{shown!r}: {(help_text or HELP[field])!r}}}")


def lookup_field(source: FieldSource, field: str, case: str = "snake") -> Any:
    """The raw value the request carries for a (snake-case) field name, as the parser reads
    it; :data:`MISSING` when it carries none."""
    key = to_camel(field) if case == "camel" else field
    raw = source.get(key, many=(field == "hints"))
    if raw is _MISSING and case == "snake" and to_camel(field) != field:
        # a snake-case instance also understands the camelCase spelling that Abaco's
        # documentation uses (``cronSchedule``); the snake-case name wins when both are sent
        raw = source.get(to_camel(field), many=(field == "hints"))
    return raw


def parse_field(source: FieldSource, field: str, case: str = "snake") -> Any:
    """One field parsed as :func:`parse_actor_fields` parses it: :data:`MISSING` when absent
    (or ``null``), else the parsed value; ``ValueError`` when it does not parse."""
    raw = lookup_field(source, field, case)
    if raw is _MISSING or raw is None:
        return _MISSING
    parser = _bool if field == "force" else _PARSERS[field]
    try:
        return parser(raw)
    except InvalidRequest as exc:
        raise ValueError(str(exc)) from None
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def parse_actor_fields(
    source: FieldSource,
    *,
    case: str = "snake",
    host_queues: list[str] | tuple[str, ...] = ("default",),
    default_token: bool | str = "false",
    update: bool = False,
) -> ActorFields:
    """Validate registration (``update=False``) or full-replacement update fields.

    Omitted optional fields take their defaults (PUT is a full replacement, spec §5.2);
    ``name`` is only read on registration and ``force`` only on update.
    """
    values: dict[str, Any] = {}
    supplied: set[str] = set()
    names = list(_PARSERS) + (["force"] if update else [])
    for field in names:
        if update and field == "name":
            continue
        raw = lookup_field(source, field, case)
        if raw is _MISSING or (raw is None and field not in ("default_environment",)):
            continue
        parser = _bool if field == "force" else _PARSERS[field]
        try:
            values[field] = parser(raw)
        except InvalidRequest:
            raise
        except (TypeError, ValueError):
            raise _invalid(field, case) from None
        supplied.add(field)

    if not values.get("image", "").strip():
        raise _invalid("image", case)
    values["image"] = values["image"].strip()
    for field, default in DEFAULTS.items():
        values.setdefault(field, default() if callable(default) else _copy(default))
    values.setdefault("token", default_token)
    values.setdefault("force", False)
    if "name" not in values and not update:
        values["name"] = None
    if values["queue"] not in host_queues:
        raise _invalid(
            "queue",
            case,
            f"The queue {values['queue']!r} is not one of {', '.join(host_queues)}. Invalid queue name.",
        )
    if not values["stateless"] and values["max_workers"] is not None:
        raise InvalidRequest("Invalid actor description: stateful actors can only have 1 worker.")
    if values["cron_schedule"] is not None and "cron_on" not in supplied:
        values["cron_on"] = True
    return ActorFields(values, frozenset(supplied))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
