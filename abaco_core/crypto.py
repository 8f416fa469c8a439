"""Encryption of secret config values at rest (spec §4.7): Fernet tokens.

Where the key comes from (decided in docs/architecture.md, "Secrets"):

* ``ABACO_ENCRYPTION_KEY``: one or more Fernet keys, comma-separated. The first encrypts;
  every one decrypts, so a key can be rotated by putting the new key first.
* unset, on the embedded SQLite store: a key generated once into ``<data_dir>/encryption.key``
  (mode 0600), so ``abaco up`` works out of the box and keeps working after a restart.
* unset, on any other store (a cluster shares PostgreSQL between hosts that do not share a
  data dir): secrets cannot be created nor decrypted, with a clear 503; plain configs work.

Plaintext never leaves this module except into a container's environment.
"""

from __future__ import annotations

import os
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import AbacoError, ConfigError, InvalidRequest
from .settings import Settings

__all__ = ["KEY_FILE", "SecretBox", "SecretsUnavailable", "is_utf8"]

KEY_FILE = "encryption.key"


def is_utf8(text: str) -> bool:
    """Whether ``text`` has a UTF-8 encoding (a lone surrogate has none)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class SecretsUnavailable(AbacoError):
    """Secret configs need an encryption key that this deployment does not have (HTTP 503)."""

    status = 503


class SecretBox:
    """Encrypts and decrypts secret values with the deployment's key, loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fernet: MultiFernet | None = None
        self._lock = threading.Lock()

    @staticmethod
    def parse_keys(text: str) -> list[bytes]:
        """``ABACO_ENCRYPTION_KEY`` → the keys it names; a malformed key is a ``ConfigError``
        (naming its position, never its value)."""
        keys = [part.strip().encode() for part in text.split(",") if part.strip()]
        if not keys:
            raise ConfigError("ABACO_ENCRYPTION_KEY is set but names no key")
        for number, key in enumerate(keys, 1):
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise ConfigError(
                    f"ABACO_ENCRYPTION_KEY: key {number} is not a Fernet key (32 url-safe base64-encoded "
                    'bytes; make one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())")'
                ) from None
        return keys

    def check(self) -> None:
        """Fail fast at start on a malformed configured key."""
        if self.settings.encryption_key:
            self.parse_keys(self.settings.encryption_key)

    def _embedded(self) -> bool:
        return self.settings.resolved_database_url.startswith("sqlite")

    def _load(self) -> MultiFernet:
        with self._lock:
            if self._fernet is not None:
                return self._fernet
            if self.settings.encryption_key:
                keys = self.parse_keys(self.settings.encryption_key)
            elif self._embedded():
                keys = [self._key_file()]
            else:
                raise SecretsUnavailable(
                    "Secret configs need an encryption key: set ABACO_ENCRYPTION_KEY to the same "
                    "Fernet key on every abaco process of this deployment."
                )
            self._fernet = MultiFernet([Fernet(k) for k in keys])
            return self._fernet

    def _key_file(self) -> bytes:
        path = os.path.join(self.settings.data_dir, KEY_FILE)
        os.makedirs(self.settings.data_dir, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
                handle.flush()
                os.fsync(handle.fileno())
        with open(path, "rb") as handle:
            key = handle.read().strip()
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{path} does not hold a Fernet key; remove it or set ABACO_ENCRYPTION_KEY"
            ) from None
        return key

    def encrypt(self, plaintext: str) -> str:
        # checked, not caught: a UnicodeEncodeError would carry the plaintext with it
        if not is_utf8(plaintext):
            raise InvalidRequest("A secret value must be valid UTF-8 text (it holds an unpaired surrogate).")
        return self._load().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str, *, name: str = "", what: str = "") -> str:
        """The plaintext of a stored token; a token no configured key opens is a
        ``ConfigError`` naming the config ``name`` (or ``what`` it is), never the value."""
        try:
            return self._load().decrypt(token.encode()).decode()
        except (InvalidToken, ValueError, TypeError):
            label = what or f"the secret config {name!r}"
            raise ConfigError(f"{label} cannot be decrypted with the configured encryption key(s)") from None
