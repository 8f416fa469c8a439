"""The two host-side channels of an execution (spec §8.5–8.6, Q20):

- :class:`BinaryFifo`: the named pipe that carries a binary message into the container at
  ``/_abaco_binary_data``;
- :class:`ResultsSocket`: the unix datagram socket the container sends results to at
  ``/_abaco_results.sock``.

Neither ever blocks the worker: every wait has a timeout and gives up when the container
is gone.
"""

from __future__ import annotations

import array
import fcntl
import logging
import os
import select
import selectors
import socket
import stat
import termios
import threading
from collections.abc import Callable

__all__ = ["FIFO_MOUNT", "MAX_RESULT_BYTES", "RESULTS_MOUNT", "BinaryFifo", "EmptyMessage", "ResultsSocket"]

log = logging.getLogger(__name__)

FIFO_MOUNT = "/_abaco_binary_data"
RESULTS_MOUNT = "/_abaco_results.sock"
#: the largest result the contract promises (spec §8.6)
MAX_RESULT_BYTES = 131072
_SUN_PATH_MAX = 107
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _pipe_max_size() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1 << 20


class BinaryFifo:
    """A FIFO holding one binary message.

    The pipe buffer is enlarged towards the payload size (up to the OS limit) and filled
    *before* the container starts, so readers that read non-blocking until "would block"
    get the whole message whenever it fits. What does not fit is fed by :meth:`feed` while
    the container reads; once every byte has been written and consumed, the host closes its
    end, so readers that read until end-of-file see it. The host holds the pipe open
    read-write, which keeps the pre-filled bytes alive until the container opens it.
    """

    def __init__(self, path: str, payload: bytes) -> None:
        self.path = path
        self.payload = memoryview(payload)
        self.written = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.mkfifo(path)
        os.chmod(path, 0o666)  # readable by any uid the container runs as
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        wanted = min(max(len(payload), 4096), _pipe_max_size())
        try:
            self.capacity = fcntl.fcntl(self._fd, _F_SETPIPE_SZ, wanted)
        except OSError:
            self.capacity = 65536
        self._write_some()

    def _write_some(self) -> None:
        assert self._fd is not None
        while self.written < len(self.payload):
            try:
                n = os.write(self._fd, self.payload[self.written : self.written + 65536])
            except BlockingIOError:
                return
            self.written += n

    def _unread(self) -> int:
        assert self._fd is not None
        buf = array.array("i", [0])
        fcntl.ioctl(self._fd, termios.FIONREAD, buf, True)
        return buf[0]

    def feed(self, container_running: Callable[[], bool]) -> None:
        """Start feeding the rest in a thread; returns at once."""
        self._thread = threading.Thread(
            target=self._feed,
            args=(container_running,),
            daemon=True,
            name=f"fifo-{os.path.basename(self.path)}",
        )
        self._thread.start()

    def _feed(self, container_running: Callable[[], bool]) -> None:
        try:
            while not self._stop.is_set():
                if self.written < len(self.payload):
                    _, writable, _ = select.select([], [self._fd], [], 0.1)
                    if writable:
                        self._write_some()
                    elif not container_running():
                        return
                    continue
                # everything written: wait until the reader consumed it, then close our end
                if self._unread() == 0:
                    self._close_fd()
                    return
                if not container_running():
                    return
                self._stop.wait(0.02)
        except OSError as exc:
            log.debug("binary message feed for %s ended: %s", self.path, exc)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Stop feeding, close the host end and remove the FIFO."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._close_fd()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class EmptyMessage:
    """An empty binary message: an empty regular file, so both reader styles see end-of-file
    at once (a FIFO with nothing to write could never signal it before the reader opens it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "wb"):
            pass
        os.chmod(path, 0o444)

    def feed(self, container_running: Callable[[], bool]) -> None:
        pass

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _bind(sock: socket.socket, path: str) -> None:
    """Bind a unix socket even when ``path`` is longer than ``sun_path`` allows, through the
    directory's ``/proc/self/fd`` entry."""
    if len(path.encode()) <= _SUN_PATH_MAX:
        sock.bind(path)
        return
    dir_fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        sock.bind(f"/proc/self/fd/{dir_fd}/{os.path.basename(path)}")
    finally:
        os.close(dir_fd)


class _Listener:
    """One thread that waits on every open :class:`ResultsSocket` of the process (epoll), so
    opening a socket for an execution costs no thread start and closing it no join."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, results: ResultsSocket) -> None:
        with self._lock:
            self._selector.register(results.fileno(), selectors.EVENT_READ, results)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="results-listener")
                self._thread.start()

    def remove(self, results: ResultsSocket) -> None:
        with self._lock:
            try:
                self._selector.unregister(results.fileno())
            except (KeyError, ValueError):
                pass

    def _run(self) -> None:
        while True:
            try:
                # a short timeout: a socket registered meanwhile is picked up by epoll anyway
                events = self._selector.select(timeout=1.0)
            except (OSError, ValueError) as exc:
                log.debug("results listener: %s", exc)
                continue
            for key, _ in events:
                key.data.drain()


_LISTENER = _Listener()


class ResultsSocket:
    """A bound unix datagram socket; each datagram received is handed to ``on_result``.

    The process's one listener thread drains the socket as datagrams arrive, so results are
    stored while the container runs; :meth:`close` stops listening and drains what is left
    after the exit. Datagrams are handed over one at a time, in the order they arrived.
    """

    def __init__(self, path: str, on_result: Callable[[bytes], None]) -> None:
        self.path = path
        self.on_result = on_result
        self.count = 0
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if os.path.lexists(path) and stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _bind(self._sock, path)
        os.chmod(path, 0o777)  # any uid in the container may connect and send
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MAX_RESULT_BYTES)
        self._sock.setblocking(False)
        #: held for a whole drain (receive and hand over), which keeps the arrival order
        self._lock = threading.Lock()
        self._closed = False
        _LISTENER.add(self)

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self) -> None:
        """Receive and hand over every datagram waiting now."""
        with self._lock:
            if self._sock.fileno() < 0:
                return
            while True:
                try:
                    data = self._sock.recv(MAX_RESULT_BYTES)
                except (BlockingIOError, OSError):
                    return
                self.count += 1
                try:
                    self.on_result(data)
                except Exception:
                    log.exception("could not store a result from %s", self.path)

    def close(self) -> None:
        """Stop receiving, store what is left, remove the socket. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _LISTENER.remove(self)
        try:
            self.drain()
        finally:
            with self._lock:
                self._sock.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
