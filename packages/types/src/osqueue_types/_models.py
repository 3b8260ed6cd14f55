"""msgspec models of queue.json, camelCase on the wire and compatible with the TypeScript osqueue.

Payloads are kept as `msgspec.Raw` (the job's JSON bytes): the broker never needs to look
inside a payload, so it stores and forwards it without decoding or re-encoding it.
The TypeScript fields are always written (null when empty), as the TypeScript broker expects;
fields beyond that format default to UNSET and are then left out of the file, which keeps
queue.json small. Unknown keys are ignored on read.

Job records hold only strings, ints and Raw bytes, so they can never be part of a reference
cycle: `gc=False` keeps the garbage collector from rescanning 100,000 queued jobs.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType


class JobStatus(enum.StrEnum):
    UNCLAIMED = "unclaimed"
    IN_PROGRESS = "in_progress"


# The status filter of a job listing (broker, client, dashboard, CLI): a `JobStatus` value, or
# "delayed" (unclaimed jobs whose runAt is still ahead; not a status stored in queue.json).
ListStatus = Literal["unclaimed", "in_progress", "delayed"]


class Job(msgspec.Struct, rename="camel", gc=False):
    id: str
    status: JobStatus
    payload: msgspec.Raw
    created_at: int
    attempts: int = 0
    max_attempts: int | None = None
    type: str | None = None
    heartbeat: int | None = None
    worker_id: str | None = None
    # Additive fields (not written by the TypeScript osqueue).
    run_at: int | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    idempotency_key: str | UnsetType = UNSET
    last_error: str | UnsetType = UNSET


class DeadLetter(msgspec.Struct, rename="camel", gc=False):
    """A job that ran out of attempts, kept with its last error until requeued or deleted."""

    job: Job
    reason: str
    dead_at: int


class IdempotencyRecord(msgspec.Struct, rename="camel", array_like=True, gc=False):
    key: str
    job_id: str
    expires_at: int


class QueueState(msgspec.Struct, rename="camel"):
    broker: str | None = None
    broker_heartbeat: int = 0
    jobs: list[Job] = msgspec.field(default_factory=list)
    completed_total: int = 0
    # Additive fields.
    broker_id: str | UnsetType = UNSET
    commit_seq: int | UnsetType = UNSET
    dead_letters: list[DeadLetter] | UnsetType = UNSET
    idempotency: list[IdempotencyRecord] | UnsetType = UNSET


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(QueueState)


def encode_state(state: QueueState) -> bytes:
    return _encoder.encode(state)


def check_utf8(data: bytes) -> None:
    """Raise msgspec.DecodeError for bytes that are not UTF-8.

    msgspec does not validate the bytes it keeps as Raw payloads, and reports bad UTF-8 in a
    string as a bare UnicodeDecodeError; a corrupt file must fail as a DecodeError, up front.
    """
    if not data.isascii():
        try:
            bytes(data).decode()
        except UnicodeDecodeError as exc:
            raise msgspec.DecodeError(f"queue state is not valid UTF-8: {exc}") from None


def decode_state(data: bytes) -> QueueState:
    """Decode queue.json; raises msgspec.ValidationError / DecodeError on a corrupt file."""
    check_utf8(data)
    return _decoder.decode(data)
