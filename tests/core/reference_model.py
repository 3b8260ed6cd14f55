"""A deliberately simple model of the queue state machine: plain lists scanned linearly.

It spells out the semantics the indexed `QueueStateMachine` must reproduce exactly (same
results, same errors, same queue.json bytes). No indexes, no cleverness.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import UNSET, UnsetType
from osqueue_core import ExpiryReport, QueueCounts
from osqueue_types import (
    DEFAULT_MAX_ATTEMPTS,
    MAX_CLAIM_LIMIT,
    Claim,
    ClaimedJob,
    ClaimResult,
    Complete,
    CompleteMany,
    CompleteManyResult,
    CompleteResult,
    DeadLetter,
    DeadLettersResult,
    DeleteDeadLetters,
    Enqueue,
    EnqueueResult,
    Fail,
    FailResult,
    Heartbeat,
    HeartbeatResult,
    IdempotencyRecord,
    InvalidRequestError,
    Job,
    JobNotFoundError,
    JobStatus,
    Mutation,
    MutationResult,
    QueueState,
    RegisterBroker,
    RegisterBrokerResult,
    RequeueDeadLetters,
    encode_state,
)


def _max_attempts(job: Job) -> int:
    return job.max_attempts if job.max_attempts is not None else DEFAULT_MAX_ATTEMPTS


def _priority(job: Job) -> int:
    return 0 if isinstance(job.priority, UnsetType) else job.priority


class ReferenceQueue:
    def __init__(
        self,
        state: QueueState,
        *,
        heartbeat_timeout_ms: int,
        idempotency_retention_ms: int,
        id_factory: Callable[[], str],
    ) -> None:
        self.timeout = heartbeat_timeout_ms
        self.retention = idempotency_retention_ms
        self.new_id = id_factory
        self.clock = 0
        self.broker = state.broker
        self.broker_heartbeat = state.broker_heartbeat
        self.broker_id = None if isinstance(state.broker_id, UnsetType) else state.broker_id
        self.commit_seq = state.commit_seq
        self.completed_total = state.completed_total
        self.queue: list[Job] = list(state.jobs)
        self.dead: list[DeadLetter] = [] if isinstance(state.dead_letters, UnsetType) else state.dead_letters
        self.keys: list[IdempotencyRecord] = (
            [] if isinstance(state.idempotency, UnsetType) else state.idempotency
        )

    def tick(self, now: int) -> int:
        self.clock = max(self.clock, now)
        return self.clock

    def find(self, job_id: str) -> Job | None:
        return next((job for job in self.queue if job.id == job_id), None)

    def claimable(self, job: Job, types: list[str] | None, now: int) -> bool:
        return (
            job.status == JobStatus.UNCLAIMED
            and (isinstance(job.run_at, UnsetType) or job.run_at <= now)
            and (not types or job.type in types)
        )

    def held(self, job_id: str, worker_id: str) -> Job:
        job = self.find(job_id)
        if job is None or job.status != JobStatus.IN_PROGRESS or job.worker_id != worker_id:
            raise JobNotFoundError(job_id)
        return job

    def bury(self, job: Job, reason: str, now: int) -> None:
        self.queue.remove(job)
        job.status = JobStatus.UNCLAIMED
        job.worker_id = None
        job.heartbeat = None
        self.dead.append(DeadLetter(job=job, reason=reason, dead_at=now))

    def release(self, job: Job, run_at: int | None) -> None:
        job.status = JobStatus.UNCLAIMED
        job.worker_id = None
        job.heartbeat = None
        if run_at is not None:
            job.run_at = run_at

    def dead_ids(self, job_ids: list[str] | None) -> list[str]:
        known = [dead.job.id for dead in self.dead]
        if job_ids is None:
            return known
        ids = list(dict.fromkeys(job_ids))
        if any(job_id not in known for job_id in ids):
            raise JobNotFoundError("unknown dead letter")
        return ids

    def apply(self, mutation: Mutation, now: int) -> MutationResult:
        now = self.tick(now)
        if isinstance(mutation, Enqueue):
            return self.enqueue(mutation, now)
        if isinstance(mutation, Claim):
            if mutation.limit < 1:
                raise InvalidRequestError("limit")
            ready = [job for job in self.queue if self.claimable(job, mutation.types, now)]
            ready.sort(key=lambda job: (-_priority(job), self.queue.index(job)))
            claimed = []
            for job in ready[: mutation.limit]:
                job.status = JobStatus.IN_PROGRESS
                job.worker_id = mutation.worker_id
                job.heartbeat = now
                job.attempts += 1
                job.run_at = UNSET
                claimed.append(ClaimedJob(job.id, job.type, job.payload, job.attempts, _max_attempts(job)))
            return ClaimResult(claimed)
        if isinstance(mutation, Heartbeat):
            self.held(mutation.job_id, mutation.worker_id).heartbeat = now
            return HeartbeatResult()
        if isinstance(mutation, Complete):
            self.queue.remove(self.held(mutation.job_id, mutation.worker_id))
            self.completed_total += 1
            return CompleteResult()
        if isinstance(mutation, CompleteMany):
            if not 1 <= len(mutation.job_ids) <= MAX_CLAIM_LIMIT:
                raise InvalidRequestError("job ids")
            result = CompleteManyResult(completed=[], not_found=[])
            for job_id in mutation.job_ids:
                try:
                    self.queue.remove(self.held(job_id, mutation.worker_id))
                except JobNotFoundError:
                    result.not_found.append(job_id)
                    continue
                self.completed_total += 1
                result.completed.append(job_id)
            return result
        if isinstance(mutation, Fail):
            if mutation.retry_delay_ms is not None and mutation.retry_delay_ms < 0:
                raise InvalidRequestError("delay")
            if mutation.release and mutation.dead_letter:
                raise InvalidRequestError("release and dead letter")
            job = self.held(mutation.job_id, mutation.worker_id)
            if mutation.error is not None:
                job.last_error = mutation.error
            if mutation.release:
                job.attempts = max(job.attempts - 1, 0)
                self.release(job, now + mutation.retry_delay_ms if mutation.retry_delay_ms else None)
                return FailResult(dead_lettered=False)
            if mutation.dead_letter:
                self.bury(job, "dead-lettered by worker", now)
                return FailResult(dead_lettered=True)
            if job.attempts >= _max_attempts(job):
                self.bury(job, "max attempts reached", now)
                return FailResult(dead_lettered=True)
            self.release(job, now + mutation.retry_delay_ms if mutation.retry_delay_ms else None)
            return FailResult(dead_lettered=False)
        if isinstance(mutation, RegisterBroker):
            self.broker = mutation.address
            self.broker_heartbeat = now
            self.broker_id = mutation.broker_id
            return RegisterBrokerResult()
        if isinstance(mutation, RequeueDeadLetters):
            ids = self.dead_ids(mutation.job_ids)
            for job_id in ids:
                dead = next(dead for dead in self.dead if dead.job.id == job_id)
                self.dead.remove(dead)
                job = dead.job
                job.attempts = 0
                job.run_at = UNSET
                self.queue.append(job)
            return DeadLettersResult(len(ids))
        if isinstance(mutation, DeleteDeadLetters):
            ids = self.dead_ids(mutation.job_ids)
            self.dead = [dead for dead in self.dead if dead.job.id not in ids]
            return DeadLettersResult(len(ids))
        raise AssertionError(mutation)

    def enqueue(self, mutation: Enqueue, now: int) -> EnqueueResult:
        for new in mutation.jobs:
            if (new.max_attempts is not None and new.max_attempts < 1) or (
                new.delay_ms is not None and new.delay_ms < 0
            ):
                raise InvalidRequestError("bad job")
        ids = []
        for new in mutation.jobs:
            key = new.idempotency_key
            known = [record for record in self.keys if record.key == key]
            if key is not None and known and known[0].expires_at > now:
                ids.append(known[0].job_id)
                continue
            job = Job(
                id=self.new_id(),
                status=JobStatus.UNCLAIMED,
                payload=new.payload,
                created_at=now,
                max_attempts=new.max_attempts if new.max_attempts is not None else DEFAULT_MAX_ATTEMPTS,
                type=new.type,
                run_at=now + new.delay_ms if new.delay_ms else UNSET,
                priority=new.priority if new.priority != 0 else UNSET,
                idempotency_key=key if key is not None else UNSET,
            )
            self.queue.append(job)
            if key is not None:
                self.keys = [record for record in self.keys if record.key != key]
                self.keys.append(IdempotencyRecord(key, job.id, now + self.retention))
            ids.append(job.id)
        return EnqueueResult(ids)

    def expire(self, now: int) -> ExpiryReport:
        now = self.tick(now)
        self.keys = [record for record in self.keys if record.expires_at > now]
        report = ExpiryReport(requeued=[], dead_lettered=[])
        for job in list(self.queue):
            if job.status != JobStatus.IN_PROGRESS or (job.heartbeat or 0) + self.timeout >= now:
                continue
            job.last_error = f"no heartbeat from worker {job.worker_id} for {self.timeout} ms"
            if job.attempts >= _max_attempts(job):
                self.bury(job, "heartbeat timeout", now)
                report.dead_lettered.append(job.id)
            else:
                self.release(job, None)
                report.requeued.append(job.id)
        return report

    def encode(self) -> bytes:
        return encode_state(
            QueueState(
                broker=self.broker,
                broker_heartbeat=self.broker_heartbeat,
                jobs=self.queue,
                completed_total=self.completed_total,
                broker_id=self.broker_id if self.broker_id is not None else UNSET,
                commit_seq=self.commit_seq,
                dead_letters=self.dead or UNSET,
                idempotency=self.keys or UNSET,
            )
        )

    def set_commit(self, commit_seq: int, broker_id: str) -> None:
        self.commit_seq = commit_seq
        self.broker_id = broker_id

    def stats(self, now: int) -> QueueCounts:
        now = self.tick(now)
        unclaimed = [job for job in self.queue if job.status == JobStatus.UNCLAIMED]
        ready = [job for job in unclaimed if self.claimable(job, None, now)]
        return QueueCounts(
            total=len(self.queue),
            unclaimed=len(ready),
            delayed=len(unclaimed) - len(ready),
            in_progress=len(self.queue) - len(unclaimed),
            dead_letters=len(self.dead),
            completed_total=self.completed_total,
        )

    def has_claimable(self, types: list[str] | None, now: int) -> bool:
        now = self.tick(now)
        return any(self.claimable(job, types, now) for job in self.queue)

    def next_run_at(self, now: int) -> int | None:
        """Earliest runAt still in the future."""
        times = [
            job.run_at
            for job in self.queue
            if job.status == JobStatus.UNCLAIMED
            and not isinstance(job.run_at, UnsetType)
            and job.run_at > now
        ]
        return min(times, default=None)

    def delayed_jobs(self, now: int, job_type: str | None) -> list[Job]:
        now = self.tick(now)
        return [
            job
            for job in self.queue
            if job.status == JobStatus.UNCLAIMED
            and not self.claimable(job, None, now)
            and (job_type is None or job.type == job_type)
        ]

    def jobs(self, status: JobStatus | None, job_type: str | None) -> list[Job]:
        return [
            job
            for job in self.queue
            if (status is None or job.status == status) and (job_type is None or job.type == job_type)
        ]
