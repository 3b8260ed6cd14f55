"""OsqueueClient: submit, claim and manage jobs on an osqueue broker, following it across failovers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

from osqueue_types import (
    DEFAULT_QUEUE,
    CompleteManyResult,
    ConfigError,
    DiscoveryError,
    EngineStateError,
    InvalidRequestError,
    JobStatus,
    ListStatus,
    NotLeaderError,
    OsqueueError,
    StorageBackend,
    TransportConfigError,
    TransportConnectionError,
    queue_state_key,
)

from ._backoff import Backoff
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
)
from ._connect import ConnectTransport
from ._discovery import LeaderDiscovery
from ._durations import Duration, to_ms, to_seconds
from ._models import ClaimedJob, DeadLetterList, JobId, JobInfo, JobList, JobSpec, QueueStats
from ._payloads import PayloadCodec, Registry
from ._rest import RestTransport
from ._transport import Transport
from ._ws import WebSocketTransport

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_BROKER_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 10.0
# Long enough for a standby broker to take over (one broker heartbeat timeout, 10 s by default).
DEFAULT_FAILOVER_DEADLINE = 30.0

TransportName = Literal["connect", "rest", "ws"]
DeadLetterSelection = Sequence[str] | Literal["all"]
CLOSED_MESSAGE = "this OsqueueClient is closed; create a new one"


class OsqueueClient:
    """Async client of one queue on an osqueue broker.

    Where the broker is: `broker_url` ("http://host:port"), or `storage` (a StorageBackend or
    a storage URL such as "s3://bucket/prefix", which needs `osqueue-client[discovery]`) to
    read the leader's address from the queue's state, or both (start at `broker_url`,
    rediscover from storage after a failure). With neither, `$BROKER_URL` or
    http://127.0.0.1:8080.

    Failover: when a broker says it is not the leader, the client moves to the leader it names
    (or rediscovers); when a broker cannot be reached it rediscovers and retries with capped
    exponential backoff and jitter until `failover_deadline` has passed since the first
    failure, then raises `TransportConnectionError`. Retried calls:
    - submit / submit_many: always; each job carries an idempotency key (a uuid4 unless you
      give one), so a retry never makes a second job.
    - claim: always. A claim whose answer was lost may have claimed jobs this client never
      sees; they stay with this worker id until their heartbeat times out and are then
      delivered again, so at-least-once delivery holds, only later.
    - heartbeat, complete, complete_many, fail, and reads: always. A `JobNotFoundError` after
      a retried complete or fail may mean the first attempt already landed; it is raised as
      is. Likewise an id in `not_found` after a retried complete_many.
    - requeue / delete dead letters: only when the broker said it did not apply them (not the
      leader, shutting down), because a blind retry could touch letters that arrived since.

    After `aclose()` every call raises `TransportConnectionError`.
    """

    def __init__(
        self,
        broker_url: str | None = None,
        *,
        storage: StorageBackend | str | None = None,
        transport: TransportName | Transport = "connect",
        registry: Registry | None = None,
        auth_token: str | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        queue: str = DEFAULT_QUEUE,
        failover_deadline: Duration = DEFAULT_FAILOVER_DEADLINE,
    ) -> None:
        try:
            queue_state_key(queue)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if broker_url is None and storage is None:
            broker_url = os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL
        self._configured_url = _normalize_url(broker_url) if broker_url else None
        self._url = self._configured_url
        self._scheme = urlsplit(self._configured_url).scheme if self._configured_url else "http"
        self._discovery = LeaderDiscovery(storage, queue) if storage is not None else None
        self._discovering = asyncio.Lock()
        self._transport = _make_transport(transport, auth_token)
        self._payloads = PayloadCodec(registry)
        self._queue = queue
        self._timeout = to_seconds(timeout)
        self._failover_deadline = to_seconds(failover_deadline)
        self._closed = False
        # Set by aclose(): cuts short the failover backoff of calls still retrying.
        self._closing = asyncio.Event()

    @property
    def broker_url(self) -> str | None:
        """The broker the next call goes to; None until discovered."""
        return self._url

    @property
    def queue(self) -> str:
        return self._queue

    # --- lifecycle -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Find the broker (from storage when configured), check that it answers and open the
        transport's connection; fails over and raises like any call."""

        def connect(url: str) -> Awaitable[None]:
            return self._transport.connect(url, self._timeout)

        await self._with_failover(connect, retry_when_ambiguous=True)

    async def reconnect(self) -> None:
        """Forget the current broker, find it again and open a fresh connection."""
        self._url = None if self._discovery is not None else self._configured_url
        await self.connect()

    async def aclose(self) -> None:
        """Release the connections; every call afterwards raises `TransportConnectionError`."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        await self._transport.aclose()
        if self._discovery is not None:
            await self._discovery.aclose()

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- producing -------------------------------------------------------------------------

    async def submit(
        self,
        type: str | None,
        payload: Any,
        *,
        max_attempts: int | None = None,
        delay: Duration | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
    ) -> JobId:
        """Add a job; returns its id. The payload is validated against `registry[type]` first."""
        call = self._submit_call(JobSpec(type, payload, max_attempts, delay, priority, idempotency_key))
        return (await self._call(call)).job_id

    async def submit_many(self, jobs: Iterable[JobSpec]) -> list[JobId]:
        """Add several jobs in one request (and one storage commit); ids in the order given."""
        calls = [self._submit_call(spec) for spec in jobs]
        if not calls:
            return []
        return (await self._call(SubmitJobs(jobs=calls, queue=self._queue))).job_ids

    # --- consuming -------------------------------------------------------------------------

    async def claim(
        self,
        worker_id: str,
        types: Sequence[str] | str | None = None,
        *,
        wait: Duration | None = None,
        limit: int = 1,
    ) -> list[ClaimedJob]:
        """Claim up to `limit` jobs (of `types`, if given). With `wait`, hold the request until a
        job is claimable or the wait ends (long poll); returns an empty list when none came."""
        wait_ms = to_ms(wait, "wait")
        call = ClaimJobs(
            worker_id=worker_id,
            types=[types] if isinstance(types, str) else (list(types) if types else None),
            wait_ms=wait_ms,
            limit=limit,
            queue=self._queue,
        )
        claimed = await self._call(call, timeout=self._timeout + (wait_ms or 0) / 1000)
        return [self._payloads.claimed(job) for job in claimed.jobs]

    async def heartbeat(self, job_id: JobId, worker_id: str) -> None:
        """Tell the broker this worker still works on the job (resets its heartbeat timeout)."""
        await self._call(HeartbeatJob(job_id=job_id, worker_id=worker_id, queue=self._queue))

    async def complete(self, job_id: JobId, worker_id: str) -> None:
        await self._call(CompleteJob(job_id=job_id, worker_id=worker_id, queue=self._queue))

    async def complete_many(self, job_ids: Sequence[JobId], worker_id: str) -> CompleteManyResult:
        """Complete several jobs this worker holds (a claimed batch, 1..1000 ids) in one request
        and one storage commit. Partial success: ids it does not hold (unknown, not in
        progress, another worker's, repeated) come back in `not_found` and fail nothing."""
        call = CompleteJobs(worker_id=worker_id, job_ids=list(job_ids), queue=self._queue)
        answer = await self._call(call)
        return CompleteManyResult(completed=answer.completed, not_found=answer.not_found)

    async def fail(
        self,
        job_id: JobId,
        worker_id: str,
        error: str | BaseException | None = None,
        retry_delay: Duration | None = None,
        dead_letter: bool = False,
        release: bool = False,
    ) -> bool:
        """Give the job back as failed. While attempts remain it is claimable again at once,
        or after `retry_delay` when given (the broker adds no backoff of its own); otherwise
        it is dead-lettered. `dead_letter=True` dead-letters it now. `release=True` gives it
        back without counting the attempt (for a worker shutting down, not the job's fault):
        it goes back to the queue even on its last attempt, never to the dead letters; it
        cannot be combined with `dead_letter`. Returns whether it went to the dead-letter list."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        call = FailJob(
            job_id=job_id,
            worker_id=worker_id,
            error=error,
            retry_delay_ms=to_ms(retry_delay, "retry_delay"),
            dead_letter=dead_letter,
            release=release,
            queue=self._queue,
        )
        return (await self._call(call)).dead_lettered

    # --- inspecting ------------------------------------------------------------------------

    async def stats(self) -> QueueStats:
        return await self._call(GetStats(queue=self._queue))

    async def list_jobs(
        self,
        status: ListStatus | JobStatus | None = None,
        type: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> JobList:
        """Jobs in queue order, optionally of one status and type, with the queue's counters.

        `status` (a `ListStatus`, or a `JobStatus`) is "unclaimed" (delayed jobs included),
        "in_progress", or "delayed" (unclaimed jobs whose `run_at` is still ahead, read from the
        broker's index of delayed jobs)."""
        call = ListJobs(
            status=None if status is None else str(status),
            type=type,
            offset=offset,
            limit=limit,
            queue=self._queue,
        )
        return await self._call(call)

    async def get_job(self, job_id: JobId) -> JobInfo:
        """One job, unclaimed, in progress or dead-lettered (status "dead_letter", with
        `dead_reason` and `dead_at`); `JobNotFoundError` once it is done or unknown."""
        return await self._call(GetJob(job_id=job_id, queue=self._queue))

    async def dead_letters(self, offset: int = 0, limit: int | None = None) -> DeadLetterList:
        return await self._call(ListDeadLetters(offset=offset, limit=limit, queue=self._queue))

    async def requeue_dead_letters(self, job_ids: DeadLetterSelection) -> int:
        """Put dead letters (these ids, or "all") back on the queue with fresh attempts; returns how many."""
        ids, every = _selection(job_ids)
        return (await self._call(RequeueDeadLetters(job_ids=ids, all=every, queue=self._queue))).count

    async def delete_dead_letters(self, job_ids: DeadLetterSelection) -> int:
        """Drop dead letters (these ids, or "all") for good; returns how many."""
        ids, every = _selection(job_ids)
        return (await self._call(DeleteDeadLetters(job_ids=ids, all=every, queue=self._queue))).count

    # --- raw state -------------------------------------------------------------------------

    @asynccontextmanager
    async def stream_state(self) -> AsyncIterator[AsyncIterator[bytes]]:
        """The queue's raw state (queue.json as last written) from the leader's `GET /state`, in
        chunks as they arrive, without holding it all in memory:

            async with client.stream_state() as chunks:
                async for chunk in chunks:
                    ...

        An HTTP route whatever the transport (the token is sent as for other calls). Opening it
        follows the leader and fails over like a read; a failure once the body flows raises
        `TransportConnectionError` and is not retried."""
        async with AsyncExitStack() as stack:

            def open_state(url: str) -> Awaitable[AsyncIterator[bytes]]:
                opening = self._transport.stream_state(url, self._queue, self._timeout)
                return stack.enter_async_context(opening)

            yield await self._with_failover(open_state, retry_when_ambiguous=True)

    async def state(self) -> bytes:
        """The queue's raw state (queue.json as last written), whole; see `stream_state`."""
        async with self.stream_state() as chunks:
            return b"".join([chunk async for chunk in chunks])

    # --- plumbing --------------------------------------------------------------------------

    def _submit_call(self, spec: JobSpec) -> SubmitJob:
        return SubmitJob(
            payload=self._payloads.encode(spec.type, spec.payload),
            type=spec.type,
            max_attempts=spec.max_attempts,
            delay_ms=to_ms(spec.delay, "delay"),
            priority=spec.priority,
            idempotency_key=spec.idempotency_key or str(uuid.uuid4()),
            queue=self._queue,
        )

    async def _call(self, call: Call[R], timeout: float | None = None) -> R:
        call_timeout = self._timeout if timeout is None else timeout

        def send(url: str) -> Awaitable[R]:
            return self._transport.call(url, call, call_timeout)

        return await self._with_failover(send, retry_when_ambiguous=call.retry_when_ambiguous)

    async def _with_failover(
        self, attempt: Callable[[str], Awaitable[T]], *, retry_when_ambiguous: bool
    ) -> T:
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        give_up_at: float | None = None
        followed_leader = False
        while True:
            self._check_open()
            url: str | None = None
            try:
                url = self._url or await self._discover()
                return await attempt(url)
            except NotLeaderError as exc:
                error: OsqueueError = exc
                leader = self._leader_url(exc.leader) if exc.leader else None
                if leader is None:
                    self._forget(url)
                else:
                    self._url = leader
                    if leader != url and not followed_leader:
                        # Go straight to the leader it names; back off only if that bounces too.
                        followed_leader = True
                        continue
            except (TransportConnectionError, DiscoveryError, EngineStateError) as exc:
                self._check_open()  # closed while the call was in flight
                if isinstance(exc, TransportConnectionError) and not retry_when_ambiguous:
                    raise
                error = exc
                self._forget(url)
            now = loop.time()
            if give_up_at is None:
                give_up_at = now + self._failover_deadline
            if now >= give_up_at:
                if isinstance(error, TransportConnectionError) and self._failover_deadline > 0:
                    raise TransportConnectionError(
                        f"{error.message} (still failing after {self._failover_deadline:g}s of failover)"
                    ) from error
                raise error
            # The last wait is cut short so that one more attempt lands right at the deadline;
            # aclose() ends any wait at once (the loop then raises CLOSED_MESSAGE).
            await self._backoff(min(backoff.next_delay(), give_up_at - now))

    async def _backoff(self, delay: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._closing.wait()

    def _check_open(self) -> None:
        if self._closed:
            raise TransportConnectionError(CLOSED_MESSAGE)

    async def _discover(self) -> str:
        # The URL is only ever unknown when there is storage to discover it from.
        assert self._discovery is not None
        async with self._discovering:
            # Another call may have found the leader while this one waited.
            if self._url is None:
                self._url = self._leader_url(await self._discovery.leader())
            return self._url

    def _forget(self, url: str | None) -> None:
        """After a failure at `url`: rediscover next time, or fall back to the configured URL."""
        if url is not None and self._url == url:
            self._url = None if self._discovery is not None else self._configured_url

    def _leader_url(self, address: str) -> str:
        """The URL of a leader named by storage or by a not-leader answer (untrusted input)."""
        try:
            return _normalize_url(address if "://" in address else f"{self._scheme}://{address}")
        except TransportConfigError as exc:
            raise DiscoveryError(f"the queue names an unusable leader address: {exc.message}") from None


def _normalize_url(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    problem = "expected http://host:port or https://host:port"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        port = -1
    if port == -1 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportConfigError(f"bad broker URL {url[:200]!r}: {problem}")
    if port == 0 or parts.query or parts.fragment:
        raise TransportConfigError(f"bad broker URL {url[:200]!r}: {problem}")
    return url.rstrip("/")


def _make_transport(spec: TransportName | Transport, auth_token: str | None) -> Transport:
    if isinstance(spec, Transport):
        if auth_token is not None:
            raise TransportConfigError("give auth_token to the transport instance, not to the client")
        return spec
    token = auth_token if auth_token is not None else os.environ.get("OSQUEUE_AUTH_TOKEN") or None
    if spec == "connect":
        return ConnectTransport(auth_token=token)
    if spec == "rest":
        return RestTransport(auth_token=token)
    if spec == "ws":
        return WebSocketTransport(auth_token=token)
    raise TransportConfigError(f"unknown transport {spec!r}: expected 'connect', 'rest', 'ws' or a Transport")


def _selection(job_ids: DeadLetterSelection) -> tuple[list[str] | None, bool]:
    if isinstance(job_ids, str):
        if job_ids != "all":
            raise InvalidRequestError('pass a list of job ids or "all"')
        return None, True
    return list(job_ids), False
