"""Translate docker-py and transport errors into abaco errors at the plugin's edge.

Every public method of :class:`abaco_docker.backend.DockerBackend` runs its SDK calls inside
:func:`translated`, so no ``docker.errors.*`` or ``requests`` exception escapes the backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker.errors
import requests.exceptions
import urllib3.exceptions

from abaco_core.containers import exception_chain as _chain
from abaco_core.errors import AbacoError, BackendError, BackendUnavailable, ContainerFailed, ImageNotFound

__all__ = ["explain", "is_not_found", "is_timeout", "translate", "translated"]


def explain(exc: BaseException) -> str:
    """The engine's own words for an error, without docker-py's URL noise."""
    if isinstance(exc, docker.errors.APIError):
        text = exc.explanation
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text:
            return str(text).strip()
        if exc.response is not None:
            return f"HTTP {exc.response.status_code} {exc.response.reason}"
    return str(exc) or type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, docker.errors.NotFound)


def is_timeout(exc: BaseException) -> bool:
    """Whether the engine did not answer within the read timeout (a wait that timed out)."""
    return any(
        isinstance(e, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError)
        for e in _chain(exc)
    )


def translate(exc: BaseException, action: str, url: str, image: str | None = None) -> AbacoError:
    """The abaco error for an SDK or transport error raised while doing ``action``."""
    if isinstance(exc, AbacoError):
        return exc
    where = f"docker at {url}"
    if isinstance(exc, docker.errors.ImageNotFound) or (
        image is not None and isinstance(exc, docker.errors.NotFound) and "image" in explain(exc).lower()
    ):
        name = image or "the image"
        return ImageNotFound(f"image {name!r} is not present on {where}: {explain(exc)}")
    if is_timeout(exc):
        return BackendUnavailable(f"{where} did not answer in time ({action})")
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
        return BackendUnavailable(f"cannot reach {where} ({action}): {explain(exc)}")
    if isinstance(exc, docker.errors.DockerException) and "Error while fetching server API version" in str(
        exc
    ):
        return BackendUnavailable(f"cannot reach {where} ({action}): {exc}")
    if isinstance(exc, docker.errors.APIError):
        return ContainerFailed(f"{action} failed on {where}: {explain(exc)}")
    if isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException | OSError):
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
