"""The ``{message, result, status, version}`` envelope of every JSON response (spec §2.1)."""

from __future__ import annotations

from typing import Any

from sanic.response import HTTPResponse, json

__all__ = ["error", "ok"]

DEFAULT_MESSAGE = "The request was successful"


def ok(version: str, result: Any, message: str = DEFAULT_MESSAGE, status: int = 200) -> HTTPResponse:
    return json(
        {"message": message, "result": result, "status": "success", "version": version}, status=status
    )


def error(version: str, message: str, status: int = 400) -> HTTPResponse:
    return json({"message": message, "result": None, "status": "error", "version": version}, status=status)
