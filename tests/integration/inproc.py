"""The real Sanic app of a real platform, served over real HTTP from a thread of the test
process, so a test can also inspect the platform's store and capture its log records.

The platform is the one ``abaco up`` builds from the same settings (peewee on SQLite or
PostgreSQL, the local queue, a real or the fake backend); only the process is shared.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx

from abaco_core.api.app import create_app
from abaco_core.platform import Platform, build_platform
from abaco_core.plugins import build_plugin_manager, settings_from
from tests.conftest import free_port

__all__ = ["InProcessAbaco"]


class InProcessAbaco:
    def __init__(self, data_dir: str, **settings: Any) -> None:
        pm = build_plugin_manager()
        self.port = free_port()
        self.settings = settings_from(pm, data_dir=data_dir, port=self.port, **settings)
        self.platform: Platform = build_platform(self.settings, pm)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: Any = None

    def start(self) -> InProcessAbaco:
        self.platform.start()
        app = create_app(self.platform)
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)

            async def boot() -> None:
                self._server = await app.create_server(
                    host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
                )
                await self._server.startup()
                await self._server.before_start()
                await self._server.after_start()
                ready.set()

            self._loop.run_until_complete(boot())
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="sanic-test", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the in-process server did not start")
        return self

    def stop(self) -> None:
        async def halt() -> None:
            await self._server.before_stop()
            self._server.close()
            await self._server.wait_closed()
            await self._server.after_stop()

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(halt(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self.client.close()
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
