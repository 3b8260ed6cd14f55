"""WebSocket transport: JSON-RPC frames on one persistent socket at `/v1/ws`.

Requests carry ids, so many are in flight at once and answers come in any order. When the
socket drops, every request waiting on it fails with `TransportConnectionError` (the client
retries what is safe to retry) and the next call opens a new socket. The raw state
(`GET /state`) is plain HTTP: it goes through the caller's httpx client, or one opened on
first use with the same limits as the other transports'.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import httpx
import msgspec
from osqueue_types import TransportConfigError, TransportConnectionError, TransportRequestError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from ._calls import Call, reply_type
from ._errors import error_from_answer, error_from_http_body
from ._http import new_http_client, stream_state
from ._transport import BuiltinTransport

R = TypeVar("R")

_PATH = "/v1/ws"
_log = logging.getLogger("osqueue_client.ws")


class _Request(msgspec.Struct):
    id: str
    method: str
    params: Call[Any]


class _Answer(msgspec.Struct):
    id: str | None
    ok: bool
    result: msgspec.Raw = msgspec.Raw(b"{}")
    error: Any = None


_encoder = msgspec.json.Encoder()
_answer_decoder = msgspec.json.Decoder(_Answer)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


class _Session:
    """One open socket and the requests waiting for an answer on it."""

    def __init__(self, broker_url: str, connection: ClientConnection) -> None:
        self.broker_url = broker_url
        self.connection = connection
        self.pending: dict[str, asyncio.Future[_Answer]] = {}
        self.reader = asyncio.create_task(self._read(), name=f"osqueue-ws-reader {broker_url}")

    async def _read(self) -> None:
        try:
            async for frame in self.connection:
                try:
                    answer = _answer_decoder.decode(frame)
                except msgspec.DecodeError:
                    _log.warning("ignoring a malformed frame from %s", self.broker_url)
                    continue
                waiter = self.pending.pop(answer.id, None) if answer.id is not None else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(answer)
        except ConnectionClosed:
            pass
        except Exception:
            _log.exception("WebSocket reader for %s failed", self.broker_url)
        finally:
            self._fail_pending()

    def _fail_pending(self) -> None:
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(
                    TransportConnectionError(f"WebSocket to {self.broker_url} closed before the answer")
                )
        self.pending.clear()

    @property
    def open(self) -> bool:
        return not self.reader.done()

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.wait([self.reader])


class WebSocketTransport(BuiltinTransport):
    """JSON-RPC over one WebSocket; reconnects on the next call after the socket drops.

    `http` is the httpx AsyncClient for `GET /state` (the only HTTP route it uses), as for
    `HttpTransport`: without it one is opened on first use. It is closed with this one."""

    def __init__(self, *, auth_token: str | None = None, http: httpx.AsyncClient | None = None) -> None:
        self._headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}
        self._session: _Session | None = None
        self._opening = asyncio.Lock()
        self._ids = itertools.count()
        self._http = http  # for GET /state only

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        try:
            async with asyncio.timeout(timeout):
                session = await self._session_for(broker_url, timeout)
                request_id = str(next(self._ids))
                waiter: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
                session.pending[request_id] = waiter
                try:
                    frame = _encoder.encode(_Request(request_id, request.method, request))
                    await session.connection.send(frame, text=True)
                    answer = await waiter
                finally:
                    session.pending.pop(request_id, None)
                    # The reader may have failed this request while its send was still raising:
                    # read that error here, or asyncio logs it as never retrieved.
                    if waiter.done() and not waiter.cancelled():
                        waiter.exception()
        except TimeoutError as exc:
            raise TransportConnectionError(
                f"WebSocket {broker_url}: no answer to {request.method} within {timeout:g}s"
            ) from exc
        except ConnectionClosed as exc:
            raise TransportConnectionError(f"WebSocket to {broker_url} closed: {exc}") from exc
        if not answer.ok:
            raise error_from_answer(answer.error, status=None, method=request.method, path=_PATH)
        return _decode(answer.result, request)

    async def connect(self, broker_url: str, timeout: float) -> None:
        async with self._opening:
            await self._replace_session(broker_url, timeout)

    def stream_state(
        self, broker_url: str, queue: str, timeout: float
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        self._check_open()
        if self._http is None:
            self._http = new_http_client()
        return stream_state(self._http, self._headers, broker_url, queue, timeout)

    async def aclose(self) -> None:
        async with self._opening:
            self._closed = True
            if self._session is not None:
                await self._session.close()
                self._session = None
            if self._http is not None:
                await self._http.aclose()

    async def _session_for(self, broker_url: str, timeout: float) -> _Session:
        self._check_open()
        session = self._session
        if session is not None and session.open and session.broker_url == broker_url:
            return session
        async with self._opening:
            session = self._session
            if session is not None and session.open and session.broker_url == broker_url:
                return session
            return await self._replace_session(broker_url, timeout)

    async def _replace_session(self, broker_url: str, timeout: float) -> _Session:
        # Under `_opening`: a call that waited for the lock while aclose() ran opens nothing.
        self._check_open()
        if self._session is not None:
            # Requests still waiting on the old socket fail and are retried by the client.
            await self._session.close()
            self._session = None
        url = _ws_url(broker_url)
        try:
            connection = await connect(
                url,
                additional_headers=self._headers,
                open_timeout=timeout,
                # Replacing the socket of a broker that stopped answering must not hang.
                close_timeout=1.0,
                max_size=None,
                compression=None,
            )
        except InvalidURI as exc:
            raise TransportConfigError(f"bad broker URL {broker_url!r}: {exc}") from exc
        except InvalidStatus as exc:
            response = exc.response
            raise error_from_http_body(
                bytes(response.body or b""), status=response.status_code, method="GET", path=_PATH
            ) from exc
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransportConnectionError(f"WebSocket {url}: {type(exc).__name__}: {exc}") from exc
        self._session = _Session(broker_url, connection)
        return self._session


def _ws_url(broker_url: str) -> str:
    if broker_url.startswith("https://"):
        return "wss://" + broker_url.removeprefix("https://") + _PATH
    if broker_url.startswith("http://"):
        return "ws://" + broker_url.removeprefix("http://") + _PATH
    raise TransportConfigError(f"bad broker URL {broker_url!r}: expected http:// or https://")


def _decode(result: msgspec.Raw, request: Call[R]) -> R:
    cls = reply_type(request)
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    try:
        return decoder.decode(result)  # type: ignore[no-any-return]
    except msgspec.DecodeError as exc:
        raise TransportRequestError(
            f"{request.method}: malformed answer: {exc}", method=request.method, path=_PATH
        ) from exc
