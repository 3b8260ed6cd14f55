"""The Connect front door: the generated QueueService ASGI app with osqueue's operations behind it.

Errors become Connect codes carrying an `osqueue.v1.ErrorInfo` detail; a request that does not
decode is `invalid_argument` (connect-python would say `unknown`); anything unexpected is logged
and answered `internal`.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import osqueue_proto as pb
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from osqueue_types import (
    MAX_CLAIM_LIMIT,
    BrokerLeadershipError,
    ClaimedJob,
    DeadLetter,
    InvalidRequestError,
    Job,
    NewJob,
    OsqueueError,
    PayloadTooLargeError,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth import TokenAuth
from ._hangup import client_gone, tracked
from ._http import check_utf8
from ._operations import QueueOperations
from ._rest import dead_letter_selection
from ._views import unclaimed
from ._wire import MAX_DELAY_MS

logger = logging.getLogger("osqueue.broker")

_R = TypeVar("_R")

_CODES = {
    400: Code.INVALID_ARGUMENT,
    401: Code.UNAUTHENTICATED,
    403: Code.PERMISSION_DENIED,
    404: Code.NOT_FOUND,
    409: Code.ABORTED,
    413: Code.RESOURCE_EXHAUSTED,
    503: Code.UNAVAILABLE,
}
_INT32_MAX = 2**31 - 1
_MAX_WAIT_MS = 60_000
# Responses above this size are gzipped for clients that accept it; small ones are not worth it.
COMPRESS_MIN_BYTES = 64 * 1024


def connect_error(error: OsqueueError) -> ConnectError:
    detail = pb.ErrorInfo(tag=error.tag)
    if isinstance(error, BrokerLeadershipError) and error.leader:
        detail.leader = error.leader
    return ConnectError(_CODES.get(error.http_status, Code.INTERNAL), error.message, details=[detail])


class ConnectQueueService(pb.QueueService):
    def __init__(self, ops: QueueOperations, auth: TokenAuth, *, max_payload_bytes: int) -> None:
        self.ops = ops
        self.auth = auth
        self.max_payload_bytes = max_payload_bytes

    async def _run(self, ctx: RequestContext, queue: str, call: Callable[[], Awaitable[_R]]) -> _R:
        try:
            if self.auth.enabled:
                self.auth.check_header(ctx.request_headers().get("authorization"))
            self.ops.check_queue(queue)
            return await call()
        except OsqueueError as exc:
            raise connect_error(exc) from None
        except ConnectError:
            raise
        except Exception as exc:
            logger.exception("Connect method %s failed", ctx.method().name)
            raise ConnectError(Code.INTERNAL, f"internal error: {exc}") from exc

    # -- mutations ------------------------------------------------------------------------

    async def submit_job(self, request: pb.SubmitJobRequest, ctx: RequestContext) -> pb.SubmitJobResponse:
        async def call() -> pb.SubmitJobResponse:
            ids = await self.ops.submit([self._new_job(request)])
            return pb.SubmitJobResponse(job_id=ids[0])

        return await self._run(ctx, request.queue, call)

    async def submit_jobs(self, request: pb.SubmitJobsRequest, ctx: RequestContext) -> pb.SubmitJobsResponse:
        async def call() -> pb.SubmitJobsResponse:
            for job in request.jobs:
                self.ops.check_queue(job.queue)
            ids = await self.ops.submit([self._new_job(job) for job in request.jobs])
            return pb.SubmitJobsResponse(job_ids=ids)

        return await self._run(ctx, request.queue, call)

    async def claim_job(self, request: pb.ClaimJobRequest, ctx: RequestContext) -> pb.ClaimJobResponse:
        async def call() -> pb.ClaimJobResponse:
            if not request.worker_id:
                raise InvalidRequestError("worker_id is required")
            wait_ms = request.wait_ms if request.HasField("wait_ms") else 0
            if not 0 <= wait_ms <= _MAX_WAIT_MS:
                raise InvalidRequestError(f"wait_ms must be 0..{_MAX_WAIT_MS}, got {wait_ms}")
            batch = request.HasField("limit")
            if batch and not 1 <= request.limit <= MAX_CLAIM_LIMIT:
                raise InvalidRequestError(f"limit must be 1..{MAX_CLAIM_LIMIT}, got {request.limit}")
            gone = client_gone() if wait_ms else None
            try:
                jobs = await self.ops.claim(
                    request.worker_id,
                    list(request.types),
                    limit=request.limit if batch else 1,
                    wait_ms=wait_ms,
                    gone=gone,
                )
            finally:
                if gone is not None:
                    gone.cancel()
            if batch:
                return pb.ClaimJobResponse(jobs=[_claimed(job) for job in jobs])
            if not jobs:
                return pb.ClaimJobResponse()
            job = jobs[0]
            return pb.ClaimJobResponse(
                job_id=job.id,
                payload=bytes(job.payload),
                type=job.type or "",
                attempt=job.attempt,
                max_attempts=job.max_attempts,
            )

        return await self._run(ctx, request.queue, call)

    async def heartbeat(self, request: pb.HeartbeatRequest, ctx: RequestContext) -> pb.HeartbeatResponse:
        async def call() -> pb.HeartbeatResponse:
            await self.ops.heartbeat(*_job_and_worker(request.job_id, request.worker_id))
            return pb.HeartbeatResponse()

        return await self._run(ctx, request.queue, call)

    async def complete_job(
        self, request: pb.CompleteJobRequest, ctx: RequestContext
    ) -> pb.CompleteJobResponse:
        async def call() -> pb.CompleteJobResponse:
            await self.ops.complete(*_job_and_worker(request.job_id, request.worker_id))
            return pb.CompleteJobResponse()

        return await self._run(ctx, request.queue, call)

    async def complete_jobs(
        self, request: pb.CompleteJobsRequest, ctx: RequestContext
    ) -> pb.CompleteJobsResponse:
        async def call() -> pb.CompleteJobsResponse:
            if not request.worker_id:
                raise InvalidRequestError("worker_id is required")
            count = len(request.job_ids)
            if not 1 <= count <= MAX_CLAIM_LIMIT:
                raise InvalidRequestError(f"job_ids must hold 1..{MAX_CLAIM_LIMIT} ids, got {count}")
            if not all(request.job_ids):
                raise InvalidRequestError("job_ids must not hold an empty id")
            result = await self.ops.complete_many(list(request.job_ids), request.worker_id)
            return pb.CompleteJobsResponse(completed=result.completed, not_found=result.not_found)

        return await self._run(ctx, request.queue, call)

    async def fail_job(self, request: pb.FailJobRequest, ctx: RequestContext) -> pb.FailJobResponse:
        async def call() -> pb.FailJobResponse:
            delay = request.retry_delay_ms if request.HasField("retry_delay_ms") else None
            if delay is not None and not 0 <= delay <= MAX_DELAY_MS:
                raise InvalidRequestError(f"retry_delay_ms must be 0..{MAX_DELAY_MS}, got {delay}")
            dead = await self.ops.fail(
                *_job_and_worker(request.job_id, request.worker_id),
                error=request.error if request.HasField("error") else None,
                retry_delay_ms=delay,
                dead_letter=request.dead_letter,
                release=request.release,
            )
            return pb.FailJobResponse(dead_lettered=dead)

        return await self._run(ctx, request.queue, call)

    async def requeue_dead_letters(
        self, request: pb.DeadLettersRequest, ctx: RequestContext
    ) -> pb.DeadLettersResponse:
        async def call() -> pb.DeadLettersResponse:
            ids = dead_letter_selection(list(request.job_ids), request.all)
            return pb.DeadLettersResponse(count=await self.ops.requeue_dead_letters(ids))

        return await self._run(ctx, request.queue, call)

    async def delete_dead_letters(
        self, request: pb.DeadLettersRequest, ctx: RequestContext
    ) -> pb.DeadLettersResponse:
        async def call() -> pb.DeadLettersResponse:
            ids = dead_letter_selection(list(request.job_ids), request.all)
            return pb.DeadLettersResponse(count=await self.ops.delete_dead_letters(ids))

        return await self._run(ctx, request.queue, call)

    # -- reads ----------------------------------------------------------------------------

    async def get_stats(self, request: pb.GetStatsRequest, ctx: RequestContext) -> pb.GetStatsResponse:
        async def call() -> pb.GetStatsResponse:
            c = self.ops.stats()
            return pb.GetStatsResponse(
                total=c.total,
                unclaimed=unclaimed(c),
                in_progress=c.in_progress,
                broker_address=self.ops.address,
                completed_total=c.completed_total,
                delayed=c.delayed,
                dead_letters=c.dead_letters,
                broker_heartbeat=self.ops.broker_heartbeat(),
            )

        return await self._run(ctx, request.queue, call)

    async def list_jobs(self, request: pb.ListJobsRequest, ctx: RequestContext) -> pb.ListJobsResponse:
        async def call() -> pb.ListJobsResponse:
            if request.offset < 0 or request.limit < 0:
                raise InvalidRequestError("offset and limit must not be negative")
            c, jobs = self.ops.list_jobs(
                status=request.status or None,
                type=request.type or None,
                offset=request.offset,
                limit=request.limit or None,
            )
            return pb.ListJobsResponse(
                jobs=[_job_info(job) for job in jobs],
                total=c.total,
                unclaimed=unclaimed(c),
                in_progress=c.in_progress,
                completed_total=min(c.completed_total, _INT32_MAX),
                broker_address=self.ops.address,
                delayed=c.delayed,
                dead_letters=c.dead_letters,
                broker_heartbeat=self.ops.broker_heartbeat(),
            )

        return await self._run(ctx, request.queue, call)

    async def get_job(self, request: pb.GetJobRequest, ctx: RequestContext) -> pb.GetJobResponse:
        async def call() -> pb.GetJobResponse:
            if not request.job_id:
                raise InvalidRequestError("job_id is required")
            return pb.GetJobResponse(job=_job_info(*self.ops.get_job(request.job_id)))

        return await self._run(ctx, request.queue, call)

    async def list_dead_letters(
        self, request: pb.ListDeadLettersRequest, ctx: RequestContext
    ) -> pb.ListDeadLettersResponse:
        async def call() -> pb.ListDeadLettersResponse:
            if request.offset < 0 or request.limit < 0:
                raise InvalidRequestError("offset and limit must not be negative")
            dead, total = self.ops.dead_letters(request.offset, request.limit or None)
            return pb.ListDeadLettersResponse(dead_letters=[_dead_letter_info(d) for d in dead], total=total)

        return await self._run(ctx, request.queue, call)

    # -- conversions ----------------------------------------------------------------------

    def _new_job(self, request: pb.SubmitJobRequest) -> NewJob:
        if len(request.payload) > self.max_payload_bytes:
            raise PayloadTooLargeError(
                f"payload of {len(request.payload)} bytes exceeds the {self.max_payload_bytes}-byte limit"
            )
        try:
            # Validates the JSON; the job keeps the bytes as they are.
            check_utf8(request.payload)
            payload = msgspec.json.decode(request.payload, type=msgspec.Raw)
        except (msgspec.DecodeError, RecursionError, InvalidRequestError) as exc:
            raise InvalidRequestError(f"payload is not valid UTF-8 JSON: {exc}") from None
        max_attempts = request.max_attempts if request.HasField("max_attempts") else None
        if max_attempts is not None and max_attempts < 1:
            raise InvalidRequestError(f"max_attempts must be at least 1, got {max_attempts}")
        delay_ms = request.delay_ms if request.HasField("delay_ms") else None
        if delay_ms is not None and not 0 <= delay_ms <= MAX_DELAY_MS:
            raise InvalidRequestError(f"delay_ms must be 0..{MAX_DELAY_MS}, got {delay_ms}")
        return NewJob(
            payload=payload,
            type=request.type or None,
            max_attempts=max_attempts,
            delay_ms=delay_ms,
            priority=request.priority,
            idempotency_key=request.idempotency_key if request.HasField("idempotency_key") else None,
        )


def _job_and_worker(job_id: str, worker_id: str) -> tuple[str, str]:
    if not job_id or not worker_id:
        raise InvalidRequestError("job_id and worker_id are required")
    return job_id, worker_id


def _claimed(job: ClaimedJob) -> pb.ClaimedJob:
    return pb.ClaimedJob(
        job_id=job.id,
        payload=bytes(job.payload),
        type=job.type or "",
        attempt=job.attempt,
        max_attempts=job.max_attempts,
    )


def _job_info(job: Job, status: str | None = None, dead: DeadLetter | None = None) -> pb.JobInfo:
    info = pb.JobInfo(
        id=job.id,
        status=status or job.status.value,
        payload=bytes(job.payload),
        type=job.type or "",
        worker_id=job.worker_id or "",
        created_at=job.created_at,
        attempts=job.attempts,
        max_attempts=job.max_attempts if job.max_attempts is not None else 0,
        heartbeat=job.heartbeat or 0,
    )
    if isinstance(job.run_at, int):
        info.run_at = job.run_at
    if isinstance(job.priority, int):
        info.priority = job.priority
    if isinstance(job.last_error, str):
        info.last_error = job.last_error
    if dead is not None:
        info.dead_reason = dead.reason
        info.dead_at = dead.dead_at
    return info


def _dead_letter_info(dead: DeadLetter) -> pb.DeadLetterInfo:
    return pb.DeadLetterInfo(job=_job_info(dead.job), reason=dead.reason, dead_at=dead.dead_at)


class QueueConnectApp(pb.QueueServiceASGIApplication):
    """The generated app, answering undecodable requests with `invalid_argument`."""

    async def _read_post_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._read_post_request(*args, **kwargs)
        except ConnectError:
            raise
        except Exception as exc:
            raise connect_error(InvalidRequestError(f"cannot decode the request: {exc}")) from exc

    async def _read_get_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._read_get_request(*args, **kwargs)
        except ConnectError:
            raise
        except Exception as exc:
            raise connect_error(InvalidRequestError(f"cannot decode the request: {exc}")) from exc


class BoundedGzip:
    """gzip for request bodies that stops inflating at the request size limit (no gzip bombs)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def name(self) -> str:
        return "gzip"

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        return gzip.compress(data, compresslevel=5)

    def decompress(self, data: bytes | bytearray | memoryview) -> bytes:
        out: list[bytes] = []
        room = self.max_bytes + 1
        rest = bytes(data)
        try:
            while rest and room > 0:  # a gzip stream may hold several members
                inflater = zlib.decompressobj(wbits=31)
                chunk = inflater.decompress(rest, room)
                out.append(chunk)
                room -= len(chunk)
                rest = inflater.unused_data if inflater.eof else b""
        except zlib.error as exc:
            raise connect_error(InvalidRequestError(f"bad gzip body: {exc}")) from None
        if room <= 0:
            raise _too_large(self.max_bytes)
        return b"".join(out)


