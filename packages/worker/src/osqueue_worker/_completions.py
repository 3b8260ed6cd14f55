"""Completions of jobs that finish in the same event-loop turn, sent as one request.

A claim hands the worker a batch of jobs, which often finish together; acknowledging them with
one `complete_many` is one request and one storage commit instead of one per job. Each job
still learns its own outcome: done, `JobNotFoundError` for an id the broker answered in
`not_found` (exactly what `complete` raises for it), or the request's error, on which the
job's report retries (and joins whatever batch is forming then).
"""

from __future__ import annotations

import asyncio
import copy

from osqueue_client import OsqueueClient
from osqueue_types import MAX_CLAIM_LIMIT, JobNotFoundError


class CompletionBatcher:
    def __init__(self, client: OsqueueClient, worker_id: str) -> None:
        self._client = client
        self._worker_id = worker_id
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def complete(self, job_id: str) -> None:
        """Complete one job, in the batch of this loop turn; raises as `client.complete` does."""
        loop = asyncio.get_running_loop()
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush)
        future = self._waiting[job_id] = loop.create_future()
        await future

    async def aclose(self) -> None:
        """Drop what was not sent and cancel requests still in flight (the worker is stopping
        and has cut its jobs' reports short already)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for future in self._waiting.values():
            future.cancel()
        self._waiting = {}
        for task in self._sending:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        self._flush_handle = None
        # A report cancelled before its turn came is not sent.
        waiting = {job_id: future for job_id, future in self._waiting.items() if not future.done()}
        self._waiting = {}
        ids = list(waiting)
        for start in range(0, len(ids), MAX_CLAIM_LIMIT):
            batch = {job_id: waiting[job_id] for job_id in ids[start : start + MAX_CLAIM_LIMIT]}
            task = asyncio.create_task(self._send(batch), name="osqueue-worker-complete")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: dict[str, asyncio.Future[None]]) -> None:
        try:
            result = await self._client.complete_many(list(batch), self._worker_id)
        except asyncio.CancelledError:
            for future in batch.values():
                future.cancel()
            raise
        except Exception as exc:
            for future in batch.values():
                if not future.done():
                    future.set_exception(_own_copy(exc))
            return
        not_found = set(result.not_found)
        for job_id, future in batch.items():
            if future.done():
                continue
            if job_id in not_found:
                future.set_exception(
                    JobNotFoundError(f"job {job_id} is not in progress for worker {self._worker_id}")
                )
            else:
                future.set_result(None)


def _own_copy(error: Exception) -> Exception:
    """A copy for each waiting job: one exception raised in many tasks tangles tracebacks."""
    try:
        return copy.copy(error)
    except Exception:
        return error
