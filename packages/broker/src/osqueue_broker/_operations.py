"""The queue operations behind all three front doors, on the leader's group-commit engine.

Mutations go through `engine.submit` (answered once durable); reads come from the engine's
cached state machine. A broker that does not lead answers NotLeaderError naming the leader.
"""

from __future__ import annotations

import asyncio
import time
from typing import get_args

from osqueue_core import BrokerElection, CommitInfo, GroupCommitEngine, QueueCounts, QueueStateMachine
from osqueue_types import (
    Claim,
    ClaimedJob,
    ClaimResult,
    Complete,
    CompleteMany,
    CompleteManyResult,
    DeadLetter,
    DeadLettersResult,
    DeleteDeadLetters,
    Enqueue,
    EnqueueResult,
    Fail,
    FailResult,
    Heartbeat,
    InvalidRequestError,
    Job,
    JobNotFoundError,
    JobStatus,
    ListStatus,
    Mutation,
    MutationResult,
    NewJob,
    NotLeaderError,
    RequeueDeadLetters,
    ShuttingDownError,
)

from ._metrics import BrokerMetrics
from ._waiters import ClaimWaiters

# Status shown for a dead-lettered job read by id.
DEAD_LETTER_STATUS = "dead_letter"
# The status filters of a listing, in the order the error for an unknown one names them.
LIST_STATUSES: tuple[ListStatus, ...] = get_args(ListStatus)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _list_status(status: str | None) -> ListStatus | None:
    """The listing filter a request asked for (none when empty); InvalidRequestError if unknown."""
    if not status:
        return None
    for known in LIST_STATUSES:
        if status == known:
            return known
    choices = ", ".join(LIST_STATUSES)
    raise InvalidRequestError(f"status must be one of {choices}; got {status!r}")


