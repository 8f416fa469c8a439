"""Nonces as credentials (spec §3.6): a request that no authentication method recognised is
authenticated by its ``x-nonce`` query parameter, when nonces are accepted.

Today: nonces do not exist yet, so nothing is recognised here.
"""

from __future__ import annotations

from sanic import Request

from ..access import Identity

__all__ = ["redeem_nonce"]


async def redeem_nonce(request: Request) -> Identity | None:
    """The identity a valid ``x-nonce`` gives (one use consumed), ``None`` without one;
    raise :class:`~abaco_core.errors.InvalidRequest` for a nonce that cannot be used."""
    return None
