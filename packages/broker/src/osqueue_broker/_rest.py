"""The REST front door: the TypeScript osqueue's paths and shapes, plus the additive routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from osqueue_storage import ThrottledBackend
from osqueue_types import InvalidRequestError, OsqueueError, PayloadTooLargeError, StorageBackend
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import _wire as w
from ._auth import TokenAuth
from ._http import decode, error_response, json_response, no_content, read_body
from ._operations import QueueOperations
from ._views import claimed_reply, dead_letter_reply, job_reply, list_reply, new_job, stats_reply
from ._wire import MAX_PAGE

logger = logging.getLogger("osqueue.broker")

Handler = Callable[[Request], Awaitable[Response]]

_NO_JOB = w.NoJobReply()


class RestApi:
    def __init__(
        self,
        ops: QueueOperations,
        auth: TokenAuth,
        *,
        storage: StorageBackend,
        max_payload_bytes: int,
        max_request_bytes: int,
    ) -> None:
        self.ops = ops
        self.auth = auth
        self.storage = storage
        self.max_payload_bytes = max_payload_bytes
        self.max_request_bytes = max_request_bytes
        self._submit = msgspec.json.Decoder(w.SubmitJobBody)
        self._submit_batch = msgspec.json.Decoder(w.SubmitJobsBody)
        self._claim = msgspec.json.Decoder(w.ClaimJobBody)
        self._worker = msgspec.json.Decoder(w.WorkerBody)
        self._complete_batch = msgspec.json.Decoder(w.CompleteJobsBody)
        self._fail = msgspec.json.Decoder(w.FailJobBody)
        self._dead = msgspec.json.Decoder(w.DeadLettersBody)
        # The worker and producer hot paths, also served without Starlette's router (`HotPaths`).
        g = self._guard
        self.hot_posts: dict[str, Handler] = {
            "/v1/jobs": g(self.submit_job),
            "/v1/jobs/batch": g(self.submit_jobs),
            "/v1/jobs/claim": g(self.claim_job),
            "/v1/jobs/complete": g(self.complete_jobs),
        }
        self.hot_job_posts: dict[str, Handler] = {
            "heartbeat": g(self.heartbeat),
            "complete": g(self.complete_job),
            "fail": g(self.fail_job),
        }

    def routes(self) -> list[BaseRoute]:
        g = self._guard
        posts = self.hot_posts
        job_posts = self.hot_job_posts
        return [
            Route(
                "/v1/jobs", _by_method(GET=g(self.list_jobs), POST=posts["/v1/jobs"]), methods=["GET", "POST"]
            ),
            Route("/v1/jobs/batch", posts["/v1/jobs/batch"], methods=["POST"]),
            Route("/v1/jobs/claim", posts["/v1/jobs/claim"], methods=["POST"]),
            Route("/v1/jobs/complete", posts["/v1/jobs/complete"], methods=["POST"]),
            Route("/v1/jobs/{id}", g(self.get_job), methods=["GET"]),
            *(Route(f"/v1/jobs/{{id}}/{name}", post, methods=["POST"]) for name, post in job_posts.items()),
            Route("/v1/stats", g(self.stats), methods=["GET"]),
            Route("/v1/dead-letters", g(self.list_dead_letters), methods=["GET"]),
            Route("/v1/dead-letters/requeue", g(self.requeue_dead_letters), methods=["POST"]),
            Route("/v1/dead-letters/delete", g(self.delete_dead_letters), methods=["POST"]),
            Route("/v1/throttle-stats", g(self.throttle_stats), methods=["GET"]),
            Route("/state", g(self.state), methods=["GET"]),
        ]

    def _guard(self, handler: Handler) -> Handler:
        """Auth, then the handler; typed errors become `{"_tag", "message"}` replies."""
        auth = self.auth

        async def guarded(request: Request) -> Response:
            try:
                if auth.enabled:
                    auth.check_header(request.headers.get("authorization"))
                return await handler(request)
            except OsqueueError as exc:
                return error_response(exc)
            except ClientDisconnect:
                return no_content()  # nobody is listening any more

        guarded.__name__ = handler.__name__
        return guarded

    # -- helpers --------------------------------------------------------------------------

    async def _body(self, request: Request, decoder: msgspec.json.Decoder[Any]) -> Any:
        return decode(decoder, await read_body(request, self.max_request_bytes))

    def _queue(self, request: Request, body_queue: str | None = None) -> None:
        if request.scope["query_string"]:
            self.ops.check_queue(request.query_params.get("queue"))
        self.ops.check_queue(body_queue)

    def _check_payload(self, body: w.SubmitJobBody) -> None:
        if len(body.payload) > self.max_payload_bytes:
            raise PayloadTooLargeError(
                f"payload of {len(body.payload)} bytes exceeds the {self.max_payload_bytes}-byte limit"
            )

    # -- routes ---------------------------------------------------------------------------

    async def submit_job(self, request: Request) -> Response:
        body: w.SubmitJobBody = await self._body(request, self._submit)
        self._queue(request, body.queue)
        self._check_payload(body)
        ids = await self.ops.submit([new_job(body)])
        return json_response(w.SubmitJobReply(job_id=ids[0]))

    async def submit_jobs(self, request: Request) -> Response:
        body: w.SubmitJobsBody = await self._body(request, self._submit_batch)
        self._queue(request, body.queue)
        for job in body.jobs:
            self.ops.check_queue(job.queue)
            self._check_payload(job)
        ids = await self.ops.submit([new_job(job) for job in body.jobs])
        return json_response(w.SubmitJobsReply(job_ids=ids))

    async def claim_job(self, request: Request) -> Response:
        body: w.ClaimJobBody = await self._body(request, self._claim)
        self._queue(request, body.queue)
        gone: asyncio.Future[Any] | None = None
        if body.wait_ms:
            # The body is read, so the next receive() only returns when the client hangs up.
            gone = asyncio.ensure_future(request.receive())
        try:
            jobs = await self.ops.claim(
                body.worker_id, body.types, limit=body.limit or 1, wait_ms=body.wait_ms or 0, gone=gone
            )
        finally:
            if gone is not None:
                gone.cancel()
        if body.limit is not None:
            return json_response(w.ClaimJobsReply(jobs=[claimed_reply(job) for job in jobs]))
        return json_response(claimed_reply(jobs[0]) if jobs else _NO_JOB)

    async def heartbeat(self, request: Request) -> Response:
        body: w.WorkerBody = await self._body(request, self._worker)
        self._queue(request, body.queue)
        await self.ops.heartbeat(request.path_params["id"], body.worker_id)
        return no_content()

    async def complete_job(self, request: Request) -> Response:
        body: w.WorkerBody = await self._body(request, self._worker)
        self._queue(request, body.queue)
        await self.ops.complete(request.path_params["id"], body.worker_id)
        return no_content()

    async def complete_jobs(self, request: Request) -> Response:
        body: w.CompleteJobsBody = await self._body(request, self._complete_batch)
        self._queue(request, body.queue)
        result = await self.ops.complete_many(body.job_ids, body.worker_id)
        return json_response(w.CompleteJobsReply(completed=result.completed, not_found=result.not_found))

    async def fail_job(self, request: Request) -> Response:
        body: w.FailJobBody = await self._body(request, self._fail)
        self._queue(request, body.queue)
        dead = await self.ops.fail(
            request.path_params["id"],
            body.worker_id,
            error=body.error,
            retry_delay_ms=body.retry_delay_ms,
            dead_letter=body.dead_letter,
            release=body.release,
        )
        return json_response(w.FailJobReply(dead_lettered=dead))

    async def get_job(self, request: Request) -> Response:
        self._queue(request)
        return json_response(job_reply(*self.ops.get_job(request.path_params["id"])))

    async def stats(self, request: Request) -> Response:
        self._queue(request)
        return json_response(stats_reply(self.ops.stats(), self.ops.address, self.ops.broker_heartbeat()))

    async def list_jobs(self, request: Request) -> Response:
        self._queue(request)
        query = request.query_params
        counts, jobs = self.ops.list_jobs(
            status=query.get("status"),
            type=query.get("type"),
            offset=_int_param(query.get("offset"), "offset") or 0,
            limit=_int_param(query.get("limit"), "limit"),
        )
        return json_response(list_reply(counts, jobs, self.ops.address, self.ops.broker_heartbeat()))

    async def list_dead_letters(self, request: Request) -> Response:
        self._queue(request)
        query = request.query_params
        offset = _int_param(query.get("offset"), "offset") or 0
        dead, total = self.ops.dead_letters(offset, _int_param(query.get("limit"), "limit"))
        return json_response(
            w.DeadLettersReply(dead_letters=[dead_letter_reply(d) for d in dead], total=total)
        )

    async def requeue_dead_letters(self, request: Request) -> Response:
        ids = await self._dead_letter_ids(request)
        return json_response(w.CountReply(count=await self.ops.requeue_dead_letters(ids)))

    async def delete_dead_letters(self, request: Request) -> Response:
        ids = await self._dead_letter_ids(request)
        return json_response(w.CountReply(count=await self.ops.delete_dead_letters(ids)))

    async def _dead_letter_ids(self, request: Request) -> list[str] | None:
        body: w.DeadLettersBody = await self._body(request, self._dead)
        self._queue(request, body.queue)
        return dead_letter_selection(body.job_ids, body.all)

    async def throttle_stats(self, request: Request) -> Response:
        return json_response(throttle_stats(self.storage))

    async def state(self, request: Request) -> Response:
        self._queue(request)
        return Response(self.ops.state_bytes(), media_type="application/json")


def _by_method(**handlers: Handler) -> Handler:
    """One route for a path served by several methods, so a 405 lists all of them in `Allow`."""

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


def dead_letter_selection(job_ids: list[str] | None, all_: bool) -> list[str] | None:
    """`{"jobIds": [...]}` or `{"all": true}` → the ids, or None for all."""
    if all_ and job_ids:
        raise InvalidRequestError("give either jobIds or all, not both")
    if all_:
        return None
    if not job_ids:
        raise InvalidRequestError("give jobIds (non-empty) or all: true")
    return job_ids


def throttle_stats(storage: StorageBackend) -> dict[str, Any]:
    if not isinstance(storage, ThrottledBackend):
        return {"enabled": False}
    s = storage.stats()
    return {
        "enabled": True,
        "totalReads": s.total_reads,
        "throttledReads": s.throttled_reads,
        "totalWrites": s.total_writes,
        "throttledWrites": s.throttled_writes,
        "totalDelayMs": s.total_delay_ms,
    }


def _int_param(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_PAGE:
        raise InvalidRequestError(f"{name} must be an integer 0..{MAX_PAGE}, got {raw!r}")
    return int(raw)
