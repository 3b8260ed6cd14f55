"""A real broker (BrokerServer under uvicorn) on a free port, run on its own thread and event loop
so that the samples, in other processes, talk to it as to any broker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from osqueue_broker import BrokerServer
from osqueue_storage import FileBackend, MemoryBackend
from osqueue_types import StorageBackend

T = TypeVar("T")


class BackgroundBroker:
    def __init__(self, *, storage: str, workdir: Path, auth_token: str | None) -> None:
        self._storage_kind = storage
        self._workdir = workdir
        self._auth_token = auth_token
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="doc-test-broker", daemon=True)
        self._server: BrokerServer | None = None
        self._storage: StorageBackend | None = None

    def start(self) -> str:
        """Start the broker; returns its URL."""
        self._thread.start()
        self._server = self._run(self._start())
        return self._server.url

    def stop(self) -> None:
        try:
            if self._server is not None:
                self._run(self._stop(self._server))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _start(self) -> BrokerServer:
        if self._storage_kind == "file":
            # Where `osqueue broker` keeps the state when started in this directory.
            self._storage = FileBackend(self._workdir / ".osqueue")
        elif self._storage_kind == "memory":
            self._storage = MemoryBackend()
        else:
            raise ValueError(f"doc-test broker storage must be memory or file, not {self._storage_kind!r}")
        server = BrokerServer(self._storage, "127.0.0.1", 0, auth_token=self._auth_token)
        await server.start()
        return server

    async def _stop(self, server: BrokerServer) -> None:
        await server.stop()
        if self._storage is not None:
            await self._storage.aclose()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)
