"""A TCP proxy in front of a broker, to break connections the way networks do.

`drop_all()` cuts every open connection (a broker restart, a load balancer timeout);
`lose_next_answer()` forwards the next request but closes the client's connection instead of
relaying the broker's answer, so the client cannot know whether its request was applied.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class TcpProxy:
    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        assert target.hostname is not None and target.port is not None
        self._target = (target.hostname, target.port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lose_answers = 0
        self.connections = 0
        self._traffic = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def wait_for_traffic(self) -> None:
        """Until the next piece of a request went through to the broker."""
        self._traffic.clear()
        await self._traffic.wait()

    def lose_next_answer(self) -> None:
        self._lose_answers += 1

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, upstream_writer))
        for task in (
            asyncio.create_task(self._pipe(client_reader, upstream_writer, answers=False)),
            asyncio.create_task(
                self._pipe(upstream_reader, client_writer, answers=True, upstream=upstream_writer)
            ),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        answers: bool,
        upstream: asyncio.StreamWriter | None = None,
    ) -> None:
        try:
            while data := await reader.read(65536):
                if answers and self._lose_answers:
                    self._lose_answers -= 1
                    writer.transport.abort()
                    if upstream is not None:
                        upstream.transport.abort()
                    return
                writer.write(data)
                await writer.drain()
                if not answers:
                    self._traffic.set()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
            self._writers.discard(writer)
