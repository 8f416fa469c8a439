"""Each actor's webhook signing secret (our extension of spec §10.2).

One secret per actor, so the owner of one receiver cannot forge deliveries to another's.
It is made on first use (the first delivery, or the first read by a caller with UPDATE on
the actor), stored as an object of kind :data:`KIND` keyed by the actor id with the document
``{"secret": <Fernet token>}`` — encrypted with the key of secret configs
(:class:`abaco_core.crypto.SecretBox`), since signing needs the plaintext — replaced by a
rotation and deleted with its actor.
"""

from __future__ import annotations

import secrets

from ..crypto import SecretBox
from ..errors import Conflict, ObjectNotFound
from ..interfaces import Store

__all__ = ["KIND", "WebhookSecrets"]

KIND = "webhook_secret"


class WebhookSecrets:
    """The signing secrets of a platform's actors (a component of the platform)."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box

    def get(self, tenant: str, actor_id: str) -> str:
        """The actor's secret, made now if it has none. Raises ``ActorNotFound`` for an actor
        that does not exist, ``SecretsUnavailable`` without an encryption key, and
        ``ConfigError`` when the stored secret cannot be decrypted (rotate it)."""
        self.store.get_actor(tenant, actor_id)
        try:
            doc = self.store.get_object(tenant, KIND, actor_id)
        except ObjectNotFound:
            made = _new_secret()
            try:
                self.store.create_object(tenant, KIND, actor_id, {"secret": self.box.encrypt(made)})
                return made
            except Conflict:  # made at the same moment by another process: theirs counts
                doc = self.store.get_object(tenant, KIND, actor_id)
        return self._open(doc, actor_id)

    def rotate(self, tenant: str, actor_id: str) -> str:
        """Replace the actor's secret by a new one and return it; every attempt signed from
        now on uses it, retries of earlier deliveries included."""
        self.store.get_actor(tenant, actor_id)
        made = _new_secret()
        doc = {"secret": self.box.encrypt(made)}
        try:
            self.store.update_object(tenant, KIND, actor_id, lambda _old: doc)
        except ObjectNotFound:
            try:
                self.store.create_object(tenant, KIND, actor_id, doc)
            except Conflict:
                self.store.update_object(tenant, KIND, actor_id, lambda _old: doc)
        return made

    def _open(self, doc: dict[str, object], actor_id: str) -> str:
        what = f"the webhook signing secret of actor {actor_id} (rotate it: POST /actors/{actor_id}/webhook/secret)"
        return self.box.decrypt(str(doc.get("secret", "")), what=what)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)
