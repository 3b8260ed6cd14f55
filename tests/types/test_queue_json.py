"""queue.json stays wire-compatible with the TypeScript osqueue (DESIGN.md section 2).

Each file is decoded with `decode_state` and re-encoded with `encode_state`, with no change in
between: every known key must come back with the same value; unknown keys may be dropped.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import msgspec
from osqueue_types import Job, JobStatus, ListStatus, QueueState, decode_state, encode_state

# Exactly the file of DESIGN.md section 2: the keys the TypeScript osqueue writes, none of the
# additive ones.
TYPESCRIPT_FILE = """
{"broker": "10.0.0.5:8080", "brokerHeartbeat": 1706000000000,
 "jobs": [{"id": "uuid", "status": "unclaimed", "type": "email:send",
           "payload": {"to": "a@b.c"}, "createdAt": 1706000000000, "attempts": 0,
           "maxAttempts": 3, "heartbeat": null, "workerId": null}],
 "completedTotal": 42}
"""

# The same shape with every additive key (top level and job), plus keys no version knows.
UNKNOWN_TOP_LEVEL = {"futureTopLevel": {"nested": [1, 2, 3]}, "x-written-by": "another broker"}
UNKNOWN_IN_JOB = {"futureJobField": "kept or dropped, never a crash", "tags": ["a", "b"]}


def _job(**fields: Any) -> dict[str, Any]:
    return {
        "id": "6f1c2a8e-0000-4000-8000-000000000001",
        "status": "unclaimed",
        "type": "email:send",
        "payload": {"to": "a@b.c", "n": [1, 2.5, None, True], "nested": {"k": "ü €"}},
        "createdAt": 1706000000000,
        "attempts": 0,
        "maxAttempts": 3,
        "heartbeat": None,
        "workerId": None,
        **fields,
    }


def _full_file() -> dict[str, Any]:
    unclaimed = _job(runAt=1706000005000, priority=7, idempotencyKey="order-17", lastError="Timeout")
    in_progress = _job(
        id="6f1c2a8e-0000-4000-8000-000000000002",
        status="in_progress",
        type=None,
        payload=[1, "two"],
        attempts=2,
        maxAttempts=None,
        heartbeat=1706000009000,
        workerId="worker-1",
        runAt=0,
        priority=-1,
        idempotencyKey="k2",
        lastError="ValueError: bad",
    )
    dead = _job(id="6f1c2a8e-0000-4000-8000-000000000003", attempts=3, lastError="boom", priority=0)
    return {
        "broker": "10.0.0.5:8080",
        "brokerHeartbeat": 1706000000000,
        "jobs": [unclaimed, in_progress],
        "completedTotal": 42,
        "brokerId": "b-3f9a",
        "commitSeq": 1234,
        "deadLetters": [{"job": dead, "reason": "max attempts", "deadAt": 1706000010000}],
        "idempotency": [["order-17", unclaimed["id"], 1706086400000]],
    }


def _with_unknown_keys(file: dict[str, Any]) -> dict[str, Any]:
    jobs = [{**job, **UNKNOWN_IN_JOB} for job in file["jobs"]]
    dead_letters = [
        {**dead, "job": {**dead["job"], **UNKNOWN_IN_JOB}, "futureDeadLetterField": 1}
        for dead in file["deadLetters"]
    ]
    return {**file, **UNKNOWN_TOP_LEVEL, "jobs": jobs, "deadLetters": dead_letters}


def _round_trip(data: bytes) -> tuple[QueueState, dict[str, Any]]:
    state = decode_state(data)
    encoded: dict[str, Any] = json.loads(encode_state(state))
    return state, encoded


def test_file_with_every_optional_key_and_unknown_keys_keeps_every_known_field() -> None:
    known = _full_file()
    state, encoded = _round_trip(json.dumps(_with_unknown_keys(known), indent=2).encode())
    assert encoded == known  # nothing known is lost or changed; the unknown keys are not written
    # Decoded into the typed model, not kept as loose data.
    assert state.commit_seq == 1234 and state.broker_id == "b-3f9a"
    first, second = state.jobs
    assert isinstance(first, Job) and first.status is JobStatus.UNCLAIMED
    assert (first.run_at, first.priority, first.idempotency_key, first.last_error) == (
        1706000005000,
        7,
        "order-17",
        "Timeout",
    )
    assert (second.status, second.worker_id, second.heartbeat) == (
        JobStatus.IN_PROGRESS,
        "worker-1",
        1706000009000,
    )
    assert isinstance(state.dead_letters, list) and state.dead_letters[0].job.last_error == "boom"
    assert isinstance(state.idempotency, list) and state.idempotency[0].job_id == first.id


def test_typescript_file_without_optional_keys_round_trips_unchanged() -> None:
    state, encoded = _round_trip(TYPESCRIPT_FILE.encode())
    assert encoded == json.loads(TYPESCRIPT_FILE)  # no additive key appears, none goes missing
    assert state.commit_seq is msgspec.UNSET and state.dead_letters is msgspec.UNSET
    assert state.jobs[0].run_at is msgspec.UNSET


def test_payload_bytes_are_kept_as_written() -> None:
    """The broker forwards payloads without re-encoding them: the file's bytes come back."""
    payload = b'{ "to" : "a@b.c",  "big": 12345678901234567890, "f": 1.50 }'
    data = TYPESCRIPT_FILE.replace('{"to": "a@b.c"}', payload.decode()).encode()
    assert payload in encode_state(decode_state(data))


def test_the_list_statuses_are_the_job_statuses_and_delayed() -> None:
    # In this order: the broker names them so in its error for an unknown one.
    assert get_args(ListStatus) == (*(status.value for status in JobStatus), "delayed")
