"""The one error tree of abaco.

Every error the core or a plugin raises on purpose is an :class:`AbacoError`. Plugins
translate SDK errors (docker, podman, peewee, redis) into these at their edge, and
``abaco_core.api.errors`` is the only place that maps them to HTTP statuses.
"""

from __future__ import annotations

__all__ = [
    "AbacoError",
    "ActorNotFound",
    "AuthenticationFailed",
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "Conflict",
    "ContainerFailed",
    "ExecutionNotFound",
    "ForbiddenOrigin",
    "ImageNotFound",
    "InvalidRequest",
    "InvalidSchedule",
    "MethodNotAllowed",
    "NotFound",
    "ObjectNotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PluginConflictError",
    "PluginError",
    "QueueError",
    "QueueUnavailable",
    "StoreError",
    "StoreUnavailable",
    "WorkerNotFound",
]


class AbacoError(Exception):
    """Root of every error abaco raises deliberately."""

    #: HTTP status the API answers with; ``abaco_core.api.errors`` reads it.
    status: int = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message or self.__class__.__doc__ or self.__class__.__name__

    def __str__(self) -> str:
        return self.message


class ConfigError(AbacoError):
    """The settings are invalid."""


class PluginError(AbacoError):
    """A plugin misbehaved or could not be found."""


class PluginConflictError(PluginError):
    """Two plugins registered the same name for the same kind of component."""


class InvalidRequest(AbacoError):
    """The request is malformed or fails validation (HTTP 400)."""

    status = 400


class MethodNotAllowed(InvalidRequest):
    """The route exists but not for this method (HTTP 405)."""

    status = 405


class PayloadTooLarge(InvalidRequest):
    """The request body exceeds a configured limit (HTTP 413)."""

    status = 413


class Conflict(InvalidRequest):
    """The request conflicts with the current state of a resource (HTTP 400)."""


class InvalidSchedule(InvalidRequest):
    """A schedule string that no schedule grammar understands."""


class NotFound(AbacoError):
    """A resource does not exist (HTTP 404)."""

    status = 404


class ActorNotFound(NotFound):
    """No actor with that identifier."""


class ExecutionNotFound(NotFound):
    """No execution with that identifier."""


class WorkerNotFound(NotFound):
    """No worker with that identifier."""


class ObjectNotFound(NotFound):
    """No stored object (alias, nonce, config, token ...) with that key."""


class AuthenticationFailed(AbacoError):
    """A credential was presented but refused (an unknown or revoked API token): HTTP 401,
    with ``WWW-Authenticate``. Never used for a missing credential (400 ``No JWT or nonce
    provided.``, as upstream) nor for an authorization refusal (400, Q1)."""

    status = 401
    #: the ``WWW-Authenticate`` challenge sent with the 401
    challenge = 'Bearer error="invalid_token"'


class ForbiddenOrigin(AbacoError):
    """A server that lets every caller in without a credential (``ABACO_AUTH=none``) refuses a
    request that comes, or may come, from a web page or a host other than this machine (HTTP
    403; :mod:`abaco_core.loopback`). Not a permission refusal: those stay 400 (Q1)."""

    status = 403


class PermissionDenied(InvalidRequest):
    """The caller may not do this. 400, as upstream Abaco answers (spec §15, Q1)."""


class BackendError(AbacoError):
    """A container backend failed."""


class BackendUnavailable(BackendError):
    """The container engine cannot be reached."""

    status = 503


class ImageNotFound(BackendError):
    """The image is not present and could not be pulled."""


class ContainerFailed(BackendError):
    """A container could not be created, started, stopped or inspected."""


class StoreError(AbacoError):
    """The store failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached."""

    status = 503


class QueueError(AbacoError):
    """The queue failed."""


class QueueUnavailable(QueueError):
    """The queue broker cannot be reached."""

    status = 503
