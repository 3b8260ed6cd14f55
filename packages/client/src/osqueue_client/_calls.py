"""The operations a transport carries, independent of the wire.

A `Call[R]` is one request to the broker whose answer is an `R`. The client builds calls;
each transport turns them into its wire form (REST route, WebSocket frame, Connect message)
and the answer back into `R`. The field names (camelCase when encoded) are the REST and
WebSocket JSON bodies, so those transports encode a call directly.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar, cast

import msgspec
from osqueue_types import DEFAULT_QUEUE

from ._models import DeadLetterList, JobInfo, JobList, QueueStats

R = TypeVar("R")


class Call(msgspec.Struct, Generic[R], rename="camel", omit_defaults=True, kw_only=True):
    """One request for the broker; `R` is what it answers."""

    # Name of the operation: the WebSocket method; Connect's RPC is the same, capitalised.
    method: ClassVar[str]
    # The Struct the answer decodes into (the `R` of the class).
    reply: ClassVar[type[Any]]
    # Whether the client may send it again after a failure that leaves unknown whether it
    # was applied (a dropped connection). Calls that are not are retried only when the
    # broker said it did not apply them (not the leader, shutting down).
    retry_when_ambiguous: ClassVar[bool] = True
    queue: str = DEFAULT_QUEUE


# --- replies that are not public models ---------------------------------------------------


class SubmittedJob(msgspec.Struct, rename="camel"):
    job_id: str


class SubmittedJobs(msgspec.Struct, rename="camel"):
    job_ids: list[str]


class WireClaimedJob(msgspec.Struct, rename="camel"):
    job_id: str
    payload: msgspec.Raw
    type: str | None
    attempt: int
    max_attempts: int


class ClaimedJobs(msgspec.Struct):
    jobs: list[WireClaimedJob]


class Done(msgspec.Struct):
    """The empty answer of heartbeat and complete."""


class CompletedJobs(msgspec.Struct, rename="camel"):
    """The answer of completeJobs: each requested id in one list, in the order given."""

    completed: list[str]
    not_found: list[str]


class FailOutcome(msgspec.Struct, rename="camel"):
    dead_lettered: bool


class DeadLetterCount(msgspec.Struct):
    count: int


# --- calls -----------------------------------------------------------------------------------


class SubmitJob(Call[SubmittedJob], kw_only=True):
    method = "submitJob"
    reply = SubmittedJob
    payload: msgspec.Raw
    type: str | None = None
    max_attempts: int | None = None
    delay_ms: int | None = None
    priority: int | None = None
    idempotency_key: str | None = None


class SubmitJobs(Call[SubmittedJobs], kw_only=True):
    method = "submitJobs"
    reply = SubmittedJobs
    jobs: list[SubmitJob]


class ClaimJobs(Call[ClaimedJobs], kw_only=True):
    method = "claimJob"
    reply = ClaimedJobs
    worker_id: str
    types: list[str] | None = None
    wait_ms: int | None = None
    # Required, hence always sent: the broker then answers with the `{"jobs": [...]}` shape.
    limit: int


class HeartbeatJob(Call[Done], kw_only=True):
    method = "heartbeat"
    reply = Done
    job_id: str
    worker_id: str


class CompleteJob(Call[Done], kw_only=True):
    method = "completeJob"
    reply = Done
    job_id: str
    worker_id: str


class CompleteJobs(Call[CompletedJobs], kw_only=True):
    method = "completeJobs"
    reply = CompletedJobs
    worker_id: str
    job_ids: list[str]


class FailJob(Call[FailOutcome], kw_only=True):
    method = "failJob"
    reply = FailOutcome
    job_id: str
    worker_id: str
    error: str | None = None
    retry_delay_ms: int | None = None
    dead_letter: bool = False
    release: bool = False


class GetJob(Call[JobInfo], kw_only=True):
    method = "getJob"
    reply = JobInfo
    job_id: str


class GetStats(Call[QueueStats], kw_only=True):
    method = "getStats"
    reply = QueueStats


class ListJobs(Call[JobList], kw_only=True):
    method = "listJobs"
    reply = JobList
    status: str | None = None
    type: str | None = None
    offset: int = 0
    limit: int | None = None


class ListDeadLetters(Call[DeadLetterList], kw_only=True):
    method = "listDeadLetters"
    reply = DeadLetterList
    offset: int = 0
    limit: int | None = None


class RequeueDeadLetters(Call[DeadLetterCount], kw_only=True):
    method = "requeueDeadLetters"
    reply = DeadLetterCount
    # A retry after an ambiguous failure could requeue letters that arrived in between.
    retry_when_ambiguous = False
    job_ids: list[str] | None = None
    all: bool = False


class DeleteDeadLetters(Call[DeadLetterCount], kw_only=True):
    method = "deleteDeadLetters"
    reply = DeadLetterCount
    retry_when_ambiguous = False
    job_ids: list[str] | None = None
    all: bool = False


def reply_type(call: Call[R]) -> type[R]:
    """The Struct a call's answer decodes into."""
    return cast("type[R]", call.reply)
