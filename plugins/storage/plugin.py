"""Registers the peewee store for ``sqlite:``, ``postgresql:`` and ``postgres:`` database URLs.

Kept cheap to import: peewee and the drivers are imported only when the store is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abaco_core import hookimpl
from abaco_core.records import StoreInfo

if TYPE_CHECKING:
    from abaco_core.interfaces import Store
    from abaco_core.settings import Settings

SCHEMES = ("sqlite", "postgresql", "postgres")


def _build(settings: Settings) -> Store:
    from .store import PeeweeStore

    return PeeweeStore(settings.resolved_database_url)


@hookimpl
def abaco_stores() -> list[StoreInfo]:
    return [
        StoreInfo(
            name="peewee",
            factory=_build,
            schemes=SCHEMES,
            description="SQLite (WAL, embedded default) or PostgreSQL, through peewee",
        )
    ]
