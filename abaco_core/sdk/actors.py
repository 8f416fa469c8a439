"""Helpers for code running inside an Abaco actor container.

A single module with no dependency outside the Python standard library (``cloudpickle`` is
used when importable), so an actor image can simply copy this file as ``actors.py``. It keeps
the names of upstream's helper (``samples/base/actors.py`` / ``agavepy.actors``)::

    from actors import get_context, get_binary_message, send_python_result, update_state

It implements the container contract of the spec (§8): the environment variables (§8.2),
the binary-message FIFO at ``/_abaco_binary_data`` (§8.5) and the results datagram socket at
``/_abaco_results.sock`` (§8.6). Importing it has no side effects.
"""

from __future__ import annotations

import ast
import errno
import fcntl
import json
import os
import pickle
import select
import socket
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FIFO_PATH",
    "MAX_RESULT_BYTES",
    "RESULTS_SOCKET_PATH",
    "AbacoAPIError",
    "AbacoClient",
    "AbacoSDKError",
    "AgaveError",
    "AttrDict",
    "NoBinaryMessage",
    "ResultTooLarge",
    "get_actor_id",
    "get_binary_message",
    "get_client",
    "get_context",
    "get_execution_id",
    "get_state",
    "send_bytes_result",
    "send_python_result",
    "update_state",
]

#: where the binary message of the execution is mounted (spec §8.5)
FIFO_PATH = "/_abaco_binary_data"
#: where the results datagram socket is mounted (spec §8.6)
RESULTS_SOCKET_PATH = "/_abaco_results.sock"
#: the largest result (one datagram) the platform accepts
MAX_RESULT_BYTES = 131072
#: seconds get_binary_message waits for the platform to feed more of a large message
BINARY_IDLE_TIMEOUT = 30.0

_NO_BODY: Any = object()
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_READ_CHUNK = 1 << 20


class AbacoSDKError(Exception):
    """Any failure of this module."""


#: the name upstream's helper raised (``agavepy.agave.AgaveError``)
AgaveError = AbacoSDKError


class NoBinaryMessage(AbacoSDKError, FileNotFoundError):
    """The execution has no binary message (the FIFO is not mounted)."""


class ResultTooLarge(AbacoSDKError, ValueError):
    """A result does not fit in one datagram of ``MAX_RESULT_BYTES``."""


