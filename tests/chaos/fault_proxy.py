"""A fault-injecting HTTP/1.1 proxy for object-storage traffic (a broker in front, moto behind).

Each request is read whole from the client, then, by a seeded draw against `FaultRates`:

- `drop_before`: the client's connection is reset and nothing is forwarded;
- `drop_after`: the request is forwarded and applied upstream, then the client's connection is
  reset instead of answering, so the client cannot tell whether its write landed;
- `error_500` / `error_503`: an S3-style `InternalError` / `SlowDown` answer, nothing forwarded;
- `latency`: a delay drawn from `latency_ms` before forwarding normally;
- otherwise it is forwarded untouched.

`force(fault, method)` makes the next request of that method suffer that fault, whatever the
rates say (for targeted tests; `NO_FAULTS` turns the random draws off).

Every PUT of a key ending in `record_suffix` that upstream accepted (200) is kept in
`accepted_writes`, in the order upstream answered, so a test can decode every version of the
object that ever existed; `exchanges` lists every forwarded request with upstream's status.
Clients keep their connections alive; upstream gets one connection per request
(`Connection: close`), which keeps the framing simple.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

_FAULTS = ("drop_before", "drop_after", "error_500", "error_503", "latency")
_ERROR_BODIES = {
    500: b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
    b"<Message>injected by the fault proxy</Message></Error>",
    503: b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
    b"<Message>injected by the fault proxy</Message></Error>",
}
_REASONS = {500: b"Internal Server Error", 503: b"Service Unavailable"}
# Headers that describe one hop; the proxy sets its own.
_HOP_HEADERS = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"expect"})


@dataclass(frozen=True)
class FaultRates:
    drop_before: float = 0.025
    drop_after: float = 0.025
    error_500: float = 0.015
    error_503: float = 0.015
    latency: float = 0.02
    latency_ms: tuple[int, int] = (200, 800)

    @property
    def total(self) -> float:
        return self.drop_before + self.drop_after + self.error_500 + self.error_503 + self.latency


NO_FAULTS = FaultRates(drop_before=0.0, drop_after=0.0, error_500=0.0, error_503=0.0, latency=0.0)


@dataclass(frozen=True)
class Exchange:
    at: float  # time.monotonic() when upstream answered
    method: str
    path: str
    status: int


@dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        rates: FaultRates,
        *,
        seed: int = 0,
        record_suffix: str = "queue.json",
    ) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname is not None and parts.port is not None, upstream
        self._upstream = (parts.hostname, parts.port)
        self.rates = rates
        self._random = random.Random(seed)
        self._record_suffix = record_suffix
        self.counts: Counter[str] = Counter()
        self.accepted_writes: list[bytes] = []
        self.exchanges: list[Exchange] = []
        self._forced: list[tuple[str, str]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults by kind and HTTP method, e.g. {"drop_after PUT": 12}."""
        return {key: count for key, count in sorted(self.counts.items()) if key.split()[0] in _FAULTS}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        # Reset the clients' connections: their handlers then end on their own (a cancelled
        # handler would be reported by asyncio as an error).
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    def force(self, fault: str, method: str) -> None:
        """The next `method` request gets `fault` ("drop_after", ...), then the draws resume."""
        if fault not in _FAULTS:
            raise ValueError(f"unknown fault {fault!r}: expected one of {_FAULTS}")
        self._forced.append((fault, method))

    def _draw(self, method: str) -> str | None:
        for forced in self._forced:
            if forced[1] == method:
                self._forced.remove(forced)
                return forced[0]
        roll = self._random.random()
        for name in _FAULTS:
            roll -= float(getattr(self.rates, name))
            if roll < 0:
                return name
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while (request := await _read_request(reader, writer)) is not None:
                if not await self._handle(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the client's connection must go."""
        fault = self._draw(request.method)
        if fault is not None:
            self.counts[f"{fault} {request.method}"] += 1
        if fault == "drop_before":
            return False
        if fault in ("error_500", "error_503"):
            status = 500 if fault == "error_500" else 503
            await _respond(
                writer,
                request,
                status,
                _REASONS[status],
                [(b"content-type", b"application/xml")],
                _ERROR_BODIES[status],
            )
            return True
        if fault == "latency":
            low, high = self.rates.latency_ms
            await asyncio.sleep(self._random.uniform(low, high) / 1000)
        status, reason, headers, body = await self._forward(request)
        self.counts["forwarded"] += 1
        self.exchanges.append(Exchange(time.monotonic(), request.method, request.path, status))
        if request.method == "PUT" and status == 200 and request.path.endswith(self._record_suffix):
            self.accepted_writes.append(request.body)
        if fault == "drop_after":
            return False
        await _respond(writer, request, status, reason, headers, body)
        return True

    async def _forward(self, request: _Request) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes]:
        reader, writer = await asyncio.open_connection(*self._upstream)
        try:
            head = [f"{request.method} {request.target} HTTP/1.1".encode()]
            head += [key + b": " + value for key, value in request.headers if key.lower() not in _HOP_HEADERS]
            head += [b"content-length: %d" % len(request.body), b"connection: close"]
            writer.write(b"\r\n".join(head) + b"\r\n\r\n" + request.body)
            await writer.drain()
            status_line, headers = await _read_head(reader)
            _, code, reason = [*status_line.split(b" ", 2), b""][:3]
            status = int(code)
            if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                body = b""
            else:
                body = await _read_body(reader, headers, until_eof=True)
            return status, reason, headers, body
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    first, *lines = raw[:-4].split(b"\r\n")
    headers = []
    for line in lines:
        key, _, value = line.partition(b":")
        headers.append((key.strip(), value.strip()))
    return first, headers


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_body(
    reader: asyncio.StreamReader, headers: list[tuple[bytes, bytes]], *, until_eof: bool
) -> bytes:
    if (_header(headers, b"transfer-encoding") or b"").lower() == b"chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent by S3 clients or moto
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = _header(headers, b"content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    return await reader.read() if until_eof else b""


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Request | None:
    try:
        first, headers = await _read_head(reader)
    except asyncio.IncompleteReadError:
        return None  # the client closed its keep-alive connection
    method, target, _version = first.split(b" ", 2)
    if (_header(headers, b"expect") or b"").lower() == b"100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    body = await _read_body(reader, headers, until_eof=False)
    return _Request(method.decode(), target.decode(), headers, body)


async def _respond(
    writer: asyncio.StreamWriter,
    request: _Request,
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    head = [b"HTTP/1.1 %d %s" % (status, reason)]
    head += [key + b": " + value for key, value in headers if key.lower() not in _HOP_HEADERS]
    if request.method == "HEAD":
        length = _header(headers, b"content-length")
        if length is not None:
            head.append(b"content-length: " + length)
        body = b""
    else:
        head.append(b"content-length: %d" % len(body))
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
