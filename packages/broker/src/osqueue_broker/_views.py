"""Domain objects → JSON reply Structs shared by REST and WebSocket."""

from __future__ import annotations

from msgspec import UNSET
from osqueue_core import QueueCounts
from osqueue_types import DEFAULT_MAX_ATTEMPTS, ClaimedJob, DeadLetter, Job, NewJob

from ._wire import (
    ClaimedJobReply,
    DeadLetterReply,
    JobReply,
    ListJobsReply,
    StatsReply,
    SubmitJobBody,
)


def unclaimed(counts: QueueCounts) -> int:
    """`unclaimed` on the wire counts every job waiting for a worker, delayed ones included
    (`delayed` is the part of it not yet due), so `total == unclaimed + inProgress` as before."""
    return counts.unclaimed + counts.delayed


def new_job(body: SubmitJobBody) -> NewJob:
    return NewJob(
        payload=body.payload,
        type=body.type or None,
        max_attempts=body.max_attempts,
        delay_ms=body.delay_ms,
        priority=body.priority or 0,
        idempotency_key=body.idempotency_key,
    )


def claimed_reply(job: ClaimedJob) -> ClaimedJobReply:
    return ClaimedJobReply(
        job_id=job.id, payload=job.payload, type=job.type, attempt=job.attempt, max_attempts=job.max_attempts
    )


def stats_reply(counts: QueueCounts, address: str, heartbeat: int) -> StatsReply:
    return StatsReply(
        total=counts.total,
        unclaimed=unclaimed(counts),
        in_progress=counts.in_progress,
        completed_total=counts.completed_total,
        broker_address=address,
        delayed=counts.delayed,
        dead_letters=counts.dead_letters,
        broker_heartbeat=heartbeat,
    )


def list_reply(counts: QueueCounts, jobs: list[Job], address: str, heartbeat: int) -> ListJobsReply:
    return ListJobsReply(
        total=counts.total,
        unclaimed=unclaimed(counts),
        in_progress=counts.in_progress,
        completed_total=counts.completed_total,
        broker_address=address,
        delayed=counts.delayed,
        dead_letters=counts.dead_letters,
        broker_heartbeat=heartbeat,
        jobs=[job_reply(job) for job in jobs],
    )


def job_reply(job: Job, status: str | None = None, dead: DeadLetter | None = None) -> JobReply:
    return JobReply(
        id=job.id,
        status=status or job.status.value,
        payload=job.payload,
        type=job.type,
        worker_id=job.worker_id,
        created_at=job.created_at,
        attempts=job.attempts,
        max_attempts=job.max_attempts if job.max_attempts is not None else DEFAULT_MAX_ATTEMPTS,
        heartbeat=job.heartbeat or 0,
        run_at=job.run_at,
        priority=job.priority,
        last_error=job.last_error,
        dead_reason=dead.reason if dead is not None else UNSET,
        dead_at=dead.dead_at if dead is not None else UNSET,
    )


def dead_letter_reply(dead: DeadLetter) -> DeadLetterReply:
    return DeadLetterReply(job=job_reply(dead.job), reason=dead.reason, dead_at=dead.dead_at)
