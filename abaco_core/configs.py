"""Actor configs (spec §4.7, §5.13, §8.2; Q13, Q18, Q35): named values, optionally secret,
attached to actors by id or alias and given to their executions in ``_actor_configs``.

Stored as objects of kind ``"config"`` keyed by name, with the document
``{"name", "value", "is_secret", "actors"}``; a secret's ``value`` is its Fernet token
(:mod:`abaco_core.crypto`), which is also what every response shows. Permissions are of kind
``"config"``; the creator gets ``UPDATE``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .access import WORLD, Identity, Level, effective_level
from .actor_fields import FieldSource
from .crypto import SecretBox, is_utf8
from .errors import Conflict, InvalidRequest, NotFound, ObjectNotFound, PermissionDenied
from .interfaces import Store
from .models import Actor
from .settings import parse_bool
from .targets import actor_id_of, aliases_of, has_level

__all__ = [
    "CONFIG",
    "FORBIDDEN_CHARACTERS",
    "RESERVED_NAMES",
    "ConfigFields",
    "ConfigService",
    "parse_config_fields",
    "shown",
    "split_actors",
]

log = logging.getLogger(__name__)

CONFIG = "config"
RESERVED_NAMES = ("executions", "nonces", "logs", "messages", "adapters", "admin", "utilization")
FORBIDDEN_CHARACTERS = (
    ":",
    "/",
    "?",
    "#",
    "[",
    "]",
    "@",
    "!",
    "$",
    "&",
    "'",
    "(",
    ")",
    "*",
    "+",
    ",",
    ";",
    "=",
    " ",
)
NO_ACCESS = "You do not have sufficient access to this actor config."
_MISSING = object()


def split_actors(actors: str) -> list[str]:
    """The entries of an ``actors`` string: split on commas, trimmed, empty ones dropped (Q18)."""
    return [part.strip() for part in actors.split(",") if part.strip()]


@dataclass(frozen=True)
class ConfigFields:
    """A validated POST or PUT body. ``value`` is the plaintext; keep it out of messages."""

    name: str
    value: str
    is_secret: bool
    actors: str


def _required(source: FieldSource, *names: str) -> Any:
    for name in names:
        value = source.get(name, default=_MISSING)
        if value is not _MISSING:
            return value
    raise InvalidRequest(f"Invalid actor config description. Missing required field: {names[0]}.")


def _check_text(text: str, field: str) -> str:
    """``text`` unless it cannot be UTF-8 (a lone surrogate such as ``"\\ud800"`` in JSON):
    then a 400 that names the field, never the text (it may be a secret)."""
    if not is_utf8(text):
        raise InvalidRequest(
            f"Invalid actor config description: {field} must be valid UTF-8 text (it holds an unpaired "
            "surrogate)."
        )
    return text


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("Invalid actor config description: name must be a non-empty string.")
    _check_text(name, "name")
    if name in RESERVED_NAMES:
        raise InvalidRequest(
            f"{name} is a reserved word. Config names cannot be one of: {', '.join(RESERVED_NAMES)}."
        )
    for char in (*FORBIDDEN_CHARACTERS, "\\", '"'):
        if char in name:
            raise InvalidRequest(
                f"'{char}' is a forbidden character. Config names cannot contain any of: "
                f"{' '.join(FORBIDDEN_CHARACTERS[:-1])}, or a space."
            )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidRequest("Invalid actor config description: name cannot contain control characters.")
    return name


def parse_config_fields(source: FieldSource, *, name: str | None = None) -> ConfigFields:
    """The body of ``POST /actors/configs`` (``name`` given by the request) or of
    ``PUT /actors/configs/{name}`` (``name`` from the path; the body may repeat it)."""
    if name is None:
        name = check_name(_required(source, "name"))
    else:
        given = source.get("name", default=_MISSING)
        if given is not _MISSING and given != name:
            raise InvalidRequest(
                "Invalid actor config update description. The name of a config cannot be changed in a PUT request."
            )
    value = _required(source, "value")
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequest("Invalid actor config description: value must be a string.")
    if "\x00" in value:
        raise InvalidRequest("Invalid actor config description: value cannot contain a NUL character.")
    _check_text(value, "value")
    raw_secret = _required(source, "is_secret", "isSecret")
    try:
        is_secret = parse_bool(raw_secret)
    except ValueError:
        raise InvalidRequest("Invalid actor config description: is_secret must be a boolean.") from None
    actors = _required(source, "actors")
    if isinstance(actors, list) and all(isinstance(a, str) for a in actors):
        actors = ",".join(actors)
    if not isinstance(actors, str) or not split_actors(actors):
        raise InvalidRequest(
            "Invalid actor config description: actors must be a comma-separated string of actor ids "
            "and/or aliases."
        )
    _check_text(actors, "actors")
    return ConfigFields(name=name, value=value, is_secret=is_secret, actors=actors)


class ConfigService:
    """The config operations the API and the runtime perform (a component of the platform)."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box

    # -- checks -----------------------------------------------------------------------------

    def _check_actors(self, who: Identity, actors: str) -> None:
        """Every entry names an actor or alias of the tenant (404), and the caller holds
        UPDATE on the actor each names (Q13; an alias counts as its actor; admins pass)."""
        targets = []
        for entry in split_actors(actors):
            actor_id = actor_id_of(self.store, who.tenant, entry)
            if actor_id is None:
                raise NotFound(f"No actor or alias found with id: {entry}.")
            targets.append((entry, actor_id))
        for entry, actor_id in targets:
            if not has_level(self.store, who, actor_id, Level.UPDATE):
                raise PermissionDenied(f"Not authorized -- you do not have access to {entry}.")

    def _level(self, who: Identity, name: str) -> Level:
        if who.is_admin:
            return Level.UPDATE
        return effective_level(self.store.get_permissions(who.tenant, CONFIG, name), who.username)

    def _doc(self, fields: ConfigFields) -> dict[str, Any]:
        value = self.box.encrypt(fields.value) if fields.is_secret else fields.value
        return {"name": fields.name, "value": value, "is_secret": fields.is_secret, "actors": fields.actors}

    # -- operations -------------------------------------------------------------------------

    def create(self, who: Identity, fields: ConfigFields) -> dict[str, Any]:
        self._check_actors(who, fields.actors)
        doc = self._doc(fields)
        try:
            self.store.create_object(who.tenant, CONFIG, fields.name, doc)
        except Conflict:
            raise Conflict(
                f"Config {fields.name} already exists; please choose another name for your config"
            ) from None
        self.store.set_permission(who.tenant, CONFIG, fields.name, who.username, Level.UPDATE.name)
        return doc

    def get(self, who: Identity, name: str, needed: Level = Level.READ) -> dict[str, Any]:
        """The stored document (a secret's value stays ciphertext); 404, then the level check."""
        try:
            doc = self.store.get_object(who.tenant, CONFIG, name)
        except ObjectNotFound:
            raise NotFound(f"No config found: {name}.") from None
        if self._level(who, name) < needed:
            raise PermissionDenied(NO_ACCESS)
        return doc

    def list(self, who: Identity) -> list[dict[str, Any]]:
        """The configs on which the caller holds at least READ, their own entry or the world's
        (Q13); the admin role does not widen the list."""
        entries = self.store.permissions_of(who.tenant, CONFIG, [who.username, WORLD])
        readable = {
            key for key, perms in entries.items() if effective_level(perms, who.username) >= Level.READ
        }
        return [doc for key, doc in self.store.list_objects(who.tenant, CONFIG) if key in readable]

    def update(self, who: Identity, name: str, fields: ConfigFields) -> dict[str, Any]:
        self.get(who, name, Level.UPDATE)
        self._check_actors(who, fields.actors)
        doc = self._doc(fields)
        try:
            return self.store.update_object(who.tenant, CONFIG, name, lambda _current: doc)
        except ObjectNotFound:
            raise NotFound(f"No config found: {name}.") from None

    def delete(self, who: Identity, name: str) -> None:
        self.get(who, name, Level.UPDATE)
        self.store.delete_object(who.tenant, CONFIG, name)
        self.store.delete_permissions(who.tenant, CONFIG, name)

    # -- cascades and the runtime -----------------------------------------------------------

    def remove_identifier(self, tenant: str, identifier: str) -> int:
        """Drop a deleted actor's id or alias from every config (see :func:`remove_identifier`)."""
        return remove_identifier(self.store, tenant, identifier)

    def for_actor(self, actor: Actor) -> dict[str, str]:
        """``{name: value}`` of every config listing the actor's id or one of its aliases,
        matched exactly (Q18), secrets decrypted: the value of ``_actor_configs``."""
        names = {actor.id, *aliases_of(self.store, actor.tenant, actor.id)}
        found: dict[str, str] = {}
        for key, doc in self.store.list_objects(actor.tenant, CONFIG):
            if names.isdisjoint(split_actors(str(doc.get("actors", "")))):
                continue
            value = str(doc.get("value", ""))
            found[str(doc.get("name", key))] = (
                self.box.decrypt(value, name=key) if doc.get("is_secret") else value
            )
        return found


def shown(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A config as the API shows it: the stored fields (a secret's value as ciphertext)."""
    return {
        "name": doc.get("name"),
        "value": doc.get("value"),
        "is_secret": bool(doc.get("is_secret")),
        "actors": doc.get("actors", ""),
    }


def remove_identifier(store: Store, tenant: str, identifier: str) -> int:
    """Drop ``identifier`` (a deleted actor's id or alias) from every config's ``actors``
    (Q35); the remaining entries keep their spelling. Returns how many configs changed."""
    changed = 0
    for key, doc in store.list_objects(tenant, CONFIG):
        if identifier not in split_actors(str(doc.get("actors", ""))):
            continue

        def drop(current: dict[str, Any]) -> dict[str, Any] | None:
            entries = [p for p in str(current.get("actors", "")).split(",") if p.strip() != identifier]
            joined = ",".join(entries)
            if joined == current.get("actors"):
                return None
            return {**current, "actors": joined}

        try:
            store.update_object(tenant, CONFIG, key, drop)
            changed += 1
        except ObjectNotFound:
            continue
    return changed
