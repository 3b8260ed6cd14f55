"""Mutations a broker applies to the queue state, and their results.

A mutation is one caller's request; the engine applies many in one commit and answers each
with its own result or typed error.
"""

from __future__ import annotations

import msgspec


class NewJob(msgspec.Struct, omit_defaults=True):
    payload: msgspec.Raw
    type: str | None = None
    max_attempts: int | None = None
    delay_ms: int | None = None
    priority: int = 0
    idempotency_key: str | None = None


class Enqueue(msgspec.Struct, tag="enqueue"):
    jobs: list[NewJob]


class Claim(msgspec.Struct, tag="claim"):
    worker_id: str
    types: list[str] | None = None
    limit: int = 1


class Heartbeat(msgspec.Struct, tag="heartbeat"):
    job_id: str
    worker_id: str


class Complete(msgspec.Struct, tag="complete"):
    job_id: str
    worker_id: str


class CompleteMany(msgspec.Struct, tag="complete_many"):
    """Complete several jobs of one worker at once (1..MAX_CLAIM_LIMIT ids).

    Partial success: each id in progress for `worker_id` is completed as `Complete` would;
    every other id (unknown, not in progress, another worker's, a repeat) is reported in
    `CompleteManyResult.not_found`, and never fails the rest.
    """

    job_ids: list[str]
    worker_id: str


class Fail(msgspec.Struct, tag="fail"):
    """Give a job back: retry (now or after a delay) or dead-letter it once attempts run out.

    `release=True` gives it back without counting the attempt (its worker is shutting down,
    which is not the job's fault): it is never dead-lettered, even on its last attempt.
    `release` and `dead_letter` together are an InvalidRequestError.
    """

    job_id: str
    worker_id: str
    error: str | None = None
    retry_delay_ms: int | None = None
    dead_letter: bool = False  # skip remaining attempts (e.g. an undecodable payload)
    release: bool = False  # hand the attempt back; never dead-letter


class RegisterBroker(msgspec.Struct, tag="register_broker"):
    """Refresh (or take) leadership: written through the normal group commit."""

    address: str
    broker_id: str | None = None


class RequeueDeadLetters(msgspec.Struct, tag="requeue_dead"):
    job_ids: list[str] | None = None  # None: all


class DeleteDeadLetters(msgspec.Struct, tag="delete_dead"):
    job_ids: list[str] | None = None  # None: all


Mutation = (
    Enqueue
    | Claim
    | Heartbeat
    | Complete
    | CompleteMany
    | Fail
    | RegisterBroker
    | RequeueDeadLetters
    | DeleteDeadLetters
)


class EnqueueResult(msgspec.Struct):
    ids: list[str]


class ClaimedJob(msgspec.Struct):
    id: str
    type: str | None
    payload: msgspec.Raw
    attempt: int
    max_attempts: int


class ClaimResult(msgspec.Struct):
    jobs: list[ClaimedJob]


class HeartbeatResult(msgspec.Struct):
    pass


class CompleteResult(msgspec.Struct):
    pass


class CompleteManyResult(msgspec.Struct):
    """The ids of a CompleteMany, each in one list, in the order given."""

    completed: list[str]
    not_found: list[str]


class FailResult(msgspec.Struct):
    dead_lettered: bool = False


class RegisterBrokerResult(msgspec.Struct):
    pass


class DeadLettersResult(msgspec.Struct):
    count: int


MutationResult = (
    EnqueueResult
    | ClaimResult
    | HeartbeatResult
    | CompleteResult
    | CompleteManyResult
    | FailResult
    | RegisterBrokerResult
    | DeadLettersResult
)