class QueueOperations:
    def __init__(self, *, queue: str, max_wait_ms: int, metrics: BrokerMetrics) -> None:
        self.queue = queue
        self.max_wait_ms = max_wait_ms
        self.metrics = metrics
        self.address = ""
        self.election: BrokerElection | None = None
        self._engine: GroupCommitEngine | None = None
        self._closing = False
        self._waiters = ClaimWaiters()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self._past_storage_errors = 0  # of engines from earlier terms
        metrics.bind(self._depth, lambda: self.is_leader, self._storage_errors)

    # -- leadership (called by the election and the server) ------------------------------

    @property
    def is_leader(self) -> bool:
        engine = self._engine
        return engine is not None and engine.is_running and not self._closing

    @property
    def leader(self) -> str | None:
        if self.is_leader:
            return self.address
        return self.election.current_leader() if self.election is not None else None

    @property
    def parked_claims(self) -> int:
        """Long-poll claims waiting for a job right now."""
        return len(self._waiters)

    def on_leader(self, engine: GroupCommitEngine) -> None:
        self._engine = engine
        self._waiters.bind(self._has_claimable, self._claimable_count)
        self._waiters.wake()

    def on_standby(self, _leader: str | None) -> None:
        if self._engine is not None:
            self._past_storage_errors += self._engine.stats.storage_errors
        self._engine = None
        self._waiters.unbind()
        self._waiters.wake_all()

    def on_commit(self, info: CommitInfo) -> None:
        m = self.metrics
        m.commit_latency.observe((info.encode_ms + info.write_ms) / 1000)
        m.commit_batch_size.observe(info.mutations)
        expired = info.requeued + info.dead_lettered
        if expired:
            m.jobs_expired.inc(expired)
        if info.new_work:
            self._waiters.wake()
        if len(self._waiters):
            # The commit may have added a delayed job (a submit or a fail with a retry delay)
            # that falls due before anything else would wake the parked claims.
            self._schedule_delayed_wake()

    def begin_shutdown(self) -> None:
        """Refuse new requests and answer parked claims, before the engine's last commit."""
        self._closing = True
        self._waiters.wake_all()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def check_queue(self, queue: str | None) -> None:
        if queue and queue != self.queue:
            raise InvalidRequestError(f"this broker serves queue {self.queue!r}, not {queue!r}")

    # -- mutations ------------------------------------------------------------------------

    async def submit(self, jobs: list[NewJob]) -> list[str]:
        if not jobs:
            self._leader_engine()
            return []
        result = await self._submit(Enqueue(jobs))
        assert isinstance(result, EnqueueResult)
        self.metrics.jobs_submitted.inc(len(jobs))
        return result.ids

    async def claim(
        self,
        worker_id: str,
        types: list[str] | None,
        *,
        limit: int = 1,
        wait_ms: int = 0,
        gone: asyncio.Future[object] | None = None,
    ) -> list[ClaimedJob]:
        """Claim up to `limit` jobs; with `wait_ms`, park until one is claimable or time is up.

        `gone` resolves when the caller disconnected: a parked claim then ends without
        claiming anything (a job claimed for nobody would sit out its lease).
        """
        claim = Claim(worker_id=worker_id, types=types or None, limit=limit)
        wait_ms = min(wait_ms, self.max_wait_ms)
        if wait_ms <= 0:
            return await self._claim_now(claim)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_ms / 1000
        waiters = self._waiters
        waiter = None
        jobs: list[ClaimedJob] = []
        try:
            while True:
                self._leader_engine()
                # Parked before claiming: a commit landing meanwhile cannot be missed.
                waiter = waiters.park(claim.types)
                jobs = await self._claim_now(claim)
                remaining = deadline - loop.time()
                if jobs or remaining <= 0:
                    return jobs
                self._schedule_delayed_wake()
                if not waiter.future.done():
                    waits: set[asyncio.Future[object] | asyncio.Future[None]] = {waiter.future}
                    if gone is not None:
                        waits.add(gone)
                    await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                    if not waiter.future.done() or (gone is not None and gone.done()):
                        return jobs  # timed out or the caller left (a woken turn passes on)
        finally:
            if waiter is not None:
                waiters.leave(waiter, claimed=bool(jobs))

    async def heartbeat(self, job_id: str, worker_id: str) -> None:
        await self._submit(Heartbeat(job_id=job_id, worker_id=worker_id))

    async def complete(self, job_id: str, worker_id: str) -> None:
        await self._submit(Complete(job_id=job_id, worker_id=worker_id))
        self.metrics.jobs_completed.inc()

    async def complete_many(self, job_ids: list[str], worker_id: str) -> CompleteManyResult:
        """Complete the jobs this worker holds; the other ids come back in `not_found`."""
        result = await self._submit(CompleteMany(job_ids=job_ids, worker_id=worker_id))
        assert isinstance(result, CompleteManyResult)
        if result.completed:
            self.metrics.jobs_completed.inc(len(result.completed))
        return result

    async def fail(
        self,
        job_id: str,
        worker_id: str,
        *,
        error: str | None = None,
        retry_delay_ms: int | None = None,
        dead_letter: bool = False,
        release: bool = False,
    ) -> bool:
        """Give a job back; True when it went to the dead letters.

        `release=True` does not count the attempt (nor the job as failed in the metrics).
        """
        result = await self._submit(
            Fail(
                job_id=job_id,
                worker_id=worker_id,
                error=error,
                retry_delay_ms=retry_delay_ms,
                dead_letter=dead_letter,
                release=release,
            )
        )
        assert isinstance(result, FailResult)
        if not release:
            self.metrics.jobs_failed.inc()
        return result.dead_lettered

    async def requeue_dead_letters(self, job_ids: list[str] | None) -> int:
        result = await self._submit(RequeueDeadLetters(job_ids=job_ids))
        assert isinstance(result, DeadLettersResult)
        return result.count

    async def delete_dead_letters(self, job_ids: list[str] | None) -> int:
        result = await self._submit(DeleteDeadLetters(job_ids=job_ids))
        assert isinstance(result, DeadLettersResult)
        return result.count

    # -- reads (from the leader's cached state) -------------------------------------------

    def stats(self) -> QueueCounts:
        return self._machine().stats(_now_ms())

    def broker_heartbeat(self) -> int:
        """brokerHeartbeat of the lease this broker holds: when it last refreshed it (ms)."""
        return self._machine().broker_heartbeat

    def list_jobs(
        self, *, status: str | None, type: str | None, offset: int, limit: int | None
    ) -> tuple[QueueCounts, list[Job]]:
        """A page of jobs in queue order; `status` "delayed" reads the delayed index only."""
        wanted = _list_status(status)
        machine = self._machine()
        now = _now_ms()
        counts = machine.stats(now)
        if wanted == "delayed":
            return counts, machine.delayed_jobs(now, type=type or None, offset=offset, limit=limit)
        stored = JobStatus(wanted) if wanted else None
        return counts, machine.jobs(status=stored, type=type or None, offset=offset, limit=limit)

    def get_job(self, job_id: str) -> tuple[Job, str, DeadLetter | None]:
        """The job, the status to show, and for a dead letter its record (reason, time)."""
        machine = self._machine()
        job = machine.job(job_id)
        if job is not None:
            return job, job.status.value, None
        dead = machine.dead_letter(job_id)
        if dead is not None:
            return dead.job, DEAD_LETTER_STATUS, dead
        raise JobNotFoundError(f"no job {job_id}")

    def dead_letters(self, offset: int, limit: int | None) -> tuple[list[DeadLetter], int]:
        machine = self._machine()
        return machine.dead_letters(offset, limit), machine.stats(_now_ms()).dead_letters

    def state_bytes(self) -> bytes:
        """queue.json as last written: no encoding needed."""
        return self._leader_engine().state_bytes()

    # -- internals ------------------------------------------------------------------------

    def _leader_engine(self) -> GroupCommitEngine:
        if self._closing:
            raise ShuttingDownError("this broker is shutting down")
        engine = self._engine
        if engine is None or not engine.is_running:
            if self.election is not None:
                raise self.election.not_leader_error()
            raise NotLeaderError("this broker does not lead its queue", leader=None)
        return engine

    def _machine(self) -> QueueStateMachine:
        return self._leader_engine().machine

    async def _submit(self, mutation: Mutation) -> MutationResult:
        return await self._leader_engine().submit(mutation)

    async def _claim_now(self, claim: Claim) -> list[ClaimedJob]:
        result = await self._submit(claim)
        assert isinstance(result, ClaimResult)
        if result.jobs:
            self.metrics.jobs_claimed.inc(len(result.jobs))
        return result.jobs

    def _has_claimable(self, types: list[str] | None) -> bool:
        engine = self._engine
        return engine is not None and engine.machine.has_claimable(types, _now_ms())

    def _claimable_count(self) -> int:
        engine = self._engine
        return engine.machine.stats(_now_ms()).unclaimed if engine is not None else 0

    def _depth(self, status: str) -> float:
        engine = self._engine
        if engine is None or not engine.is_running:
            return 0.0
        c = engine.machine.stats(_now_ms())
        by_status = {"ready": c.unclaimed, "delayed": c.delayed, "in_progress": c.in_progress}
        return float(by_status.get(status, c.dead_letters))

    def _storage_errors(self) -> float:
        engine = self._engine
        current = engine.stats.storage_errors if engine is not None else 0
        return float(self._past_storage_errors + current)

    def _schedule_delayed_wake(self) -> None:
        """Delayed jobs become claimable without a commit: wake parked claims at their runAt."""
        engine = self._engine
        if engine is None:
            return
        run_at = engine.machine.next_run_at()
        if run_at is None or (self._timer is not None and self._timer_at <= run_at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = run_at
        delay_s = max(0.0, (run_at - _now_ms()) / 1000) + 0.001
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._waiters.wake()
        if len(self._waiters):
            self._schedule_delayed_wake()
