"""Focused behaviour of the queue state machine."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from msgspec import UNSET
from osqueue_core import ExpiryReport, QueueCounts, QueueStateMachine
from osqueue_types import (
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    DEFAULT_MAX_ATTEMPTS,
    MAX_CLAIM_LIMIT,
    Claim,
    ClaimedJob,
    ClaimResult,
    Complete,
    CompleteMany,
    CompleteManyResult,
    CompleteResult,
    ConfigError,
    DeadLettersResult,
    DeleteDeadLetters,
    Enqueue,
    EnqueueResult,
    Fail,
    FailResult,
    Heartbeat,
    HeartbeatResult,
    InvalidRequestError,
    Job,
    JobNotFoundError,
    JobStatus,
    Mutation,
    NewJob,
    OsqueueError,
    QueueState,
    RegisterBroker,
    RequeueDeadLetters,
)

T0 = 1_706_000_000_000
TIMEOUT = 30_000


def new_machine(idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS) -> QueueStateMachine:
    numbers = itertools.count(1)
    return QueueStateMachine(
        heartbeat_timeout_ms=TIMEOUT,
        idempotency_retention_ms=idempotency_retention_ms,
        id_factory=lambda: f"j{next(numbers)}",
    )


def job(payload: object = None, **fields: Any) -> NewJob:
    return NewJob(payload=msgspec.Raw(json.dumps(payload).encode()), **fields)


def enqueue(queue: QueueStateMachine, *jobs: NewJob, now: int = T0) -> list[str]:
    result = queue.apply(Enqueue(list(jobs)), now)
    assert isinstance(result, EnqueueResult)
    return result.ids


def claim(
    queue: QueueStateMachine,
    worker: str = "w1",
    types: list[str] | None = None,
    limit: int = 1,
    now: int = T0,
) -> list[str]:
    result = queue.apply(Claim(worker, types, limit), now)
    assert isinstance(result, ClaimResult)
    return [claimed.id for claimed in result.jobs]


def rejects(queue: QueueStateMachine, mutation: Mutation, error: type[OsqueueError], now: int = T0) -> str:
    """Apply a mutation that must fail, and check that it left the state untouched."""
    before = queue.encode()
    with pytest.raises(error) as raised:
        queue.apply(mutation, now)
    assert queue.encode() == before
    return raised.value.message


# -- enqueue and claim order ---------------------------------------------------------------


def test_enqueue_creates_unclaimed_jobs() -> None:
    queue = new_machine()
    assert enqueue(queue, job({"to": "a@b.c"}, type="email:send"), job(2, max_attempts=5)) == ["j1", "j2"]
    first = queue.job("j1")
    assert first is not None
    assert (first.status, first.type, first.created_at, first.attempts, first.max_attempts) == (
        JobStatus.UNCLAIMED,
        "email:send",
        T0,
        0,
        DEFAULT_MAX_ATTEMPTS,
    )
    assert bytes(first.payload) == b'{"to": "a@b.c"}'
    assert queue.stats(T0) == QueueCounts(
        total=2, unclaimed=2, delayed=0, in_progress=0, dead_letters=0, completed_total=0
    )


def test_claims_in_fifo_order() -> None:
    queue = new_machine()
    enqueue(queue, *(job(n) for n in range(5)))
    assert [claim(queue) for _ in range(6)] == [["j1"], ["j2"], ["j3"], ["j4"], ["j5"], []]


def test_claim_sets_lease_and_counts_attempt() -> None:
    queue = new_machine()
    enqueue(queue, job("x", type="t", max_attempts=4))
    result = queue.apply(Claim("w1"), T0 + 5)
    assert result == ClaimResult([ClaimedJob("j1", "t", msgspec.Raw(b'"x"'), attempt=1, max_attempts=4)])
    claimed = queue.job("j1")
    assert claimed is not None
    assert (claimed.status, claimed.worker_id, claimed.heartbeat, claimed.attempts) == (
        JobStatus.IN_PROGRESS,
        "w1",
        T0 + 5,
        1,
    )


def test_higher_priority_first_then_fifo() -> None:
    queue = new_machine()
    enqueue(queue, job(1), job(2, priority=5), job(3, priority=-1), job(4, priority=5), job(5))
    assert claim(queue, limit=10) == ["j2", "j4", "j1", "j5", "j3"]


def test_priority_zero_is_not_written() -> None:
    queue = new_machine()
    enqueue(queue, job(1), job(2, priority=2))
    jobs = json.loads(queue.encode())["jobs"]
    assert "priority" not in jobs[0]
    assert jobs[1]["priority"] == 2


def test_type_filter() -> None:
    queue = new_machine()
    enqueue(queue, job(type="a"), job(type="b"), job(), job(type="c"), job(type="a"))
    assert claim(queue, types=["c", "b"], limit=5) == ["j2", "j4"]
    assert claim(queue, types=["missing"]) == []
    assert claim(queue, types=[]) == ["j1"]  # empty filter: any type
    assert claim(queue, types=None) == ["j3"]  # untyped jobs only go to unfiltered claims
    assert claim(queue, types=["a"]) == ["j5"]


def test_type_filter_respects_priority_across_types() -> None:
    queue = new_machine()
    enqueue(queue, job(type="a"), job(type="b", priority=1), job(type="a", priority=2))
    assert claim(queue, types=["a", "b"], limit=3) == ["j3", "j2", "j1"]


def test_batch_claim_takes_up_to_limit() -> None:
    queue = new_machine()
    enqueue(queue, *(job(n) for n in range(5)))
    assert claim(queue, limit=3) == ["j1", "j2", "j3"]
    assert claim(queue, "w2", limit=3) == ["j4", "j5"]


@pytest.mark.parametrize("limit", [0, -1])
def test_claim_limit_must_be_positive(limit: int) -> None:
    queue = new_machine()
    enqueue(queue, job())
    rejects(queue, Claim("w1", limit=limit), InvalidRequestError)


def test_delayed_job_waits_for_run_at() -> None:
    queue = new_machine()
    enqueue(queue, job(1, delay_ms=1_000), job(2))
    assert queue.job("j1") is not None and queue.job("j1").run_at == T0 + 1_000  # type: ignore[union-attr]
    assert queue.next_run_at() == T0 + 1_000
    assert queue.stats(T0).delayed == 1
    assert claim(queue, now=T0 + 999) == ["j2"]
    assert not queue.has_claimable(None, T0 + 999)
    assert claim(queue, now=T0 + 999) == []
    assert queue.has_claimable(None, T0 + 1_000)
    assert queue.stats(T0 + 1_000) == QueueCounts(
        total=2, unclaimed=1, delayed=0, in_progress=1, dead_letters=0, completed_total=0
    )
    assert claim(queue, now=T0 + 1_000) == ["j1"]
    claimed = queue.job("j1")
    assert claimed is not None and claimed.run_at is msgspec.UNSET  # a claim clears runAt
    assert queue.next_run_at() is None


def test_delayed_job_keeps_its_fifo_place_once_due() -> None:
    queue = new_machine()
    enqueue(queue, job(1, delay_ms=10), job(2))
    assert claim(queue, limit=2, now=T0 + 10) == ["j1", "j2"]


def test_has_claimable_with_types() -> None:
    queue = new_machine()
    assert not queue.has_claimable(None, T0)
    enqueue(queue, job(type="a"))
    assert queue.has_claimable(None, T0)
    assert queue.has_claimable(["b", "a"], T0)
    assert not queue.has_claimable(["b"], T0)


def test_enqueue_validates_every_job_before_adding_any() -> None:
    queue = new_machine()
    assert "maxAttempts" in rejects(queue, Enqueue([job(), job(max_attempts=0)]), InvalidRequestError)
    rejects(queue, Enqueue([job(), job(delay_ms=-1)]), InvalidRequestError)
    assert queue.stats(T0).total == 0
    assert enqueue(queue, job()) == ["j1"]  # no id was spent on the rejected batches


# -- heartbeat, complete, fail ---------------------------------------------------------------


def release(job_id: str, worker_id: str) -> Fail:
    return Fail(job_id, worker_id, release=True)


@pytest.mark.parametrize("operation", [Heartbeat, Complete, Fail, release])
def test_job_operations_check_the_holder(operation: Callable[[str, str], Mutation]) -> None:
    queue = new_machine()
    enqueue(queue, job(), job())
    claim(queue, "w1")
    assert "another worker" in rejects(queue, operation("j1", "w2"), JobNotFoundError)
    assert "not in progress" in rejects(queue, operation("j2", "w1"), JobNotFoundError)
    assert "not found" in rejects(queue, operation("nope", "w1"), JobNotFoundError)


def test_heartbeat_refreshes_the_lease() -> None:
    queue = new_machine()
    enqueue(queue, job())
    claim(queue)
    assert queue.apply(Heartbeat("j1", "w1"), T0 + 20_000) == HeartbeatResult()
    assert queue.job("j1").heartbeat == T0 + 20_000  # type: ignore[union-attr]
    assert queue.expire(T0 + 45_000) == ExpiryReport([], [])
    assert queue.expire(T0 + 50_001) == ExpiryReport(["j1"], [])


def test_complete_removes_the_job_and_counts_it() -> None:
    queue = new_machine()
    enqueue(queue, job(), job())
    claim(queue)
    assert queue.apply(Complete("j1", "w1"), T0) == CompleteResult()
    assert queue.job("j1") is None
    assert queue.completed_total == 1
    assert [j.id for j in queue.jobs()] == ["j2"]
    rejects(queue, Complete("j1", "w1"), JobNotFoundError)  # completing twice


def test_complete_many_completes_what_the_worker_holds_and_reports_the_rest() -> None:
    queue = new_machine()
    enqueue(queue, job(), job(), job(), job())
    claim(queue, "w1", limit=2)  # j1, j2
    claim(queue, "w2")  # j3; j4 stays unclaimed
    result = queue.apply(CompleteMany(["j2", "j3", "nope", "j1", "j2", "j4"], "w1"), T0)
    assert result == CompleteManyResult(completed=["j2", "j1"], not_found=["j3", "nope", "j2", "j4"])
    assert queue.completed_total == 2
    assert [j.id for j in queue.jobs()] == ["j3", "j4"]
    assert queue.stats(T0) == QueueCounts(
        total=2, unclaimed=1, delayed=0, in_progress=1, dead_letters=0, completed_total=2
    )
    # The completed leases are gone: nothing of theirs expires later.
    assert queue.expire(T0 + TIMEOUT + 1) == ExpiryReport(["j3"], [])


def test_complete_many_with_nothing_held_still_succeeds() -> None:
    queue = new_machine()
    enqueue(queue, job())
    result = queue.apply(CompleteMany(["j1", "nope"], "w1"), T0)
    assert result == CompleteManyResult(completed=[], not_found=["j1", "nope"])
    assert queue.completed_total == 0


@pytest.mark.parametrize("count", [0, MAX_CLAIM_LIMIT + 1])
def test_complete_many_takes_one_to_the_claim_limit(count: int) -> None:
    queue = new_machine()
    enqueue(queue, job())
    claim(queue)
    ids = ["j1"] * count
    assert "1..1000" in rejects(queue, CompleteMany(ids, "w1"), InvalidRequestError)


def test_complete_many_of_a_whole_claimed_batch() -> None:
    queue = new_machine()
    enqueue(queue, *(job(n) for n in range(MAX_CLAIM_LIMIT)))
    ids = claim(queue, limit=MAX_CLAIM_LIMIT)
    result = queue.apply(CompleteMany(ids, "w1"), T0)
    assert result == CompleteManyResult(completed=ids, not_found=[])
    assert queue.stats(T0).total == 0


def test_fail_retries_in_place() -> None:
    queue = new_machine()
    enqueue(queue, job(1), job(2))
    claim(queue)
    assert queue.apply(Fail("j1", "w1", error="boom"), T0) == FailResult(dead_lettered=False)
    failed = queue.job("j1")
    assert failed is not None
    assert (failed.status, failed.worker_id, failed.heartbeat, failed.attempts, failed.last_error) == (
        JobStatus.UNCLAIMED,
        None,
        None,
        1,
        "boom",
    )
    assert [j.id for j in queue.jobs()] == ["j1", "j2"]  # kept its place, not sent to the tail
    assert claim(queue, limit=2) == ["j1", "j2"]


def test_fail_with_retry_delay() -> None:
    queue = new_machine()
    enqueue(queue, job(1), job(2))
    claim(queue)
    queue.apply(Fail("j1", "w1", retry_delay_ms=5_000), T0 + 100)
    assert queue.job("j1").run_at == T0 + 5_100  # type: ignore[union-attr]
    assert queue.next_run_at() == T0 + 5_100
    assert claim(queue, limit=2, now=T0 + 5_099) == ["j2"]
    assert claim(queue, now=T0 + 5_100) == ["j1"]
    rejects(queue, Fail("j1", "w1", retry_delay_ms=-1), InvalidRequestError, now=T0 + 5_100)


def test_fail_dead_letters_after_the_last_attempt() -> None:
    queue = new_machine()
    enqueue(queue, job(max_attempts=2))
    for attempt in (1, 2):
        assert claim(queue, now=T0 + attempt) == ["j1"]
        result = queue.apply(Fail("j1", "w1", error=f"e{attempt}"), T0 + attempt)
        assert result == FailResult(dead_lettered=attempt == 2)
    assert queue.job("j1") is None
    [dead] = queue.dead_letters()
    assert (dead.job.id, dead.reason, dead.dead_at, dead.job.last_error) == (
        "j1",
        "max attempts reached",
        T0 + 2,
        "e2",
    )
    assert (dead.job.status, dead.job.worker_id, dead.job.attempts) == (JobStatus.UNCLAIMED, None, 2)
    assert "dead-lettered" in rejects(queue, Heartbeat("j1", "w1"), JobNotFoundError)


def test_fail_can_dead_letter_at_once() -> None:
    queue = new_machine()
    enqueue(queue, job())
    claim(queue)
    assert queue.apply(Fail("j1", "w1", "bad payload", dead_letter=True), T0) == FailResult(True)
    assert [d.reason for d in queue.dead_letters()] == ["dead-lettered by worker"]
    assert queue.stats(T0).dead_letters == 1


def test_release_on_the_last_attempt_gives_the_attempt_back() -> None:
    queue = new_machine()
    enqueue(queue, job(max_attempts=1), job())
    assert claim(queue) == ["j1"]
    result = queue.apply(Fail("j1", "w1", "worker shutting down", release=True), T0 + 10)
    assert result == FailResult(dead_lettered=False)
    released = queue.job("j1")
    assert released is not None
    assert (released.status, released.worker_id, released.heartbeat, released.attempts) == (
        JobStatus.UNCLAIMED,
        None,
        None,
        0,
    )
    assert released.last_error == "worker shutting down"
    assert queue.dead_letters() == []
    assert queue.stats(T0 + 10).unclaimed == 2
    assert claim(queue, now=T0 + 10) == ["j1"]  # kept its place, at once
    assert queue.job("j1").attempts == 1  # type: ignore[union-attr]
    assert queue.apply(Fail("j1", "w1"), T0 + 10) == FailResult(dead_lettered=True)  # a real failure


def test_release_keeps_attempts_counted_before_and_honours_a_retry_delay() -> None:
    queue = new_machine()
    enqueue(queue, job(max_attempts=3))
    claim(queue)
    queue.apply(Fail("j1", "w1", "boom"), T0)
    claim(queue)
    assert queue.apply(Fail("j1", "w1", release=True, retry_delay_ms=1_000), T0) == FailResult(False)
    released = queue.job("j1")
    assert released is not None
    assert (released.attempts, released.run_at, released.last_error) == (1, T0 + 1_000, "boom")
    assert claim(queue, now=T0 + 999) == []
    assert claim(queue, now=T0 + 1_000) == ["j1"]


def test_release_never_takes_attempts_below_zero() -> None:
    """A queue.json written by hand (or an older writer) may hold a claimed job at 0 attempts."""
    held = Job(
        id="j1",
        status=JobStatus.IN_PROGRESS,
        payload=msgspec.Raw(b"null"),
        created_at=T0,
        attempts=0,
        max_attempts=1,
        heartbeat=T0,
        worker_id="w1",
    )
    queue = QueueStateMachine(QueueState(jobs=[held]), heartbeat_timeout_ms=TIMEOUT)
    assert queue.apply(Fail("j1", "w1", release=True), T0) == FailResult(dead_lettered=False)
    assert queue.job("j1").attempts == 0  # type: ignore[union-attr]


def test_release_and_dead_letter_together_are_invalid() -> None:
    queue = new_machine()
    enqueue(queue, job())
    claim(queue)
    assert "release" in rejects(queue, Fail("j1", "w1", release=True, dead_letter=True), InvalidRequestError)
    rejects(queue, Fail("nope", "w2", release=True, dead_letter=True), InvalidRequestError)


# -- expiry -----------------------------------------------------------------------------------


def test_expire_requeues_stale_jobs_then_dead_letters_them() -> None:
    queue = new_machine()
    enqueue(queue, job(max_attempts=2), job())
    now = T0
    assert claim(queue, limit=2, now=now) == ["j1", "j2"]
    assert queue.expire(now + TIMEOUT) == ExpiryReport([], [])  # exactly the timeout: still alive
    now += TIMEOUT + 1
    assert queue.expire(now) == ExpiryReport(["j1", "j2"], [])
    requeued = queue.job("j1")
    assert requeued is not None
    assert (requeued.status, requeued.worker_id, requeued.attempts) == (JobStatus.UNCLAIMED, None, 1)
    assert "no heartbeat from worker w1" in str(requeued.last_error)
    assert claim(queue, now=now) == ["j1"]
    assert queue.expire(now + TIMEOUT + 1) == ExpiryReport([], ["j1"])
    [dead] = queue.dead_letters()
    assert (dead.reason, dead.job.id) == ("heartbeat timeout", "j1")
    assert isinstance(dead.job.last_error, str)


def test_expire_reports_in_queue_order_not_lease_order() -> None:
    queue = new_machine()
    enqueue(queue, job(1), job(2))
    claim(queue, limit=2)
    queue.apply(Heartbeat("j1", "w1"), T0 + 10)  # j1's lease is now the younger one
    assert queue.expire(T0 + 10 + TIMEOUT + 1).requeued == ["j1", "j2"]


def test_expire_ignores_completed_and_failed_leases() -> None:
    queue = new_machine()
    enqueue(queue, job(), job())
    claim(queue, limit=2)
    queue.apply(Complete("j1", "w1"), T0)
    queue.apply(Fail("j2", "w1"), T0)
    assert queue.expire(T0 + TIMEOUT + 1) == ExpiryReport([], [])


def test_time_never_goes_backwards() -> None:
    queue = new_machine()
    enqueue(queue, job(), now=T0 + 1_000)
    enqueue(queue, job(), now=T0)
    assert [j.created_at for j in queue.jobs()] == [T0 + 1_000, T0 + 1_000]
    claim(queue, limit=2, now=T0)
    assert queue.expire(T0 + TIMEOUT + 1) == ExpiryReport([], [])  # leases began at T0 + 1_000


# -- idempotency ---------------------------------------------------------------------------


def test_idempotency_key_returns_the_first_job() -> None:
    queue = new_machine()
    assert enqueue(queue, job(1, idempotency_key="k")) == ["j1"]
    assert enqueue(queue, job(2, idempotency_key="k"), job(3)) == ["j1", "j2"]
    assert enqueue(queue, job(4, idempotency_key="x"), job(5, idempotency_key="x")) == ["j3", "j3"]
    assert queue.stats(T0).total == 3
    state = json.loads(queue.encode())
    expires = T0 + DEFAULT_IDEMPOTENCY_RETENTION_MS
    assert state["idempotency"] == [["k", "j1", expires], ["x", "j3", expires]]
    assert state["jobs"][0]["idempotencyKey"] == "k"


def test_idempotency_key_outlives_the_job() -> None:
    queue = new_machine()
    enqueue(queue, job(idempotency_key="k"))
    claim(queue)
    queue.apply(Complete("j1", "w1"), T0)
    assert enqueue(queue, job(idempotency_key="k")) == ["j1"]


def test_idempotency_key_expires() -> None:
    queue = new_machine(idempotency_retention_ms=1_000)
    enqueue(queue, job(idempotency_key="k"), job(idempotency_key="old"))
    assert enqueue(queue, job(idempotency_key="k"), now=T0 + 999) == ["j1"]
    assert enqueue(queue, job(idempotency_key="k"), now=T0 + 1_000) == ["j3"]  # expired, not pruned yet
    assert [r.key for r in queue.to_state().idempotency] == ["old", "k"]  # type: ignore[union-attr]
    queue.expire(T0 + 1_000)
    assert [r.key for r in queue.to_state().idempotency] == ["k"]  # type: ignore[union-attr]
    queue.expire(T0 + 2_000)
    assert "idempotency" not in json.loads(queue.encode())


# -- dead letters ----------------------------------------------------------------------------


def bury(queue: QueueStateMachine, count: int) -> list[str]:
    ids = enqueue(queue, *(job(n) for n in range(count)))
    for job_id in claim(queue, limit=count):
        queue.apply(Fail(job_id, "w1", dead_letter=True), T0)
    return ids


def test_requeue_dead_letters_to_the_tail_with_fresh_attempts() -> None:
    queue = new_machine()
    bury(queue, 2)
    enqueue(queue, job("later"))
    assert queue.apply(RequeueDeadLetters(["j2"]), T0) == DeadLettersResult(1)
    assert [j.id for j in queue.jobs()] == ["j3", "j2"]
    requeued = queue.job("j2")
    assert requeued is not None and (requeued.status, requeued.attempts) == (JobStatus.UNCLAIMED, 0)
    assert [d.job.id for d in queue.dead_letters()] == ["j1"]
    assert queue.apply(RequeueDeadLetters(None), T0) == DeadLettersResult(1)
    assert claim(queue, limit=3) == ["j3", "j2", "j1"]


def test_requeue_dead_letters_checks_every_id_first() -> None:
    queue = new_machine()
    bury(queue, 2)
    assert "nope" in rejects(queue, RequeueDeadLetters(["j1", "nope"]), JobNotFoundError)
    rejects(queue, DeleteDeadLetters(["j1", "nope"]), JobNotFoundError)
    assert queue.stats(T0).dead_letters == 2


def test_delete_dead_letters() -> None:
    queue = new_machine()
    bury(queue, 3)
    assert queue.apply(DeleteDeadLetters(["j2", "j2"]), T0) == DeadLettersResult(1)
    assert [d.job.id for d in queue.dead_letters()] == ["j1", "j3"]
    assert [d.job.id for d in queue.dead_letters(offset=1, limit=5)] == ["j3"]
    assert queue.apply(DeleteDeadLetters(None), T0) == DeadLettersResult(2)
    assert "deadLetters" not in json.loads(queue.encode())


# -- broker fields, reads, files --------------------------------------------------------------


def test_register_broker_and_commit_stamp() -> None:
    queue = new_machine()
    assert (queue.broker, queue.broker_heartbeat, queue.broker_id, queue.commit_seq) == (None, 0, None, 0)
    queue.apply(RegisterBroker("10.0.0.5:8080", "b-1"), T0)
    assert (queue.broker, queue.broker_heartbeat, queue.broker_id) == ("10.0.0.5:8080", T0, "b-1")
    queue.set_commit(7, "b-2")
    assert (queue.commit_seq, queue.broker_id) == (7, "b-2")
    state = json.loads(queue.encode())
    assert (state["commitSeq"], state["brokerId"], state["brokerHeartbeat"]) == (7, "b-2", T0)


def test_jobs_filters_and_pages_in_queue_order() -> None:
    queue = new_machine()
    enqueue(queue, *(job(n, type="even" if n % 2 == 0 else "odd") for n in range(6)))
    claim(queue, types=["odd"], limit=2)
    assert [j.id for j in queue.jobs(offset=2, limit=2)] == ["j3", "j4"]
    assert [j.id for j in queue.jobs(status=JobStatus.IN_PROGRESS)] == ["j2", "j4"]
    assert [j.id for j in queue.jobs(status=JobStatus.UNCLAIMED, type="odd")] == ["j6"]
    assert [j.id for j in queue.jobs(type="even", offset=1)] == ["j3", "j5"]
    with pytest.raises(InvalidRequestError):
        queue.jobs(offset=-1)


def test_delayed_jobs_in_queue_order_from_the_delayed_index() -> None:
    queue = new_machine()
    enqueue(queue, job(0, type="a"), job(1, type="b", delay_ms=9_000), job(2, type="a", delay_ms=1_000))
    enqueue(queue, job(3, type="a", delay_ms=5_000), job(4, type="b"))
    assert claim(queue, limit=2) == ["j1", "j5"]
    # A retry delay makes an in-progress job delayed again, in its old place in the queue.
    queue.apply(Fail("j1", "w1", retry_delay_ms=20_000), T0)
    assert [j.id for j in queue.delayed_jobs(T0)] == ["j1", "j2", "j3", "j4"]
    assert [j.id for j in queue.delayed_jobs(T0, type="a")] == ["j1", "j3", "j4"]
    assert [j.id for j in queue.delayed_jobs(T0, offset=1, limit=2)] == ["j2", "j3"]
    assert [j.id for j in queue.delayed_jobs(T0, type="a", offset=2)] == ["j4"]
    assert queue.delayed_jobs(T0, type="c") == []
    assert queue.delayed_jobs(T0, limit=0) == []
    # Due jobs are no longer delayed (they keep runAt until claimed) and the listing says so.
    assert [j.id for j in queue.delayed_jobs(T0 + 5_000)] == ["j1", "j2"]
    assert queue.stats(T0 + 5_000).delayed == 2
    [first] = queue.delayed_jobs(T0 + 5_000, limit=1)
    assert (first.status, first.run_at, first.last_error) == (JobStatus.UNCLAIMED, T0 + 20_000, UNSET)
    first.attempts = 99  # a copy
    assert queue.job("j1").attempts == 1  # type: ignore[union-attr]
    with pytest.raises(InvalidRequestError):
        queue.delayed_jobs(T0, offset=-1)


def test_one_dead_letter_by_id() -> None:
    queue = new_machine()
    enqueue(queue, job(), job())
    claim(queue)
    queue.apply(Fail("j1", "w1", "bad payload", dead_letter=True), T0 + 7)
    dead = queue.dead_letter("j1")
    assert dead is not None
    assert (dead.job.id, dead.reason, dead.dead_at, dead.job.last_error) == (
        "j1",
        "dead-lettered by worker",
        T0 + 7,
        "bad payload",
    )
    dead.job.attempts = 99  # a copy
    assert queue.dead_letters()[0].job.attempts == 1
    assert queue.dead_letter("j2") is None and queue.dead_letter("nope") is None


def test_reads_return_copies() -> None:
    queue = new_machine()
    enqueue(queue, job())
    queue.jobs()[0].attempts = 99
    queue.job("j1").attempts = 99  # type: ignore[union-attr]
    queue.to_state().jobs[0].attempts = 99
    assert queue.job("j1").attempts == 0  # type: ignore[union-attr]


def test_round_trip_through_bytes() -> None:
    queue = new_machine(idempotency_retention_ms=10_000)
    enqueue(queue, job(1, idempotency_key="k", priority=3), job(2, delay_ms=500), job(3, type="t"), job(4))
    claim(queue, limit=2)
    queue.apply(Fail("j1", "w1", "boom", dead_letter=True), T0)
    queue.apply(RegisterBroker("host:1", "b"), T0)
    queue.set_commit(3, "b")
    data = queue.encode()
    loaded = QueueStateMachine.from_bytes(data, heartbeat_timeout_ms=TIMEOUT)
    assert loaded.encode() == data
    assert loaded.stats(T0) == queue.stats(T0)
    assert enqueue(loaded, job(idempotency_key="k")) == ["j1"]
    assert loaded.next_run_at() == T0 + 500
    assert loaded.expire(T0 + TIMEOUT + 1) == ExpiryReport(["j3"], [])
    assert claim(loaded, limit=5, now=T0 + TIMEOUT + 1) == ["j2", "j3", "j4"]


def test_loads_a_typescript_queue_file() -> None:
    data = json.dumps(
        {
            "broker": "10.0.0.5:8080",
            "brokerHeartbeat": T0,
            "jobs": [
                {"id": "a", "status": "in_progress", "type": "email:send", "payload": {"to": "a@b.c"},
                 "createdAt": T0, "attempts": 1, "maxAttempts": None, "heartbeat": T0, "workerId": "w"},
                {"id": "b", "status": "unclaimed", "payload": [1, 2], "createdAt": T0, "attempts": 0,
                 "maxAttempts": 3, "heartbeat": None, "workerId": None, "someFutureField": True},
            ],
            "completedTotal": 42,
        }
    ).encode()  # fmt: skip
    queue = QueueStateMachine.from_bytes(data)
    assert queue.stats(T0) == QueueCounts(
        total=2, unclaimed=1, delayed=0, in_progress=1, dead_letters=0, completed_total=42
    )
    assert (queue.broker, queue.broker_id, queue.commit_seq) == ("10.0.0.5:8080", None, 0)
    assert queue.apply(Heartbeat("a", "w"), T0 + 1) == HeartbeatResult()
    result = queue.apply(Claim("w2"), T0 + 1)
    assert result == ClaimResult([ClaimedJob("b", None, msgspec.Raw(b"[1, 2]"), 1, 3)])
    written = json.loads(queue.encode())
    assert set(written) == {"broker", "brokerHeartbeat", "jobs", "completedTotal"}
    assert written["jobs"][0]["maxAttempts"] is None  # left as the file had it
    assert written["jobs"][1]["payload"] == [1, 2]


def test_loaded_in_progress_job_without_heartbeat_expires() -> None:
    data = (
        b'{"jobs":[{"id":"a","status":"in_progress","payload":1,"createdAt":1,"attempts":1,'
        b'"maxAttempts":null,"heartbeat":null,"workerId":"w"}]}'
    )
    queue = QueueStateMachine.from_bytes(data)
    assert queue.expire(T0) == ExpiryReport(["a"], [])


def test_corrupt_file_raises_msgspec_errors() -> None:
    with pytest.raises(msgspec.DecodeError):
        QueueStateMachine.from_bytes(b'{"jobs": [')
    with pytest.raises(msgspec.ValidationError):
        QueueStateMachine.from_bytes(b'{"jobs": [{"id": 1}]}')


def test_rejects_unsafe_configuration() -> None:
    with pytest.raises(ConfigError):
        QueueStateMachine(heartbeat_timeout_ms=0)
    with pytest.raises(ConfigError):
        QueueStateMachine(idempotency_retention_ms=-1)


def test_default_ids_are_uuids() -> None:
    queue = QueueStateMachine()
    [job_id] = enqueue(queue, job())
    assert len(job_id) == 36 and job_id.count("-") == 4
