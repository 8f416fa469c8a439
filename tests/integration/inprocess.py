"""The API of a real platform served over real HTTP from inside the test process.

The platform is the one ``abaco up`` builds from the same settings (peewee on SQLite or
PostgreSQL, the local queue; the harness's fake container backend unless the test names a
real one); only the process is shared, so a test can also act on the platform directly
(e.g. register actors as other owners), inspect its store and capture its log records while
it talks HTTP to it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx

from abaco_core.api.app import create_app
from abaco_core.platform import Platform, build_platform
from abaco_core.plugins import build_plugin_manager, settings_from
from tests.conftest import free_port

__all__ = ["ApiServer", "InProcessAbaco"]


class ApiServer:
    """``ApiServer(data_dir, database_url=..., case=...)``: start it, use ``client`` and
    ``platform``, stop it."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        backend: str = "fake",
        database_url: str | None = None,
        **settings: object,
    ) -> None:
        pm = build_plugin_manager()
        self.settings = settings_from(
            pm,
            backend=backend,
            data_dir=str(data_dir),
            database_url=database_url,
            port=free_port(),
            **settings,
        )
        self.platform: Platform = build_platform(self.settings, pm)
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event
        self._stopped = False

    def start(self) -> ApiServer:
        self.platform.start()
        app = create_app(self.platform)
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._stopping = asyncio.Event()
            try:
                server = await app.create_server(
                    host="127.0.0.1", port=self.settings.port, return_asyncio_server=True
                )
                await server.startup()
                await server.before_start()
                await server.start_serving()
                await server.after_start()
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                raise
            finally:
                ready.set()
            await self._stopping.wait()
            await server.before_stop()
            server.close()
            await server.after_stop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(serve())
            except BaseException:
                pass

        self._thread = threading.Thread(target=run, name="api-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError(f"the API server did not start: {failure[0]!r}")
        return self

    def stop(self) -> None:
        """Stop serving, then stop the platform (a second call does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        self.client.close()
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(30)
        self.platform.stop()

    # -- helpers -------------------------------------------------------------------------------

    def register(self, **fields: object) -> dict:
        r = self.client.post("/actors", json=fields)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def wait_actor(self, actor_id: str, statuses: tuple[str, ...] = ("READY",), timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            actor = self.client.get(f"/actors/{actor_id}").json()["result"]
            if actor["status"] in statuses:
                return actor
            if time.monotonic() > deadline:
                raise AssertionError(f"actor {actor_id} still {actor['status']}")
            time.sleep(0.05)

    def wait_execution(self, actor_id: str, execution_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            r = self.client.get(f"/actors/{actor_id}/executions/{execution_id}")
            if r.status_code == 200 and r.json()["result"]["status"] in ("COMPLETE", "ERROR"):
                return r.json()["result"]
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {execution_id} not finished: {r.text}")
            time.sleep(0.05)

    def executions(self, actor_id: str) -> list[dict]:
        r = self.client.get(f"/actors/{actor_id}/executions")
        assert r.status_code == 200, r.text
        return r.json()["result"]["executions"]

    def logs(self, actor_id: str, execution_id: str) -> str:
        r = self.client.get(f"/actors/{actor_id}/executions/{execution_id}/logs")
        assert r.status_code == 200, r.text
        return r.json()["result"]["logs"]


#: the name the configs and events tests use
InProcessAbaco = ApiServer
