"""The benchmark's WebSocket connection: JSON-RPC frames on one socket at `/v1/ws`."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from . import _wire as wire

# The broker answers up to this many requests in flight on one socket.
MAX_IN_FLIGHT = 50


class WsRequestError(Exception):
    """An answer with `ok: false`, or the socket closing before the answer."""


class _Answer(msgspec.Struct):
    id: str | None
    ok: bool
    result: msgspec.Raw = msgspec.Raw(b"{}")
    error: Any = None


class _Request(msgspec.Struct):
    id: str
    method: str
    params: Any


class _SubmitParams(msgspec.Struct):
    payload: msgspec.Raw
    type: str = wire.JOB_TYPE


class _SubmitManyParams(msgspec.Struct):
    jobs: list[_SubmitParams]


_answer = msgspec.json.Decoder(_Answer)


class WsConnection:
    """Opened lazily; answers are matched to requests by id, so calls may overlap."""

    def __init__(self, ws_url: str, *, timeout: float, headers: dict[str, str] | None = None) -> None:
        self._url = ws_url
        self._timeout = timeout
        self._headers = headers or {}
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[_Answer]] = {}
        self._ids = itertools.count()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def _open(self) -> ClientConnection:
        if self._socket is None:
            # Compression costs CPU on both ends and buys nothing for ~100-byte frames.
            self._socket = await connect(
                self._url, additional_headers=self._headers, compression=None, max_queue=None
            )
            self._reader = asyncio.create_task(self._read(self._socket))
        return self._socket

    async def _read(self, socket: ClientConnection) -> None:
        try:
            async for frame in socket:
                answer = _answer.decode(frame)
                waiter = self._pending.pop(answer.id or "", None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(answer)
        except ConnectionClosed:
            pass
        finally:
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(WsRequestError("socket closed before the answer"))
            self._pending.clear()

    async def _call(self, method: str, params: Any) -> msgspec.Raw:
        async with self._slots:
            socket = await self._open()
            request_id = str(next(self._ids))
            waiter = asyncio.get_running_loop().create_future()
            self._pending[request_id] = waiter
            try:
                await socket.send(wire.encode(_Request(request_id, method, params)).decode())
                answer: _Answer = await asyncio.wait_for(waiter, self._timeout)
            except BaseException:
                self._pending.pop(request_id, None)
                await self.close()
                raise
        if not answer.ok:
            raise WsRequestError(f"{method}: {answer.error}")
        return answer.result

    async def submit(self, payload: bytes) -> str:
        result = await self._call("submitJob", _SubmitParams(msgspec.Raw(payload)))
        return wire.decode_submitted(result).job_id

    async def submit_many(self, payloads: list[bytes]) -> list[str]:
        params = _SubmitManyParams([_SubmitParams(msgspec.Raw(p)) for p in payloads])
        return wire.decode_submitted_many(await self._call("submitJobs", params)).job_ids

    async def claim(self, worker_id: str, *, wait_ms: int, limit: int | None) -> list[str]:
        result = await self._call("claimJob", wire.ClaimParams(worker_id, wait_ms, limit))
        return wire.decode_claimed(result).ids()

    async def complete(self, job_id: str, worker_id: str) -> None:
        await self._call("completeJob", wire.JobParams(job_id, worker_id))

    async def complete_many(self, job_ids: list[str], worker_id: str) -> list[str]:
        result = await self._call("completeJobs", wire.CompleteManyParams(worker_id, job_ids))
        return wire.decode_completed_many(result).not_found

    async def close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
