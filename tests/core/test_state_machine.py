"""Random operation sequences: the indexed state machine must match the reference model exactly."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from osqueue_core import QueueStateMachine
from osqueue_types import (
    MAX_CLAIM_LIMIT,
    Claim,
    Complete,
    CompleteMany,
    DeleteDeadLetters,
    Enqueue,
    EnqueueResult,
    Fail,
    Heartbeat,
    JobStatus,
    Mutation,
    NewJob,
    OsqueueError,
    QueueState,
    RegisterBroker,
    RequeueDeadLetters,
)

from .reference_model import ReferenceQueue

TIMEOUT_MS = 1_000
RETENTION_MS = 5_000
START_MS = 1_700_000_000_000
TYPES = ["email", "sms", "pdf"]
WORKERS = ["w1", "w2", "w3"]
TYPE_FILTERS: list[list[str] | None] = [None, [], ["email"], ["sms", "pdf"], ["nope"]]
CLAIM_FILTERS = [None, None, None, *TYPE_FILTERS]

new_jobs = st.builds(
    NewJob,
    payload=st.sampled_from([b"{}", b"1", b'"x"', b'{"to":["a@b.c"]}']).map(msgspec.Raw),
    type=st.sampled_from([None, *TYPES]),
    max_attempts=st.sampled_from([None, None, 1, 2, 3]),
    delay_ms=st.sampled_from([None, None, None, 0, 300, 2_000]),
    priority=st.sampled_from([0, 0, 0, 1, 5, -2]),
    idempotency_key=st.sampled_from([None, None, None, "k1", "k2", "k3"]),
)
invalid_jobs = st.sampled_from(
    [NewJob(msgspec.Raw(b"{}"), max_attempts=0), NewJob(msgspec.Raw(b"{}"), delay_ms=-1)]
)


def counter(prefix: str) -> Callable[[], str]:
    numbers = itertools.count()
    return lambda: f"{prefix}-{next(numbers)}"


class IndexedMatchesReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START_MS
        self.new_id = counter("job")
        self.machine = QueueStateMachine(
            heartbeat_timeout_ms=TIMEOUT_MS, idempotency_retention_ms=RETENTION_MS, id_factory=self.new_id
        )
        self.model = ReferenceQueue(
            QueueState(),
            heartbeat_timeout_ms=TIMEOUT_MS,
            idempotency_retention_ms=RETENTION_MS,
            id_factory=counter("job"),
        )
        self.ids: list[str] = ["missing"]

    def both(self, mutation: Mutation) -> None:
        before = self.machine.encode()
        try:
            expected = self.model.apply(mutation, self.now)
        except OsqueueError as error:
            try:
                self.machine.apply(mutation, self.now)
            except OsqueueError as actual:
                assert type(actual) is type(error)
            else:
                raise AssertionError(f"expected {type(error).__name__}") from None
            assert self.machine.encode() == before, "a failed mutation changed the state"
            return
        result = self.machine.apply(mutation, self.now)
        assert result == expected
        if isinstance(result, EnqueueResult):
            self.ids.extend(job_id for job_id in result.ids if job_id not in self.ids)

    def target(self, data: st.DataObject) -> tuple[str, str]:
        """Mostly a job with its real holder, sometimes any id with any worker."""
        held = [(job.id, job.worker_id or "") for job in self.model.queue if job.worker_id]
        if held and data.draw(st.integers(0, 4)) > 0:
            pair: tuple[str, str] = data.draw(st.sampled_from(held))
            return pair
        return data.draw(st.sampled_from(self.ids)), data.draw(st.sampled_from(WORKERS))

    def dead_ids(self, data: st.DataObject) -> list[str] | None:
        known = [dead.job.id for dead in self.model.dead]
        return data.draw(st.none() | st.lists(st.sampled_from([*known, "missing"]), max_size=3))

    # Rules are switched off at random per run (swarm testing); start every run with work.
    @initialize(jobs=st.lists(new_jobs, min_size=1, max_size=8), worker=st.sampled_from(WORKERS))
    def start(self, jobs: list[NewJob], worker: str) -> None:
        self.both(Enqueue(jobs))
        self.both(Claim(worker, None, 3))

    @rule(jobs=st.lists(new_jobs, min_size=1, max_size=4))
    def enqueue(self, jobs: list[NewJob]) -> None:
        self.both(Enqueue(jobs))

    @rule(jobs=st.lists(new_jobs, max_size=2), bad=invalid_jobs)
    def enqueue_invalid(self, jobs: list[NewJob], bad: NewJob) -> None:
        self.both(Enqueue([*jobs, bad]))

    @rule(
        worker=st.sampled_from(WORKERS),
        types=st.sampled_from(CLAIM_FILTERS),
        limit=st.sampled_from([1, 2, 5]),
    )
    def claim(self, worker: str, types: list[str] | None, limit: int) -> None:
        self.both(Claim(worker, types, limit))

    @rule(worker=st.sampled_from(WORKERS), limit=st.sampled_from([0, -1]))
    def claim_invalid(self, worker: str, limit: int) -> None:
        self.both(Claim(worker, None, limit))

    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        self.both(Heartbeat(*self.target(data)))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        self.both(Complete(*self.target(data)))

    @rule(data=st.data(), worker=st.sampled_from(WORKERS))
    def complete_many(self, data: st.DataObject, worker: str) -> None:
        """Mostly ids this worker holds, mixed with others' ids, unknown ids and repeats."""
        held = [job.id for job in self.model.queue if job.worker_id == worker]
        pool = [*held, *held, *self.ids]
        self.both(CompleteMany(data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6)), worker))

    @rule(worker=st.sampled_from(WORKERS), count=st.sampled_from([0, MAX_CLAIM_LIMIT + 1]))
    def complete_many_invalid(self, worker: str, count: int) -> None:
        self.both(CompleteMany(["missing"] * count, worker))

    @rule(
        data=st.data(),
        error=st.sampled_from([None, "boom"]),
        delay=st.sampled_from([None, None, 0, 500, 3_000, -5]),
        dead_letter=st.sampled_from([False, False, False, True]),
        release=st.sampled_from([False, False, False, True]),
    )
    def fail(
        self, data: st.DataObject, error: str | None, delay: int | None, dead_letter: bool, release: bool
    ) -> None:
        """A release (a worker shutting down) hands the attempt back; with dead_letter it is invalid."""
        job_id, worker = self.target(data)
        self.both(Fail(job_id, worker, error, delay, dead_letter, release))

    @rule(
        address=st.sampled_from(["10.0.0.1:8080", "10.0.0.2:8080"]), broker_id=st.sampled_from([None, "b1"])
    )
    def register_broker(self, address: str, broker_id: str | None) -> None:
        self.both(RegisterBroker(address, broker_id))

    @rule(data=st.data())
    def requeue_dead(self, data: st.DataObject) -> None:
        self.both(RequeueDeadLetters(self.dead_ids(data)))

    @rule(data=st.data())
    def delete_dead(self, data: st.DataObject) -> None:
        self.both(DeleteDeadLetters(self.dead_ids(data)))

    @rule(elapsed=st.sampled_from([0, 1, 300, 999, 1_000, 1_001, 2_500, 5_000, 6_000]), sweep=st.booleans())
    def time_passes(self, elapsed: int, sweep: bool) -> None:
        self.now += elapsed
        if sweep:
            assert self.machine.expire(self.now) == self.model.expire(self.now)

    @rule(seq=st.integers(1, 1_000))
    def commit(self, seq: int) -> None:
        self.machine.set_commit(seq, "b2")
        self.model.set_commit(seq, "b2")

    @rule()
    def reload(self) -> None:
        self.machine = QueueStateMachine.from_bytes(
            self.machine.encode(),
            heartbeat_timeout_ms=TIMEOUT_MS,
            idempotency_retention_ms=RETENTION_MS,
            id_factory=self.new_id,
        )

    @invariant()
    def same_file(self) -> None:
        assert self.machine.encode() == self.model.encode()

    @invariant()
    def same_reads(self) -> None:
        machine, model = self.machine, self.model
        assert machine.stats(self.now) == model.stats(self.now)
        assert machine.next_run_at() == model.next_run_at(self.now)
        for types in TYPE_FILTERS:
            assert machine.has_claimable(types, self.now) == model.has_claimable(types, self.now)
        for status in (None, JobStatus.UNCLAIMED, JobStatus.IN_PROGRESS):
            for job_type in (None, "email"):
                assert machine.jobs(status=status, type=job_type) == model.jobs(status, job_type)
        assert machine.jobs(offset=1, limit=2) == model.queue[1:3]
        for job_type in (None, "email"):
            delayed = model.delayed_jobs(self.now, job_type)
            assert machine.delayed_jobs(self.now, type=job_type) == delayed
            assert machine.delayed_jobs(self.now, type=job_type, offset=1, limit=2) == delayed[1:3]
        assert machine.dead_letters() == model.dead
        for dead in model.dead:
            assert machine.dead_letter(dead.job.id) == dead
        assert [machine.job(job_id) for job_id in self.ids] == [model.find(job_id) for job_id in self.ids]
        assert (machine.broker, machine.broker_heartbeat, machine.broker_id) == (
            model.broker,
            model.broker_heartbeat,
            model.broker_id,
        )
        assert machine.completed_total == model.completed_total


IndexedMatchesReference.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIndexedMatchesReference = IndexedMatchesReference.TestCase
