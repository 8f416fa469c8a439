"""The decorator every public store method wears: a pooled connection for the call, database
errors translated into abaco's error tree, one retry of reads on a dead connection."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from abaco_core.errors import AbacoError, StoreUnavailable

from .errors import is_disconnect, translate

if TYPE_CHECKING:
    from .store import PeeweeStore

__all__ = ["_edge"]

P = ParamSpec("P")
R = TypeVar("R")


def _edge(*, retry: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a store method on a pooled connection and translate database errors.

    With ``retry`` (read-only methods), an operation that failed because its pooled
    connection turned out to be dead runs once more on a fresh connection.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            self: PeeweeStore = args[0]  # type: ignore[assignment]
            if self._closed:
                raise StoreUnavailable(f"the store for {self.url.display} is closed")
            attempts = 2 if retry else 1
            for attempt in range(1, attempts + 1):
                connected = False
                try:
                    with self._db.connection_context():
                        connected = True
                        return fn(*args, **kwargs)
                except AbacoError:
                    raise
                except Exception as exc:
                    error = translate(exc, self.url.display)
                    if error is None:
                        raise
                    # retry only a connection that died in use, not one that could not be made
                    if attempt < attempts and connected and is_disconnect(exc):
                        continue
                    raise error from exc
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate
