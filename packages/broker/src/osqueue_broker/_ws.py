"""The WebSocket front door: JSON-RPC frames at /v1/ws, many requests in flight per socket.

`{"id", "method", "params"}` → `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error"}`.
Each request runs in its own task and is answered when done, in any order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from osqueue_types import (
    AuthError,
    BrokerProtocolError,
    InvalidRequestError,
    OsqueueError,
    PayloadTooLargeError,
)
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import _wire as w
from ._auth import TokenAuth
from ._http import check_utf8, decode
from ._operations import QueueOperations
from ._rest import dead_letter_selection
from ._views import claimed_reply, dead_letter_reply, job_reply, list_reply, new_job, stats_reply

logger = logging.getLogger("osqueue.broker")

# Requests in flight per socket; past this the socket is not read until one finishes.
MAX_IN_FLIGHT = 256

_EMPTY = w.NoJobReply()
_NO_PARAMS = msgspec.Raw(b"{}")


class _Frame(msgspec.Struct):
    id: str | int | None = None
    method: str = ""
    params: msgspec.Raw = _NO_PARAMS


class _Ok(msgspec.Struct):
    id: str | int | None
    ok: bool
    result: Any


class _Failed(msgspec.Struct):
    id: str | int | None
    ok: bool
    error: dict[str, Any]


class _AuthParams(msgspec.Struct):
    token: str


Method = Callable[[msgspec.Raw], Awaitable[Any]]


class WebSocketRpc:
    def __init__(self, ops: QueueOperations, auth: TokenAuth, *, max_payload_bytes: int) -> None:
        self.ops = ops
        self.auth = auth
        self.max_payload_bytes = max_payload_bytes
        self._frames = msgspec.json.Decoder(_Frame)
        self._auth_params = msgspec.json.Decoder(_AuthParams)
        self._encoder = msgspec.json.Encoder()
        self._methods: dict[str, Method] = {
            "submitJob": self._params(w.SubmitJobBody, self._submit_job),
            "submitJobs": self._params(w.SubmitJobsBody, self._submit_jobs),
            "claimJob": self._params(w.ClaimJobBody, self._claim_job),
            "heartbeat": self._params(w.JobWorkerParams, self._heartbeat),
            "completeJob": self._params(w.JobWorkerParams, self._complete_job),
            "completeJobs": self._params(w.CompleteJobsBody, self._complete_jobs),
            "failJob": self._params(w.FailJobParams, self._fail_job),
            "getJob": self._params(w.GetJobParams, self._get_job),
            "getStats": self._params(w.QueueParams, self._get_stats),
            "listJobs": self._params(w.ListJobsParams, self._list_jobs),
            "listDeadLetters": self._params(w.ListDeadLettersParams, self._list_dead_letters),
            "requeueDeadLetters": self._params(w.DeadLettersBody, self._requeue_dead_letters),
            "deleteDeadLetters": self._params(w.DeadLettersBody, self._delete_dead_letters),
        }

    async def endpoint(self, websocket: WebSocket) -> None:
        authed = not self.auth.enabled
        if not authed:
            try:
                self.auth.check_header(websocket.headers.get("authorization"))
                authed = True
            except AuthError:
                pass  # a first "auth" frame may still carry the token
        await websocket.accept()
        tasks: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("text")
                raw = data.encode() if data is not None else message.get("bytes") or b""
                try:
                    check_utf8(raw)
                    frame = self._frames.decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, OsqueueError) as exc:
                    await self._send_error(websocket, None, BrokerProtocolError(f"invalid frame: {exc}"))
                    continue
                if frame.method == "auth":
                    authed = await self._authenticate(websocket, frame) or authed
                    continue
                if not authed:
                    await self._send_error(websocket, frame.id, AuthError("authenticate first"))
                    continue
                await slots.acquire()
                task = asyncio.create_task(self._answer(websocket, frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: slots.release())
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()

    async def _authenticate(self, websocket: WebSocket, frame: _Frame) -> bool:
        try:
            params = self._auth_params.decode(frame.params)
            self.auth.check_token(params.token)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await self._send_error(websocket, frame.id, InvalidRequestError('auth needs {"token": "..."}'))
            return False
        except AuthError as exc:
            await self._send_error(websocket, frame.id, exc)
            return False
        await self._send(websocket, _Ok(frame.id, True, _EMPTY))
        return True

    async def _answer(self, websocket: WebSocket, frame: _Frame) -> None:
        method = self._methods.get(frame.method)
        try:
            if method is None:
                raise BrokerProtocolError(f"unknown method {frame.method!r}", method=frame.method)
            result = await method(frame.params)
        except OsqueueError as exc:
            await self._send_error(websocket, frame.id, exc)
            return
        except Exception as exc:
            logger.exception("WebSocket method %s failed", frame.method)
            await self._send_error(websocket, frame.id, OsqueueError(f"internal error: {exc}"))
            return
        await self._send(websocket, _Ok(frame.id, True, result))

    async def _send_error(
        self, websocket: WebSocket, frame_id: str | int | None, error: OsqueueError
    ) -> None:
        await self._send(websocket, _Failed(frame_id, False, error.to_wire()))

    async def _send(self, websocket: WebSocket, reply: _Ok | _Failed) -> None:
        try:
            await websocket.send_text(self._encoder.encode(reply).decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the socket closed while this request was running

    def _params(self, struct: type[Any], handler: Callable[[Any], Awaitable[Any]]) -> Method:
        decoder = msgspec.json.Decoder(struct)

        async def method(raw: msgspec.Raw) -> Any:
            if len(raw) == 4 and bytes(raw) == b"null":
                raw = _NO_PARAMS
            # The frame as a whole was checked for UTF-8 already.
            params = decode(decoder, raw, utf8_checked=True)
            self.ops.check_queue(params.queue)
            return await handler(params)

        return method

    # -- methods --------------------------------------------------------------------------

    def _check_payload(self, body: w.SubmitJobBody) -> None:
        if len(body.payload) > self.max_payload_bytes:
            raise PayloadTooLargeError(
                f"payload of {len(body.payload)} bytes exceeds the {self.max_payload_bytes}-byte limit"
            )

    async def _submit_job(self, p: w.SubmitJobBody) -> w.SubmitJobReply:
        self._check_payload(p)
        ids = await self.ops.submit([new_job(p)])
        return w.SubmitJobReply(job_id=ids[0])

    async def _submit_jobs(self, p: w.SubmitJobsBody) -> w.SubmitJobsReply:
        for job in p.jobs:
            self.ops.check_queue(job.queue)
            self._check_payload(job)
        return w.SubmitJobsReply(job_ids=await self.ops.submit([new_job(job) for job in p.jobs]))

    async def _claim_job(self, p: w.ClaimJobBody) -> Any:
        jobs = await self.ops.claim(p.worker_id, p.types, limit=p.limit or 1, wait_ms=p.wait_ms or 0)
        if p.limit is not None:
            return w.ClaimJobsReply(jobs=[claimed_reply(job) for job in jobs])
        return claimed_reply(jobs[0]) if jobs else _EMPTY

    async def _heartbeat(self, p: w.JobWorkerParams) -> w.NoJobReply:
        await self.ops.heartbeat(p.job_id, p.worker_id)
        return _EMPTY

    async def _complete_job(self, p: w.JobWorkerParams) -> w.NoJobReply:
        await self.ops.complete(p.job_id, p.worker_id)
        return _EMPTY

    async def _complete_jobs(self, p: w.CompleteJobsBody) -> w.CompleteJobsReply:
        result = await self.ops.complete_many(p.job_ids, p.worker_id)
        return w.CompleteJobsReply(completed=result.completed, not_found=result.not_found)

    async def _fail_job(self, p: w.FailJobParams) -> w.FailJobReply:
        dead = await self.ops.fail(
            p.job_id,
            p.worker_id,
            error=p.error,
            retry_delay_ms=p.retry_delay_ms,
            dead_letter=p.dead_letter,
            release=p.release,
        )
        return w.FailJobReply(dead_lettered=dead)

    async def _get_job(self, p: w.GetJobParams) -> w.JobReply:
        return job_reply(*self.ops.get_job(p.job_id))

    async def _get_stats(self, p: w.QueueParams) -> w.StatsReply:
        return stats_reply(self.ops.stats(), self.ops.address, self.ops.broker_heartbeat())

    async def _list_jobs(self, p: w.ListJobsParams) -> w.ListJobsReply:
        counts, jobs = self.ops.list_jobs(status=p.status, type=p.type, offset=p.offset, limit=p.limit)
        return list_reply(counts, jobs, self.ops.address, self.ops.broker_heartbeat())

    async def _list_dead_letters(self, p: w.ListDeadLettersParams) -> w.DeadLettersReply:
        dead, total = self.ops.dead_letters(p.offset, p.limit)
        return w.DeadLettersReply(dead_letters=[dead_letter_reply(d) for d in dead], total=total)

    async def _requeue_dead_letters(self, p: w.DeadLettersBody) -> w.CountReply:
        return w.CountReply(
            count=await self.ops.requeue_dead_letters(dead_letter_selection(p.job_ids, p.all))
        )

    async def _delete_dead_letters(self, p: w.DeadLettersBody) -> w.CountReply:
        return w.CountReply(count=await self.ops.delete_dead_letters(dead_letter_selection(p.job_ids, p.all)))