class ConnectEdge:
    """In front of the Connect app: a request size limit, a response compression policy, and
    the request's hang-up tracked for long-poll claims (see `_hangup`).

    connect-python reads a whole body before checking its size, and gzips every response a
    client accepts gzip for, which costs more than it saves on the small messages that make up
    nearly all traffic; here bodies are cut off at the limit while they stream in, and only
    large responses are gzipped.
    """

    def __init__(
        self, app: ASGIApp, *, max_request_bytes: int, compress_min_bytes: int = COMPRESS_MIN_BYTES
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.compress_min_bytes = compress_min_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        accepts_gzip = False
        declared = 0
        kept = []
        for name, value in headers:
            if name == b"accept-encoding":
                accepts_gzip = accepts_gzip or b"gzip" in value
                continue
            if name == b"content-length" and value.isdigit():
                declared = int(value)
            kept.append((name, value))
        if len(kept) != len(headers):
            scope = {**scope, "headers": kept}
        limit = self.max_request_bytes
        received = 0
        with tracked(receive) as hangup:

            async def bounded_receive() -> Message:
                nonlocal received
                if declared > limit:
                    raise _too_large(limit)
                message = await receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
                hangup.body_read = not message.get("more_body", False)
                return message

            await self.app(scope, bounded_receive, self._gzip_large(send) if accepts_gzip else send)

    def _gzip_large(self, send: Send) -> Send:
        """`send`, gzipping a large 200 response body sent in one piece."""
        start: Message | None = None

        async def send_maybe_gzipped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is not None:
                body = message.get("body", b"")
                large = len(body) >= self.compress_min_bytes
                if start["status"] == 200 and large and not message.get("more_body"):
                    start = _with_encoding(start, b"gzip")
                    message = {**message, "body": gzip.compress(body, compresslevel=5)}
                await send(start)
                start = None
            await send(message)

        return send_maybe_gzipped


def _too_large(limit: int) -> ConnectError:
    return connect_error(PayloadTooLargeError(f"request body exceeds the {limit}-byte limit"))


def _with_encoding(start: Message, encoding: bytes) -> Message:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-encoding"]
    headers.append((b"content-encoding", encoding))
    return {**start, "headers": headers}
