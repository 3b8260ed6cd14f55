"""What the client hands back: jobs, claimed jobs, stats, dead letters, and the spec of a new job.

Every transport returns these same objects, so code written against one transport runs
unchanged on another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from osqueue_types import PayloadValidationError

from ._durations import Duration

JobId = str
"""A job id: a UUID string chosen by the broker."""


class QueueStats(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    total: int
    unclaimed: int
    in_progress: int
    completed_total: int
    broker_address: str
    # Unclaimed jobs that are not claimable yet (submitted with a delay or waiting to retry).
    delayed: int = 0
    dead_letters: int = 0
    # When the leader last refreshed its lease (the state's brokerHeartbeat, ms since the
    # epoch); 0 when unknown (a broker that does not report it).
    broker_heartbeat: int = 0


class JobInfo(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """One job as the broker reports it. `payload` is the plain JSON value (no registry decoding)."""

    id: JobId
    # "unclaimed" or "in_progress" (a JobStatus), or "dead_letter" for a job read from the dead letters.
    status: str
    payload: Any
    type: str | None = None
    worker_id: str | None = None
    created_at: int
    attempts: int
    max_attempts: int
    # Milliseconds since the epoch of the last heartbeat; 0 for a job never claimed.
    heartbeat: int = 0
    run_at: int | None = None
    priority: int = 0
    last_error: str | None = None
    # For a dead letter read with `get_job` (status "dead_letter"): why and when (ms since the
    # epoch) it was dead-lettered; None for a job still in the queue.
    dead_reason: str | None = None
    dead_at: int | None = None


class JobList(QueueStats, frozen=True, kw_only=True):
    """A page of jobs together with the queue's counters at the time of the listing."""

    jobs: list[JobInfo]


class DeadLetterInfo(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    job: JobInfo
    reason: str
    dead_at: int


class DeadLetterList(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    dead_letters: list[DeadLetterInfo]
    # Size of the whole dead-letter list, not just this page.
    total: int


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker now holds: heartbeat it while working, then complete or fail it.

    `payload` is decoded at claim time: into the type registered for `type` when the client
    has a registry entry for it, else as plain JSON. When decoding fails, `payload` is None
    and `payload_error` says why; the job stays claimed, so the worker should fail it with
    `dead_letter=True` (retrying cannot fix a payload). `raw_payload` always holds the
    job's JSON bytes as they were stored.
    """

    id: JobId
    type: str | None
    payload: Any
    raw_payload: bytes
    attempt: int
    max_attempts: int
    payload_error: PayloadValidationError | None = None


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job of `submit_many`: the same arguments as `submit`."""

    type: str | None
    payload: Any
    max_attempts: int | None = None
    delay: Duration | None = None
    priority: int | None = None
    idempotency_key: str | None = None
