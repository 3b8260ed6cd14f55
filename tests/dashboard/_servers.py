"""Servers for the browser tests: an asyncio loop in a thread runs uvicorn next to sync Playwright."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from osqueue_dashboard._serve import make_server
from starlette.applications import Starlette

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="dashboard-test-servers", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class UvicornServer:
    """A dashboard app under uvicorn on 127.0.0.1 (port 0: a free one), run on the loop thread."""

    def __init__(self, app: Starlette, port: int = 0) -> None:
        self.server = make_server(app, host="127.0.0.1", port=port, log_level="warning")
        self._task: asyncio.Task[None] | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