class AbacoAPIError(AbacoSDKError):
    """The Abaco API answered with an error (``status`` is the HTTP status, 0 if unreachable)."""

    def __init__(self, message: str, status: int = 0, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class AttrDict(dict):
    """A dict whose keys can also be read as attributes (``context.actor_id``), as upstream's."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


# ---------------------------------------------------------------------------- context


def _literal(text: str | None) -> Any:
    """``ast.literal_eval`` of a Python-repr value (spec §8.4), or the text itself."""
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def get_context(environ: Mapping[str, str] | None = None) -> AttrDict:
    """The execution's message and metadata, plus every environment variable.

    Keys: ``raw_message`` (``MSG``; None for binary messages), ``content_type``,
    ``execution_id``, ``username``, ``state`` (the actor state at execution start, parsed from
    its Python repr; the raw string if it does not parse), ``actor_dbid``, ``actor_id``,
    ``worker_id``, ``actor_repo``, ``actor_name``, ``api_server``, ``message_dict`` (``MSG``
    parsed when it is a dict literal, i.e. a JSON object message, else ``{}``) and
    ``raw_message_parse_log``. A missing variable gives None. These keys win over environment
    variables of the same name.
    """
    env = os.environ if environ is None else environ
    context = AttrDict(env)
    raw = env.get("MSG")
    message_dict = AttrDict()
    parse_log = ""
    if raw is not None:
        try:
            parsed = ast.literal_eval(raw)
        except Exception as exc:  # any text may arrive; upstream logged and went on
            parse_log = f"Error parsing message: {exc}"
        else:
            if isinstance(parsed, dict):
                message_dict = AttrDict(parsed)
    context.update(
        raw_message=raw,
        content_type=env.get("_abaco_Content_Type", env.get("_abaco_Content-Type")),
        execution_id=env.get("_abaco_execution_id"),
        username=env.get("_abaco_username"),
        state=_literal(env.get("_abaco_actor_state")),
        actor_dbid=env.get("_abaco_actor_dbid"),
        actor_id=env.get("_abaco_actor_id"),
        worker_id=env.get("_abaco_worker_id"),
        actor_repo=env.get("_abaco_container_repo"),
        actor_name=env.get("_abaco_actor_name"),
        api_server=env.get("_abaco_api_server"),
        message_dict=message_dict,
        raw_message_parse_log=parse_log,
    )
    return context


def get_actor_id() -> str | None:
    """The actor's id (``_abaco_actor_id``)."""
    return os.environ.get("_abaco_actor_id")


def get_execution_id() -> str | None:
    """The execution's id (``_abaco_execution_id``)."""
    return os.environ.get("_abaco_execution_id")


def get_state() -> Any:
    """The actor state at the start of this execution (parsed ``_abaco_actor_state``).

    For the live value use ``get_client().get_state()``.
    """
    return _literal(os.environ.get("_abaco_actor_state"))


# ---------------------------------------------------------------------------- binary message


def _pipe_size(fd: int) -> int:
    try:
        return fcntl.fcntl(fd, _F_GETPIPE_SZ)
    except OSError:
        return 65536


def get_binary_message(path: str = FIFO_PATH, *, timeout: float | None = BINARY_IDLE_TIMEOUT) -> bytes:
    """Read the execution's whole binary message from the FIFO.

    The pipe is opened non-blocking and read until end-of-file, which this platform signals
    once every byte of the message has been read, whatever its size. Before the container
    starts, the platform fills the pipe with as much of the message as fits; so when the pipe
    runs empty ("would block") after fewer bytes than its capacity, the whole message has been
    read and the function returns at once, without waiting for end-of-file (this also covers
    upstream Abaco, which never closes its end). Otherwise more is coming: it waits for data
    or end-of-file, giving up after ``timeout`` idle seconds (``None``: wait for ever) and
    returning what it has read. A regular file at ``path`` is simply read.

    Raises :class:`NoBinaryMessage` when ``path`` does not exist (the message was not binary).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        content_type = os.environ.get("_abaco_Content_Type", "unknown")
        raise NoBinaryMessage(
            errno.ENOENT,
            f"no binary message: {path} does not exist (message content type: {content_type})",
            path,
        ) from None
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as f:
                return f.read()
        capacity = _pipe_size(fd)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        wait_ms = None if timeout is None else max(0, int(timeout * 1000))
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                if total < capacity:
                    break  # the pipe never was full: the whole message was in it
                if not poller.poll(wait_ms):
                    break  # nothing more within the timeout: keep what was read
                continue
            if not chunk:
                break  # end-of-file: the writer closed after the last byte
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- results


def send_bytes_result(b: bytes, *, path: str = RESULTS_SOCKET_PATH, timeout: float | None = 30.0) -> None:
    """Send ``b`` as one result: one datagram of at most ``MAX_RESULT_BYTES`` (131072) bytes.

    ``b`` must be bytes (a bytearray or memoryview is accepted too). Raises
    :class:`ResultTooLarge` for a larger payload and :class:`AbacoSDKError` when the socket
    cannot be reached or the send fails (``timeout`` seconds at most; None blocks).
    """
    if isinstance(b, (bytearray, memoryview)):
        b = bytes(b)
    if not isinstance(b, bytes):
        hint = " (encode text first, e.g. s.encode())" if isinstance(b, str) else ""
        raise AbacoSDKError(f"send_bytes_result needs bytes, got {type(b).__name__}{hint}")
    if len(b) > MAX_RESULT_BYTES:
        raise ResultTooLarge(
            f"result of {len(b)} bytes exceeds the maximum of {MAX_RESULT_BYTES} bytes per result; "
            "send several results or a reference to the data instead"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:  # room for one full datagram, whatever the system default
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 * MAX_RESULT_BYTES)
        except OSError:
            pass
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            raise AbacoSDKError(f"cannot connect to the results socket {path}: {exc}") from exc
        try:
            sent = sock.send(b)
        except OSError as exc:
            raise AbacoSDKError(f"sending a {len(b)}-byte result to {path} failed: {exc}") from exc
        if sent != len(b):
            raise AbacoSDKError(f"only {sent} of {len(b)} bytes of the result were sent")


def _dumps(obj: Any) -> bytes:
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def send_python_result(obj: Any, *, path: str = RESULTS_SOCKET_PATH) -> None:
    """Pickle ``obj`` (with cloudpickle when importable, else pickle) and send it as one result.

    Read it back with ``pickle.loads`` (or ``cloudpickle.loads``) on the result's bytes.
    """
    try:
        data = _dumps(obj)
    except Exception as exc:
        raise AbacoSDKError(f"could not pickle the result {obj!r:.200}: {exc}") from exc
    send_bytes_result(data, path=path)


# ---------------------------------------------------------------------------- API client


def _quote(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


class AbacoClient:
    """A small Abaco API client over urllib.

    Methods return the ``result`` of the JSON envelope; failures raise :class:`AbacoAPIError`.
    ``actor_id`` arguments default to this execution's actor.
    """

    def __init__(
        self,
        api_server: str,
        token: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not api_server:
            raise AbacoSDKError("no API server: _abaco_api_server is not set (e.g. a cron execution)")
        self.api_server = api_server.rstrip("/")
        self.token = token or None
        self.headers = dict(headers or {})
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AbacoClient({self.api_server!r}, token={'set' if self.token else 'none'})"

    # --- plumbing
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = f"{self.api_server}/actors/v2{path}"
        if params:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = _NO_BODY,
        data: bytes | None = None,
        content_type: str | None = None,
        raw: bool = False,
    ) -> Any:
        """One API call; the envelope's ``result``, or the body bytes when ``raw``.

        ``json_body`` (any JSON value, ``None`` included) is sent as ``application/json``."""
        headers = {"Accept": "application/json", **self.headers}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not _NO_BODY:
            try:
                data = json.dumps(json_body).encode()
            except (TypeError, ValueError) as exc:
                raise AbacoSDKError(f"the request body is not JSON serializable: {exc}") from exc
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        url = self.url(path, params)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise AbacoAPIError(
                f"{method} {url} failed with HTTP {exc.code}: {self._error_message(exc)}", exc.code, url
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AbacoAPIError(f"{method} {url} failed: {reason}", 0, url) from None
        if raw:
            return body
        try:
            envelope = json.loads(body)
        except ValueError:
            raise AbacoAPIError(
                f"{method} {url} returned a non-JSON body: {body[:200]!r}", 200, url
            ) from None
        return envelope.get("result") if isinstance(envelope, dict) else envelope

    @staticmethod
    def _error_message(exc: urllib.error.HTTPError) -> str:
        try:
            body = exc.read()
        except OSError:
            return str(exc.reason)
        try:
            return str(json.loads(body).get("message") or exc.reason)
        except (ValueError, AttributeError):
            return body[:500].decode("utf-8", "replace") or str(exc.reason)

    @staticmethod
    def _actor(actor_id: str | None) -> str:
        actor_id = actor_id or get_actor_id()
        if not actor_id:
            raise AbacoSDKError("no actor id given and _abaco_actor_id is not set")
        return _quote(actor_id)

    # --- API
    def get_actor(self, actor_id: str | None = None) -> dict:
        return self.request("GET", f"/{self._actor(actor_id)}")

    def send_message(
        self, actor_id: str | None, message: Any, *, environment: Mapping[str, Any] | None = None
    ) -> dict:
        """Send a message: a str is sent as a text message (``MSG`` is the string); any other
        JSON value as a JSON message (``MSG`` is its Python repr). Note that a dict with a
        non-empty ``message`` key is taken as a text message by the API (spec §6.1).
        ``environment`` becomes query parameters (extra environment variables)."""
        body = {"message": message} if isinstance(message, str) else message
        return self.request("POST", f"/{self._actor(actor_id)}/messages", params=environment, json_body=body)

    def send_binary_message(
        self, actor_id: str | None, data: bytes, *, environment: Mapping[str, Any] | None = None
    ) -> dict:
        """Send a binary (``application/octet-stream``) message."""
        return self.request(
            "POST",
            f"/{self._actor(actor_id)}/messages",
            params=environment,
            data=bytes(data),
            content_type="application/octet-stream",
        )

    def get_execution(self, actor_id: str | None, execution_id: str) -> dict:
        return self.request("GET", f"/{self._actor(actor_id)}/executions/{_quote(execution_id)}")

    def get_execution_logs(self, actor_id: str | None, execution_id: str) -> str:
        result = self.request("GET", f"/{self._actor(actor_id)}/executions/{_quote(execution_id)}/logs")
        return (result or {}).get("logs", "")

    def get_execution_result(self, actor_id: str | None, execution_id: str) -> bytes:
        """Pop one result of the execution (b"" when there is none)."""
        path = f"/{self._actor(actor_id)}/executions/{_quote(execution_id)}/results"
        return self.request("GET", path, raw=True)

    def get_state(self, actor_id: str | None = None) -> Any:
        """The actor's current state."""
        return (self.request("GET", f"/{self._actor(actor_id)}/state") or {}).get("state")

    def update_state(self, value: Any, actor_id: str | None = None) -> dict:
        """Replace the actor's state with the JSON value ``value``; returns the actor."""
        return self.request("POST", f"/{self._actor(actor_id)}/state", json_body=_json_state(value))

    @property
    def actors(self) -> _AgaveActors:
        """agavepy-style names: ``client.actors.sendMessage(actorId=..., body=...)``."""
        return _AgaveActors(self)


class _AgaveActors:
    """The subset of agavepy's ``ag.actors`` that actor code commonly calls."""

    def __init__(self, client: AbacoClient) -> None:
        self._c = client

    def get(self, actorId: str) -> dict:
        return self._c.get_actor(actorId)

    def sendMessage(self, actorId: str, body: Any, environment: Mapping[str, Any] | None = None) -> dict:
        if isinstance(body, dict) and "message" in body and len(body) == 1:
            body = body["message"]
        return self._c.send_message(actorId, body, environment=environment)

    def sendBinaryMessage(self, actorId: str, message: bytes, **_: Any) -> dict:
        return self._c.send_binary_message(actorId, message)

    def getExecution(self, actorId: str, executionId: str) -> dict:
        return self._c.get_execution(actorId, executionId)

    def getState(self, actorId: str) -> dict:
        return {"state": self._c.get_state(actorId)}

    def updateState(self, actorId: str, body: Any) -> dict:
        return self._c.update_state(body, actorId)


def get_client(
    *, api_server: str | None = None, token: str | None = None, timeout: float = 30.0
) -> AbacoClient:
    """An :class:`AbacoClient` for ``_abaco_api_server``, authenticated with ``_abaco_access_token``
    (``Authorization: Bearer``) when the token is set."""
    return AbacoClient(
        api_server or os.environ.get("_abaco_api_server", ""),
        token if token is not None else os.environ.get("_abaco_access_token"),
        timeout=timeout,
    )


def _json_state(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise AbacoSDKError(f"the actor state must be JSON serializable: {exc}") from exc
    return value


def update_state(value: Any) -> dict:
    """Set this actor's state to ``value`` (any JSON value): ``POST
    {_abaco_api_server}/actors/v2/{_abaco_actor_id}/state`` with the execution's token.

    Returns the updated actor; raises :class:`AbacoAPIError` on failure (e.g. 404 for a
    stateless actor) and :class:`AbacoSDKError` when the environment lacks the server or id.
    """
    actor_id = get_actor_id()
    if not actor_id:
        raise AbacoSDKError("cannot update the state: _abaco_actor_id is not set")
    return get_client().update_state(value, actor_id)
