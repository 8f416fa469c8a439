"""Translate podman-py and transport errors into abaco errors at the plugin's edge.

podman-py wraps every transport failure (refused connection, missing socket, read timeout)
in its own ``APIError``, with the original exception as the cause; this module looks through
that chain. Every public method of :class:`abaco_podman.backend.PodmanBackend` runs its SDK
calls inside :func:`translated`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import podman.errors
import requests.exceptions
import urllib3.exceptions

from abaco_core.containers import exception_chain as _chain
from abaco_core.errors import AbacoError, BackendError, BackendUnavailable, ContainerFailed, ImageNotFound

__all__ = ["explain", "is_not_found", "is_timeout", "status_of", "translate", "translated"]


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a podman-py API error (``None`` for transport errors)."""
    if isinstance(exc, podman.errors.APIError):
        return exc.status_code
    return None


def explain(exc: BaseException) -> str:
    """The service's own words for an error."""
    if isinstance(exc, podman.errors.APIError):
        if exc.explanation:
            return str(exc.explanation).strip()
        if exc.status_code is None and exc.__cause__ is not None:
            return str(exc.__cause__)
    return str(exc) or type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, podman.errors.NotFound | podman.errors.ImageNotFound) or status_of(exc) == 404


def is_timeout(exc: BaseException) -> bool:
    """Whether the service did not answer within the read timeout (a wait that timed out)."""
    return any(
        isinstance(e, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError)
        for e in _chain(exc)
    )


def _is_unreachable(exc: BaseException) -> bool:
    return not is_timeout(exc) and any(
        isinstance(e, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError)
        for e in _chain(exc)
    )


def translate(exc: BaseException, action: str, url: str, image: str | None = None) -> AbacoError:
    """The abaco error for an SDK or transport error raised while doing ``action``."""
    if isinstance(exc, AbacoError):
        return exc
    where = f"podman at {url}"
    if isinstance(exc, podman.errors.ImageNotFound) or (
        image is not None and is_not_found(exc) and "image" in explain(exc).lower()
    ):
        return ImageNotFound(f"image {image or 'the image'!r} is not present on {where}: {explain(exc)}")
    if status_of(exc) is None and is_timeout(exc):
        return BackendUnavailable(f"{where} did not answer in time ({action})")
    if status_of(exc) is None and _is_unreachable(exc):
        return BackendUnavailable(f"cannot reach {where} ({action}): {explain(exc)}")
    if isinstance(exc, podman.errors.APIError | podman.errors.PodmanError):
        return ContainerFailed(f"{action} failed on {where}: {explain(exc)}")
    if isinstance(exc, requests.exceptions.RequestException | OSError | ValueError):
        return ContainerFailed(f"{action} failed on {where}: {explain(exc)}")
    return BackendError(f"{action} failed on {where}: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def translated(action: str, url: str, image: str | None = None) -> Iterator[None]:
    """Run a block of SDK calls; re-raise anything but abaco errors as abaco errors."""
    try:
        yield
    except AbacoError:
        raise
    except Exception as exc:  # the edge: nothing from the SDK may escape
        raise translate(exc, action, url, image) from exc
