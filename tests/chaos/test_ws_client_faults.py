"""The client's WebSocket transport when the socket closes under a request.

Seen in the crash loop as asyncio's "Future exception was never retrieved" after a broker's
SIGKILL. Reproduced here with a server that completes the handshake, sends a close frame and
then holds the TCP connection open: the next request is registered, its send waits for the
closing handshake, the reader fails every pending request (this one included) as the socket
goes, and the send raises. The transport must read the exception set on that request's
future, so the caller gets TransportConnectionError and asyncio logs nothing.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib

import pytest
from osqueue_client import GetStats, WebSocketTransport
from osqueue_types import TransportConnectionError

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CLOSE_1000 = b"\x88\x02\x03\xe8"


class _ClosingServer:
    """Accepts one WebSocket, sends a close frame at once and never closes the TCP connection."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + _CLOSE_1000
        )
        await writer.drain()
        self.writers.append(writer)

    async def aclose(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_request_on_a_closing_socket_leaves_no_unretrieved_future() -> None:
    loop_errors: list[str] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _, context: loop_errors.append(context["message"])
    )
    server = _ClosingServer()
    url = await server.start()
    transport = WebSocketTransport()
    try:
        await transport.connect(url, 5)
        await asyncio.sleep(0.2)  # the close frame has arrived; the socket is closing, not closed
        with pytest.raises(TransportConnectionError):
            await transport.call(url, GetStats(queue="default"), 5)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        await transport.aclose()
        await server.aclose()
    assert loop_errors == []
