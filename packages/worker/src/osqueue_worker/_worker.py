"""The worker loop: claim jobs in batches, run their handlers, heartbeat them, report outcomes.

One claim loop fills every free slot with one long-poll claim (`limit` = free slots), so an
empty queue costs one held request per `claim_wait`, not a poll every few milliseconds.
One heartbeat loop refreshes all running jobs each `heartbeat_interval`. Each job runs in
its own task, which reports the outcome (complete or fail) and retries that report through
broker failovers until it lands; completions of jobs that finish in the same event-loop turn
go to the broker as one `complete_many` request.

A slot is a thread as well as a job: a sync handler's thread cannot be stopped, so when its
job times out (or is lost, or cut short at shutdown) the job is given back at once but the
slot stays taken until the thread returns, and the worker never claims a job it has no
thread to run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from osqueue_client import ClaimedJob, OsqueueClient
from osqueue_types import JobNotFoundError, PayloadValidationError, WorkerExecutionError

from ._completions import CompletionBatcher
from ._context import JobContext
from ._handler import Handler, HandlerFunc
from ._hooks import Hooks, OnClaimed, OnCompleted, OnDeadLetter, OnFailed, call_hook
from ._reporting import FATAL_ERRORS, JobLost, RetryBackoff, report
from ._retry import RetryPolicy

logger = logging.getLogger("osqueue.worker")

# The broker accepts at most this many jobs per claim.
_MAX_CLAIM_LIMIT = 1000
# After the grace period, how long jobs cut short may take to be given back to the broker.
_GIVE_BACK_TIMEOUT = 10.0
_ERROR_TEXT_LIMIT = 4000


@dataclass(eq=False)
class _RunningJob:
    ctx: JobContext
    task: asyncio.Task[None] | None = None
    handler_task: asyncio.Future[Any] | None = None
    # A sync handler's thread: it runs on after handler_task is cancelled, until it returns.
    thread: Future[Any] | None = None
    # Why the worker cut the handler short: "timeout", "lost" or "shutdown".
    abort_reason: str | None = None
    heartbeat_in_flight: bool = False

    @property
    def handler_running(self) -> bool:
        return self.handler_task is None or not self.handler_task.done()

    def abort(self, reason: str) -> None:
        if self.abort_reason is not None or not self.handler_running:
            return
        self.abort_reason = reason
        self.ctx.cancel()
        if self.handler_task is not None:
            self.handler_task.cancel()


class Worker:
    """Runs jobs of the types in `handlers` from the queue `client` talks to.

    `handlers` maps a job type to `fn(payload)` or `fn(payload, ctx)`, async or sync (sync
    handlers run in a thread pool of `concurrency` threads). Times are in seconds.

    A slot is taken by a held job, or by the thread of a sync handler that runs on after its
    job was given back (timed out, lost, or cut short at shutdown): threads cannot be
    stopped, so the worker claims no more jobs than it has free threads.
    """

    def __init__(
        self,
        client: OsqueueClient,
        handlers: Mapping[str, HandlerFunc],
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        heartbeat_interval: float = 5.0,
        job_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        claim_wait: float = 30.0,
        grace_period: float = 30.0,
        on_claimed: OnClaimed | None = None,
        on_completed: OnCompleted | None = None,
        on_failed: OnFailed | None = None,
        on_dead_letter: OnDeadLetter | None = None,
    ) -> None:
        if not handlers:
            raise ValueError("a worker needs at least one handler")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        if job_timeout is not None and job_timeout <= 0:
            raise ValueError("job_timeout must be > 0")
        if claim_wait < 0 or grace_period < 0:
            raise ValueError("claim_wait and grace_period must be >= 0")
        self.client = client
        self.worker_id = worker_id or _default_worker_id()
        self.concurrency = concurrency
        self.heartbeat_interval = heartbeat_interval
        self.job_timeout = job_timeout
        self.retry = retry or RetryPolicy()
        self.claim_wait = claim_wait
        self.grace_period = grace_period
        self.hooks = Hooks(on_claimed, on_completed, on_failed, on_dead_letter)
        self._handlers = {job_type: Handler.from_function(job_type, fn) for job_type, fn in handlers.items()}
        self._jobs: dict[str, _RunningJob] = {}
        # Threads of sync handlers still running for jobs no longer in _jobs: each takes a slot.
        self._lingering: set[Future[Any]] = set()
        self._completions = CompletionBatcher(client, self.worker_id)
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        self._stop_grace: float = grace_period
        self._background: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._fatal: BaseException | None = None

    # --- public surface --------------------------------------------------------------------

    @property
    def job_types(self) -> list[str]:
        return list(self._handlers)

    @property
    def active_jobs(self) -> Mapping[str, JobContext]:
        """Jobs this worker holds right now (claimed, outcome not yet reported), by id.

        A job leaves it once it is given back, even while its sync handler's thread runs on
        (see `lingering_threads`); so `len(active_jobs)` may be below `concurrency` while the
        worker has no free slot."""
        return MappingProxyType({job_id: job.ctx for job_id, job in self._jobs.items()})

    @property
    def lingering_threads(self) -> int:
        """Sync handler threads still running for jobs already given back (timed out, lost or
        cut short at shutdown). Each takes a slot until it returns; the worker claims at most
        `concurrency - len(active_jobs) - lingering_threads` jobs. After a stop it counts the
        last run's threads that still run (a stop does not wait for them); a new run starts
        from 0 with a new thread pool."""
        return sum(1 for thread in self._lingering if not thread.done())

    @property
    def running(self) -> bool:
        return self._running

    async def run(self, *, handle_signals: bool = True) -> None:
        """Work until `stop()` (or SIGINT/SIGTERM when `handle_signals`): the first signal drains
        gracefully within `grace_period`, a second one cuts running jobs short at once."""
        installed = self._install_signal_handlers() if handle_signals else []
        try:
            await self._serve()
        finally:
            loop = asyncio.get_running_loop()
            for sig in installed:
                loop.remove_signal_handler(sig)

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (no signal handling); stop it with `await stop()`."""
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self.run(handle_signals=False), name="osqueue-worker")
        return self._background

    async def stop(self, graceful: bool = True, grace_period: float | None = None) -> None:
        """Stop claiming; let running jobs finish for `grace_period` seconds (0 when not graceful),
        then cut them short and release them: back to the queue at once, the attempt not
        counted (a job on its last attempt is not dead-lettered), no failure hook called."""
        background = self._background
        if background is not None and not background.done():
            self._request_stop(grace_period if graceful else 0.0)
            await asyncio.shield(background)
        elif self._running:
            self._request_stop(grace_period if graceful else 0.0)
            await self._stopped.wait()
        elif background is not None:
            await background  # already ended: surface what ended it

    # --- main loops ------------------------------------------------------------------------

    async def _serve(self) -> None:
        if self._running:
            raise RuntimeError("this worker is already running")
        self._running = True
        self._stopped.clear()
        self._fatal = None
        self._lingering.clear()  # an earlier run's threads hold no slot in this run's pool
        if any(not handler.is_async for handler in self._handlers.values()):
            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="osqueue-worker")
        heartbeats = asyncio.create_task(self._heartbeat_loop(), name="osqueue-worker-heartbeats")
        logger.info(
            "osqueue worker %s started: types %s, concurrency %d",
            self.worker_id,
            self.job_types,
            self.concurrency,
        )
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            heartbeats.cancel()
            await asyncio.gather(heartbeats, return_exceptions=True)
            await self._cancel_all()
            await self._completions.aclose()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            self._running = False
            # Ready to run again; a stop requested before the next run still applies to it.
            self._stopping.clear()
            self._stop_grace = self.grace_period
            self._stopped.set()
            logger.info("osqueue worker %s stopped", self.worker_id)
        if self._fatal is not None:
            raise self._fatal

    async def _claim_loop(self) -> None:
        types = self.job_types
        backoff = RetryBackoff()
        stop_waiter = asyncio.create_task(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                free = self.concurrency - len(self._jobs) - len(self._lingering)
                if free <= 0:
                    self._slot_freed.clear()
                    await _first_of(self._slot_freed.wait(), stop_waiter)
                    continue
                claim = asyncio.create_task(
                    self.client.claim(
                        self.worker_id, types, wait=self.claim_wait, limit=min(free, _MAX_CLAIM_LIMIT)
                    )
                )
                await asyncio.wait({claim, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                if not claim.done():
                    # Stopping: abandon the long poll. A job the broker handed to the dropped
                    # request stays with this worker id until its heartbeat times out.
                    claim.cancel()
                    await asyncio.gather(claim, return_exceptions=True)
                    break
                try:
                    claimed = claim.result()
                except FATAL_ERRORS as exc:
                    logger.error("osqueue worker %s cannot claim: %s", self.worker_id, exc)
                    self._fatal = exc
                    self._request_stop(self._stop_grace)
                    break
                except Exception as exc:
                    delay = backoff.next_delay()
                    logger.warning(
                        "osqueue worker %s: claim failed (%s: %s); retrying in %.2fs",
                        self.worker_id,
                        type(exc).__name__,
                        exc,
                        delay,
                    )
                    await _first_of(asyncio.sleep(delay), stop_waiter)
                    continue
                backoff.reset()
                for job in claimed:
                    self._start_job(job)
        finally:
            stop_waiter.cancel()

    async def _heartbeat_loop(self) -> None:
        # A fixed cadence: a heartbeat stuck in a failover does not delay the other jobs'.
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                await asyncio.sleep(self.heartbeat_interval)
                for job in list(self._jobs.values()):
                    if not job.heartbeat_in_flight:
                        job.heartbeat_in_flight = True
                        task = asyncio.create_task(self._heartbeat(job))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _heartbeat(self, job: _RunningJob) -> None:
        try:
            await self.client.heartbeat(job.ctx.job_id, self.worker_id)
        except JobNotFoundError:
            if job.handler_running:
                logger.warning(
                    "osqueue worker %s: job %s is no longer ours (heartbeat expired); cancelling it",
                    self.worker_id,
                    job.ctx.job_id,
                )
                job.abort("lost")
        except Exception as exc:
            # The next round tries again; the broker's job timeout is several intervals long.
            logger.warning(
                "osqueue worker %s: heartbeat of job %s failed: %s", self.worker_id, job.ctx.job_id, exc
            )
        finally:
            job.heartbeat_in_flight = False

    # --- one job ---------------------------------------------------------------------------

    def _start_job(self, claimed: ClaimedJob) -> None:
        timeout = self.job_timeout
        ctx = JobContext(
            job_id=claimed.id,
            type=claimed.type or "",
            attempt=claimed.attempt,
            max_attempts=claimed.max_attempts,
            worker_id=self.worker_id,
            deadline=None if timeout is None else time.monotonic() + timeout,
        )
        job = _RunningJob(ctx)
        self._jobs[claimed.id] = job
        job.task = asyncio.create_task(self._process(job, claimed), name=f"osqueue-job-{claimed.id}")
        job.task.add_done_callback(lambda _: self._finish(job))

    def _finish(self, job: _RunningJob) -> None:
        if self._jobs.get(job.ctx.job_id) is job:
            del self._jobs[job.ctx.job_id]
        if job.thread is not None and not job.thread.done():
            self._keep_slot_for(job.thread, job.ctx.job_id)
        self._slot_freed.set()

    def _keep_slot_for(self, thread: Future[Any], job_id: str) -> None:
        """The job is given back but its handler's thread runs on: its slot stays taken until
        the thread returns (the done-callback runs in that thread, so it hops to the loop)."""
        logger.warning(
            "osqueue worker %s: the handler thread of job %s is still running; its slot stays "
            "taken until it returns",
            self.worker_id,
            job_id,
        )
        loop = asyncio.get_running_loop()
        self._lingering.add(thread)

        def thread_done(_: Future[Any]) -> None:
            try:
                loop.call_soon_threadsafe(self._free_thread_slot, thread)
            except RuntimeError:
                pass  # the loop is closed: no worker left to free a slot of

        thread.add_done_callback(thread_done)

    def _free_thread_slot(self, thread: Future[Any]) -> None:
        if thread in self._lingering:
            self._lingering.discard(thread)
            self._slot_freed.set()

    async def _process(self, job: _RunningJob, claimed: ClaimedJob) -> None:
        ctx = job.ctx
        await call_hook(self.hooks.on_claimed, ctx)
        handler = self._handlers.get(claimed.type or "")
        if handler is None:
            # Claims name only handled types, so this is a broker bug: let another worker try.
            await self._give_back(job, WorkerExecutionError(f"no handler for job type {claimed.type!r}"))
            return
        try:
            payload = handler.payload_for(claimed)
        except PayloadValidationError as exc:
            logger.warning("osqueue worker %s: job %s dead-lettered: %s", self.worker_id, ctx.job_id, exc)
            await self._give_back(job, exc, dead_letter=True)
            return
        if job.abort_reason == "shutdown":
            # Cut short while its on_claimed hook ran: do not start the handler at all.
            await self._give_back(job, WorkerExecutionError("worker shut down before the job started"))
            return
        job.handler_task, job.thread = handler.start(payload, ctx, self._executor)
        try:
            await asyncio.wait({job.handler_task}, timeout=self.job_timeout)
        except asyncio.CancelledError:
            job.handler_task.cancel()
            raise
        if not job.handler_task.done():
            job.abort("timeout")
        outcome = await asyncio.gather(job.handler_task, return_exceptions=True)
        result: Any = outcome[0]
        if job.abort_reason == "lost":
            return
        if job.abort_reason == "timeout":
            await self._give_back(job, TimeoutError(f"job timed out after {self.job_timeout:g}s"))
        elif job.abort_reason == "shutdown":
            await self._give_back(job, WorkerExecutionError("worker shut down before the job finished"))
        elif isinstance(result, BaseException):
            logger.warning(
                "osqueue worker %s: job %s (%s, attempt %d of %d) failed",
                self.worker_id,
                ctx.job_id,
                ctx.type,
                ctx.attempt,
                ctx.max_attempts,
                exc_info=result,
            )
            await self._give_back(job, result)
        else:
            await self._complete(job, result)

    async def _complete(self, job: _RunningJob, result: Any) -> None:
        ctx = job.ctx
        try:
            await report(f"completing job {ctx.job_id}", lambda: self._completions.complete(ctx.job_id))
        except JobLost as exc:
            logger.warning(
                "osqueue worker %s: could not complete job %s: %s", self.worker_id, ctx.job_id, exc
            )
            return
        except FATAL_ERRORS as exc:
            logger.error("osqueue worker %s: could not complete job %s: %s", self.worker_id, ctx.job_id, exc)
            return
        await call_hook(self.hooks.on_completed, ctx, result)

    async def _give_back(self, job: _RunningJob, error: BaseException, *, dead_letter: bool = False) -> None:
        """Fail the job: another attempt after the retry delay, or the dead letters.

        A job cut short by a shutdown did not fail: it is released (back to the queue at once,
        its attempt not counted, never dead-lettered) with no error, so its last error stays
        that of its last real failure; `error` then only goes to this worker's log, and
        neither on_failed nor on_dead_letter is called.
        """
        ctx = job.ctx
        release = job.abort_reason == "shutdown" and not dead_letter
        text = None if release else f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT]
        delay = None if release else self.retry.delay(ctx.attempt)
        verb, doing = ("release", "releasing") if release else ("fail", "failing")
        try:
            dead_lettered = await report(
                f"{doing} job {ctx.job_id}",
                lambda: self.client.fail(
                    ctx.job_id,
                    self.worker_id,
                    error=text,
                    retry_delay=delay,
                    dead_letter=dead_letter,
                    release=release,
                ),
            )
        except JobLost as exc:
            logger.warning(
                "osqueue worker %s: could not %s job %s: %s", self.worker_id, verb, ctx.job_id, exc
            )
            return
        except FATAL_ERRORS as exc:
            logger.error("osqueue worker %s: could not %s job %s: %s", self.worker_id, verb, ctx.job_id, exc)
            return
        if release:
            logger.info(
                "osqueue worker %s: job %s released to the queue (%s; attempt %d not counted)",
                self.worker_id,
                ctx.job_id,
                error,
                ctx.attempt,
            )
            return
        hook = self.hooks.on_dead_letter if dead_lettered else self.hooks.on_failed
        await call_hook(hook, ctx, error)

    # --- stopping --------------------------------------------------------------------------

    def _request_stop(self, grace_period: float | None) -> None:
        grace = self.grace_period if grace_period is None else grace_period
        if self._stopping.is_set():
            self._stop_grace = min(self._stop_grace, grace)
            if grace == 0:
                self._abort_all()
            return
        self._stop_grace = grace
        self._stopping.set()

    async def _drain(self) -> None:
        """Wait for running jobs up to the grace period, then cut the rest short and give them back."""
        if not self._jobs:
            return
        logger.info(
            "osqueue worker %s: waiting up to %gs for %d running job(s)",
            self.worker_id,
            self._stop_grace,
            len(self._jobs),
        )
        deadline = asyncio.get_running_loop().time() + self._stop_grace
        while self._jobs:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._stop_grace <= 0:
                break
            self._slot_freed.clear()
            try:
                await asyncio.wait_for(self._slot_freed.wait(), timeout=remaining)
            except TimeoutError:
                break
        self._abort_all()
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_GIVE_BACK_TIMEOUT)

    def _abort_all(self) -> None:
        for job in list(self._jobs.values()):
            job.abort("shutdown")

    async def _cancel_all(self) -> None:
        """Last resort: reports that could not land in time are dropped; the broker's job
        heartbeat timeout then hands those jobs out again."""
        tasks = [job.task for job in self._jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            logger.warning(
                "osqueue worker %s: %d job report(s) did not land before exit", self.worker_id, len(tasks)
            )
            await asyncio.gather(*tasks, return_exceptions=True)

    def _install_signal_handlers(self) -> list[signal.Signals]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or a platform without loop signal handlers
            installed.append(sig)
        return installed

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stopping.is_set():
            logger.warning(
                "osqueue worker %s: %s again, cutting running jobs short", self.worker_id, sig.name
            )
            self._request_stop(0.0)
        else:
            logger.warning(
                "osqueue worker %s: %s, finishing running jobs (up to %gs)",
                self.worker_id,
                sig.name,
                self.grace_period,
            )
            self._request_stop(None)


async def _first_of(awaitable: Any, waiter: asyncio.Task[Any]) -> None:
    """Wait for `awaitable` or for `waiter` (left running), whichever comes first."""
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
