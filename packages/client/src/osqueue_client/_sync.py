"""SyncOsqueueClient: the same client for blocking code (scripts, WSGI apps, threads).

It runs an `OsqueueClient` on its own event loop in a background thread and waits for each
call, so all three transports, discovery and failover behave exactly as in the async client.
It may be shared by many threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from osqueue_types import (
    DEFAULT_QUEUE,
    CompleteManyResult,
    JobStatus,
    ListStatus,
    StorageBackend,
    TransportConnectionError,
)

from ._client import (
    CLOSED_MESSAGE,
    DEFAULT_FAILOVER_DEADLINE,
    DEFAULT_TIMEOUT,
    DeadLetterSelection,
    OsqueueClient,
    TransportName,
)
from ._durations import Duration
from ._models import ClaimedJob, DeadLetterList, JobId, JobInfo, JobList, JobSpec, QueueStats
from ._payloads import Registry
from ._transport import Transport

T = TypeVar("T")


class SyncOsqueueClient:
    """Blocking twin of `OsqueueClient`; same arguments, same methods, `close()` instead of `aclose()`.

    The connection is opened lazily on the first call (or by `connect()` / `with`). After
    `close()` every call raises `TransportConnectionError`.
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
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="osqueue-client", daemon=True)
        self._thread.start()
        self._closed = False
        # Orders close() against calls being handed to the loop and against another close().
        self._lock = threading.Lock()

        async def build() -> OsqueueClient:
            # Built on the loop that will use it.
            return OsqueueClient(
                broker_url,
                storage=storage,
                transport=transport,
                registry=registry,
                auth_token=auth_token,
                timeout=timeout,
                queue=queue,
                failover_deadline=failover_deadline,
            )

        try:
            self._client = self._run(build())
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a call of the async client on the background loop and wait for its answer."""
        with self._lock:
            # Under the lock, a call handed to the loop is there before close() cancels what
            # is left on it, so no caller waits for a loop that has stopped.
            if self._closed:
                coroutine.close()
                raise TransportConnectionError(CLOSED_MESSAGE)
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if not self._closed:
                raise
            # close() cancelled the call (e.g. one waiting out its failover backoff).
            raise TransportConnectionError(CLOSED_MESSAGE) from None

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    @property
    def broker_url(self) -> str | None:
        return self._client.broker_url

    @property
    def queue(self) -> str:
        return self._client.queue

    def connect(self) -> None:
        self._run(self._client.connect())

    def reconnect(self) -> None:
        self._run(self._client.reconnect())

    def close(self) -> None:
        """Close the connections and end every call still running: each raises
        `TransportConnectionError`, as every call made afterwards does. Safe from any thread,
        and more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
            finally:
                self._stop_loop()

    async def _shutdown(self) -> None:
        try:
            await self._client.aclose()
        finally:
            # Calls still on the loop (in a backoff, or waiting on a broker) would otherwise
            # never finish once the loop stops; cancelled, they raise in their callers.
            current = asyncio.current_task()
            left = [task for task in asyncio.all_tasks() if task is not current]
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left)

    def __enter__(self) -> Self:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def submit(
        self,
        type: str | None,
        payload: Any,
        *,
        max_attempts: int | None = None,
        delay: Duration | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
    ) -> JobId:
        return self._run(
            self._client.submit(
                type,
                payload,
                max_attempts=max_attempts,
                delay=delay,
                priority=priority,
                idempotency_key=idempotency_key,
            )
        )

    def submit_many(self, jobs: Iterable[JobSpec]) -> list[JobId]:
        return self._run(self._client.submit_many(list(jobs)))

    def claim(
        self,
        worker_id: str,
        types: Sequence[str] | str | None = None,
        *,
        wait: Duration | None = None,
        limit: int = 1,
    ) -> list[ClaimedJob]:
        return self._run(self._client.claim(worker_id, types, wait=wait, limit=limit))

    def heartbeat(self, job_id: JobId, worker_id: str) -> None:
        self._run(self._client.heartbeat(job_id, worker_id))

    def complete(self, job_id: JobId, worker_id: str) -> None:
        self._run(self._client.complete(job_id, worker_id))

    def complete_many(self, job_ids: Sequence[JobId], worker_id: str) -> CompleteManyResult:
        return self._run(self._client.complete_many(list(job_ids), worker_id))

    def fail(
        self,
        job_id: JobId,
        worker_id: str,
        error: str | BaseException | None = None,
        retry_delay: Duration | None = None,
        dead_letter: bool = False,
        release: bool = False,
    ) -> bool:
        return self._run(self._client.fail(job_id, worker_id, error, retry_delay, dead_letter, release))

    def stats(self) -> QueueStats:
        return self._run(self._client.stats())

    def list_jobs(
        self,
        status: ListStatus | JobStatus | None = None,
        type: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> JobList:
        return self._run(self._client.list_jobs(status, type, offset, limit))

    def get_job(self, job_id: JobId) -> JobInfo:
        return self._run(self._client.get_job(job_id))

    def dead_letters(self, offset: int = 0, limit: int | None = None) -> DeadLetterList:
        return self._run(self._client.dead_letters(offset, limit))

    def requeue_dead_letters(self, job_ids: DeadLetterSelection) -> int:
        return self._run(self._client.requeue_dead_letters(job_ids))

    def delete_dead_letters(self, job_ids: DeadLetterSelection) -> int:
        return self._run(self._client.delete_dead_letters(job_ids))

    def state(self) -> bytes:
        """The queue's raw state (queue.json as last written), whole."""
        return self._run(self._client.state())
