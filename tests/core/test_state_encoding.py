"""queue.json from the chunk-cached encoder equals the reference model's, across many chunks."""

from __future__ import annotations

import itertools
import random

import msgspec
from osqueue_core import QueueStateMachine
from osqueue_types import (
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    Claim,
    Complete,
    Enqueue,
    Fail,
    Heartbeat,
    Mutation,
    NewJob,
    OsqueueError,
    QueueState,
    RequeueDeadLetters,
)

from .reference_model import ReferenceQueue


def test_chunked_encoding_matches_reference_over_thousands_of_jobs() -> None:
    rng = random.Random(7)
    machine = QueueStateMachine(id_factory=map(str, itertools.count()).__next__, heartbeat_timeout_ms=500)
    reference = ReferenceQueue(
        QueueState(),
        id_factory=map(str, itertools.count()).__next__,
        heartbeat_timeout_ms=500,
        idempotency_retention_ms=DEFAULT_IDEMPOTENCY_RETENTION_MS,
    )
    held: list[str] = []
    now = 1_000
    for step in range(200):
        now += rng.randrange(0, 40)
        roll = rng.random()
        mutation: Mutation
        if roll < 0.3:
            count = rng.choice((1, 1, 50, 300))  # large batches span several 256-job chunks
            mutation = Enqueue(
                [NewJob(msgspec.Raw(b'{"n":%d}' % step), max_attempts=2) for _ in range(count)]
            )
        elif roll < 0.55 or not held:
            mutation = Claim("w", limit=rng.choice((1, 20, 200)))
        elif roll < 0.75:
            mutation = Complete(held.pop(rng.randrange(len(held))), "w")
        elif roll < 0.85:
            mutation = Fail(
                held.pop(rng.randrange(len(held))), "w", error="boom", retry_delay_ms=rng.choice((0, 30))
            )
        elif roll < 0.95:
            mutation = Heartbeat(rng.choice(held), "w")
        else:
            mutation = RequeueDeadLetters(None)
        try:
            result = machine.apply(mutation, now)
        except OsqueueError as error:
            expected_error = type(error)
            try:
                reference.apply(mutation, now)
            except OsqueueError as ref_error:
                assert type(ref_error) is expected_error
            else:
                raise AssertionError(f"reference accepted {mutation}") from error
        else:
            assert reference.apply(mutation, now) == result
            if isinstance(mutation, Claim):
                held += [job.id for job in result.jobs]  # type: ignore[union-attr]
        if step % 7 == 0:
            report = machine.expire(now)
            assert reference.expire(now) == report
            gone = set(report.requeued) | set(report.dead_lettered)
            held = [job_id for job_id in held if job_id not in gone]
        assert machine.encode() == reference.encode()  # after every step: nothing stale
    assert machine.encode() == reference.encode()
    assert len(machine.to_state().jobs) > 256
