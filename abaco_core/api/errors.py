"""The one place that maps errors to HTTP statuses and envelopes."""

from __future__ import annotations

import logging

from sanic import Request
from sanic import exceptions as sanic_exc
from sanic.response import HTTPResponse

from ..errors import (
    AbacoError,
    AuthenticationFailed,
    BackendUnavailable,
    QueueUnavailable,
    StoreUnavailable,
)
from .envelope import error

__all__ = ["NOT_AN_ENDPOINT", "UNAVAILABLE_HINT", "WRONG_METHOD", "handle_exception"]

log = logging.getLogger(__name__)

WRONG_METHOD = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
NOT_AN_ENDPOINT = "Invalid request: the requested URL is not an Abaco endpoint."
UNAVAILABLE_HINT = (
    "The request was not carried out; retry it once the service is back "
    "(operators: check that the service named here runs and is reachable)."
)


def handle_exception(request: Request, exc: Exception) -> HTTPResponse:
    version = request.app.ctx.platform.settings.version
    if isinstance(exc, AbacoError):
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        if isinstance(exc, (StoreUnavailable, QueueUnavailable, BackendUnavailable)):  # an outage
            return error(version, f"{exc.message.rstrip('. ')}. {UNAVAILABLE_HINT}", 503)
        response = error(version, exc.message, exc.status)
        if isinstance(exc, AuthenticationFailed):
            response.headers["WWW-Authenticate"] = exc.challenge
        return response
    if isinstance(exc, sanic_exc.MethodNotAllowed):
        return error(version, WRONG_METHOD, 405)
    if isinstance(exc, sanic_exc.NotFound):
        return error(version, NOT_AN_ENDPOINT, 404)
    if isinstance(exc, sanic_exc.PayloadTooLarge):
        limit = request.app.config.REQUEST_MAX_SIZE
        return error(version, f"Message exceeds max content length of: {limit}", 413)
    if isinstance(exc, sanic_exc.SanicException) and exc.status_code < 500:
        return error(version, f"Invalid request: {exc}", exc.status_code)
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error(version, f"Unrecognized exception type: {type(exc).__name__}. Exception: {exc}", 500)
