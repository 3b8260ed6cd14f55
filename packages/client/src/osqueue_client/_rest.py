"""REST transport: JSON over HTTP, the `/v1/...` routes of docs/protocol.md."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
import msgspec
from osqueue_types import DEFAULT_QUEUE, TransportRequestError

from ._calls import (
    Call,
    ClaimJobs,
    CompleteJob,
    CompleteJobs,
    DeleteDeadLetters,
    FailJob,
    GetJob,
    GetStats,
    HeartbeatJob,
    ListDeadLetters,
    ListJobs,
    RequeueDeadLetters,
    SubmitJob,
    SubmitJobs,
    reply_type,
)
from ._errors import error_from_http_body
from ._http import HttpTransport

R = TypeVar("R")

_JSON = "application/json"
_encoder = msgspec.json.Encoder()
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


class _Body(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    queue: str = DEFAULT_QUEUE


class _WorkerBody(_Body, kw_only=True):
    """Heartbeat and complete: the job id is in the path."""

    worker_id: str


class _FailBody(_WorkerBody, kw_only=True):
    error: str | None = None
    retry_delay_ms: int | None = None
    dead_letter: bool = False
    release: bool = False


class _DeadLettersBody(_Body, kw_only=True):
    job_ids: list[str] | None = None
    all: bool = False


class RestTransport(HttpTransport):
    """JSON over HTTP. Compatible with the TypeScript osqueue's REST routes."""

    def __init__(self, *, auth_token: str | None = None, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(auth_token=auth_token, http=http)
        self._get_headers = dict(self._auth)
        self._post_headers = {**self._auth, "content-type": _JSON}

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        method, path, body = _route(request)
        headers = self._get_headers if body is None else self._post_headers
        response = await self._send(method, broker_url + path, content=body, headers=headers, timeout=timeout)
        return _decode(response, request, method, path)


def _decode(response: httpx.Response, request: Call[R], method: str, path: str) -> R:
    status = response.status_code
    if status >= 300:
        raise error_from_http_body(response.content, status=status, method=method, path=path)
    cls = reply_type(request)
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    # 204 (heartbeat, complete) has no body: the answer is the empty Struct.
    content = response.content or b"{}"
    try:
        return decoder.decode(content)  # type: ignore[no-any-return]
    except msgspec.DecodeError as exc:
        raise TransportRequestError(
            f"{method} {path}: malformed answer: {exc}", method=method, path=path, status=status
        ) from exc


def _route(call: Call[Any]) -> tuple[str, str, bytes | None]:
    """HTTP method, path (with query) and JSON body of a call."""
    match call:
        case SubmitJob():
            return "POST", "/v1/jobs", _encoder.encode(call)
        case SubmitJobs():
            return "POST", "/v1/jobs/batch", _encoder.encode(call)
        case ClaimJobs():
            return "POST", "/v1/jobs/claim", _encoder.encode(call)
        case CompleteJobs():
            return "POST", "/v1/jobs/complete", _encoder.encode(call)
        case HeartbeatJob() | CompleteJob():
            action = "heartbeat" if isinstance(call, HeartbeatJob) else "complete"
            body = _WorkerBody(worker_id=call.worker_id, queue=call.queue)
            return "POST", f"/v1/jobs/{_segment(call.job_id)}/{action}", _encoder.encode(body)
        case FailJob():
            fail = _FailBody(
                worker_id=call.worker_id,
                error=call.error,
                retry_delay_ms=call.retry_delay_ms,
                dead_letter=call.dead_letter,
                release=call.release,
                queue=call.queue,
            )
            return "POST", f"/v1/jobs/{_segment(call.job_id)}/fail", _encoder.encode(fail)
        case GetJob():
            return "GET", f"/v1/jobs/{_segment(call.job_id)}" + _query(queue=call.queue), None
        case GetStats():
            return "GET", "/v1/stats" + _query(queue=call.queue), None
        case ListJobs():
            query = _query(
                status=call.status, type=call.type, offset=call.offset, limit=call.limit, queue=call.queue
            )
            return "GET", "/v1/jobs" + query, None
        case ListDeadLetters():
            return (
                "GET",
                "/v1/dead-letters" + _query(offset=call.offset, limit=call.limit, queue=call.queue),
                None,
            )
        case RequeueDeadLetters() | DeleteDeadLetters():
            action = "requeue" if isinstance(call, RequeueDeadLetters) else "delete"
            selection = _DeadLettersBody(job_ids=call.job_ids, all=call.all, queue=call.queue)
            return "POST", f"/v1/dead-letters/{action}", _encoder.encode(selection)
    raise TypeError(f"RestTransport cannot send {type(call).__name__}")


def _segment(job_id: str) -> str:
    return quote(job_id, safe="")


_DEFAULTS: dict[str, str | int] = {"offset": 0, "queue": DEFAULT_QUEUE}


def _query(**params: str | int | None) -> str:
    """Query string of the parameters that differ from the broker's defaults."""
    kept = {
        name: value for name, value in params.items() if value is not None and _DEFAULTS.get(name) != value
    }
    return "?" + urlencode(kept) if kept else ""
