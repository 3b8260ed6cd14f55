"""Request and response bodies of the REST and WebSocket front doors (camelCase JSON).

Bodies are decoded straight into these Structs by pre-built msgspec decoders, so type checks
and range checks happen in C; `payload` stays `msgspec.Raw`, validated as JSON but never
re-encoded. The same Structs generate the OpenAPI document (see `_openapi`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType
from osqueue_types import MAX_CLAIM_LIMIT

_INT32_MAX = 2**31 - 1
# Limits shared with the protobuf messages (int32 fields) and the protocol document.
MaxAttempts = Annotated[int, Meta(ge=1, le=_INT32_MAX)]
# Delays are bounded so that now + delay stays a safe JSON integer and fits int64 fields.
MAX_DELAY_MS = 2**53
NonNegativeMs = Annotated[int, Meta(ge=0, le=MAX_DELAY_MS)]
Priority = Annotated[int, Meta(ge=-_INT32_MAX, le=_INT32_MAX)]
WaitMs = Annotated[int, Meta(ge=0, le=60_000)]
ClaimLimit = Annotated[int, Meta(ge=1, le=MAX_CLAIM_LIMIT)]
WorkerId = Annotated[str, Meta(min_length=1, max_length=256)]
JobId = Annotated[str, Meta(min_length=1, max_length=256)]
# The ids of one claimed batch, at most as many as one claim takes.
JobIds = Annotated[list[JobId], Meta(min_length=1, max_length=MAX_CLAIM_LIMIT)]
MAX_PAGE = _INT32_MAX
Page = Annotated[int, Meta(ge=0, le=MAX_PAGE)]


class _Body(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


# --- requests ---------------------------------------------------------------------------


class SubmitJobBody(_Body):
    payload: msgspec.Raw
    type: str | None = None
    max_attempts: MaxAttempts | None = None
    delay_ms: NonNegativeMs | None = None
    priority: Priority | None = None
    idempotency_key: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    queue: str | None = None


class SubmitJobsBody(_Body):
    jobs: list[SubmitJobBody]
    queue: str | None = None


class ClaimJobBody(_Body):
    worker_id: WorkerId
    types: list[str] | None = None
    wait_ms: WaitMs | None = None
    limit: ClaimLimit | None = None
    queue: str | None = None


class WorkerBody(_Body):
    """Heartbeat and complete over REST (the job id is in the path)."""

    worker_id: WorkerId
    queue: str | None = None


class CompleteJobsBody(_Body):
    """Complete many jobs of one worker in one commit (REST body and WebSocket params)."""

    worker_id: WorkerId
    job_ids: JobIds
    queue: str | None = None


class FailJobBody(_Body):
    worker_id: WorkerId
    error: Annotated[str, Meta(max_length=65_536)] | None = None
    retry_delay_ms: NonNegativeMs | None = None
    dead_letter: bool = False
    release: bool = False  # a worker shutting down: the attempt is not counted
    queue: str | None = None


class DeadLettersBody(_Body):
    job_ids: list[str] | None = None
    all: bool = False
    queue: str | None = None


# WebSocket methods that name a job carry the id in params instead of the path.
class JobWorkerParams(_Body):
    job_id: JobId
    worker_id: WorkerId
    queue: str | None = None


class FailJobParams(FailJobBody, kw_only=True):
    job_id: JobId


class GetJobParams(_Body):
    job_id: JobId
    queue: str | None = None


class ListJobsParams(_Body):
    status: str | None = None
    type: str | None = None
    offset: Page = 0
    limit: Page | None = None
    queue: str | None = None


class ListDeadLettersParams(_Body):
    offset: Page = 0
    limit: Page | None = None
    queue: str | None = None


class QueueParams(_Body):
    queue: str | None = None


# --- responses --------------------------------------------------------------------------


class SubmitJobReply(_Body):
    job_id: str


class SubmitJobsReply(_Body):
    job_ids: list[str]


class ClaimedJobReply(msgspec.Struct, rename="camel"):
    job_id: str
    payload: msgspec.Raw
    type: str | None
    attempt: int
    max_attempts: int


class ClaimJobsReply(_Body):
    jobs: list[ClaimedJobReply]


class NoJobReply(_Body):
    """`{}`: no job to claim (TypeScript shape)."""


class CompleteJobsReply(msgspec.Struct, rename="camel"):
    """Each id in one list, in the order given: completed, or not in progress for the worker."""

    completed: list[str]
    not_found: list[str]


class FailJobReply(msgspec.Struct, rename="camel"):
    dead_lettered: bool


class StatsReply(msgspec.Struct, rename="camel"):
    total: int
    unclaimed: int
    in_progress: int
    completed_total: int
    broker_address: str
    delayed: int
    dead_letters: int
    # When the leader last refreshed its lease (ms since the epoch); additive.
    broker_heartbeat: int


class JobReply(msgspec.Struct, rename="camel", omit_defaults=True):
    id: str
    status: str
    payload: msgspec.Raw
    type: str | None
    worker_id: str | None
    created_at: int
    attempts: int
    max_attempts: int
    # 0 for a job never claimed: the TypeScript client reads it as a BigInt.
    heartbeat: int
    run_at: int | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    last_error: str | UnsetType = UNSET
    # Only for a dead letter read by id (status "dead_letter"): why and when it was dead-lettered.
    dead_reason: str | UnsetType = UNSET
    dead_at: int | UnsetType = UNSET


class ListJobsReply(StatsReply):
    jobs: list[JobReply]


class DeadLetterReply(msgspec.Struct, rename="camel"):
    job: JobReply
    reason: str
    dead_at: int


class DeadLettersReply(msgspec.Struct, rename="camel"):
    dead_letters: list[DeadLetterReply]
    total: int


class CountReply(msgspec.Struct):
    count: int


class HealthReply(msgspec.Struct, rename="camel"):
    status: str
    leader: bool
    broker_address: str
    # Only while this broker leads: when it last refreshed its lease (ms since the epoch).
    broker_heartbeat: int | UnsetType = UNSET


class ErrorReply(msgspec.Struct, omit_defaults=True):
    _tag: str
    message: str
    leader: str | UnsetType | None = UNSET
