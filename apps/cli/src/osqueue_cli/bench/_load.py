"""The load itself: producer and worker tasks for each scenario, each on its own connection."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ._connections import QueueConnection, Transport
from ._http import HttpError

Scenario = Literal["pipeline", "submit", "drain", "latency", "backlog", "batch-submit", "batch-claim"]
SCENARIOS: tuple[Scenario, ...] = (
    "pipeline",
    "submit",
    "drain",
    "latency",
    "backlog",
    "batch-submit",
    "batch-claim",
)
# Scenarios that need more than submit/claim/complete one job at a time (long poll, batch APIs).
OSQUEUE_ONLY: frozenset[Scenario] = frozenset({"latency", "batch-submit", "batch-claim"})
# Scenarios whose jobs are submitted (untimed) before the clock starts.
PREFILLED: frozenset[Scenario] = frozenset({"drain", "batch-claim"})

Connector = Callable[[], QueueConnection]

_PAD = "x" * 70  # the payload's JSON is ~100 bytes, like a small real job
_RETRY_PAUSE_S = 0.01
_EMPTY_PAUSE_S = 0.002
_LATENCY_WAIT_MS = 10_000
# Time for the idle worker's claim to reach the broker and park there before the submit.
_LATENCY_SETTLE_S = 0.01
PREFILL_BATCH = 1000
# A task that fails this many requests in a row stops the run: the target is not working.
_GIVE_UP_AFTER = 50


@dataclass(frozen=True)
class LoadPlan:
    scenario: Scenario
    transport: Transport
    jobs: int
    producers: int
    workers: int
    prefill: int
    batch_size: int
    wait_ms: int


@dataclass
class Tally:
    """Counters and latency samples (seconds) of one run, updated by every task."""

    submitted: int = 0
    completed: int = 0
    errors: int = 0
    empty_claims: int = 0
    submit: list[float] = field(default_factory=list)
    claim: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)
    # Latency scenario: from the submit's answer to the waiting worker's claim answer.
    delivery: list[float] = field(default_factory=list)
    # Most jobs submitted in the timed window and not yet completed at once (queue growth).
    peak_queued: int = 0
    last_error: str | None = None
    # Set when a task failed too often in a row: every task stops, the run ends early.
    aborted: bool = False

    def failed(self, exc: BaseException, streak: int) -> int:
        """Count a failed request; return the task's new run of consecutive failures."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if streak + 1 >= _GIVE_UP_AFTER:
            self.aborted = True
        return streak + 1


class _Slots:
    """Jobs still to hand out, so that exactly `n` are submitted or claimed in all."""

    def __init__(self, n: int) -> None:
        self.left = n

    def take(self, want: int = 1) -> int:
        granted = min(want, self.left)
        self.left -= granted
        return granted

    def give_back(self, count: int) -> None:
        self.left += count


_seq = itertools.count()


def _payload() -> bytes:
    return msgspec.json.encode({"seq": next(_seq), "ts": time.time(), "pad": _PAD})


def prefill_count(plan: LoadPlan) -> int:
    return plan.prefill + (plan.jobs if plan.scenario in PREFILLED else 0)


def progress_of(plan: LoadPlan, tally: Tally) -> int:
    """How many of `plan.jobs` are done, for the progress bar."""
    if plan.scenario in ("submit", "batch-submit"):
        return tally.submitted
    return tally.completed


async def prefill(plan: LoadPlan, connect: Connector, tally: Tally) -> None:
    """Submit the untimed backlog (counted in `tally.submitted`)."""
    slots = _Slots(prefill_count(plan))
    if await _batch_submit_works(connect, slots, tally):
        await _gather(4, lambda: _produce_batches(connect, slots, PREFILL_BATCH, tally, record=False))
    else:
        await _gather(32, lambda: _produce(connect, slots, tally, record=False))


async def _batch_submit_works(connect: Connector, slots: _Slots, tally: Tally) -> bool:
    """Submit one job through the batch API; False if the target has no such route."""
    conn = connect()
    try:
        await conn.submit_many([_payload()])
    except HttpError as exc:
        if exc.status in (404, 405):
            return False
        raise
    finally:
        await conn.close()
    slots.take()
    tally.submitted += 1
    return True


async def run(plan: LoadPlan, connect: Connector, tally: Tally) -> None:
    """The timed part of the scenario."""
    slots = _Slots(plan.jobs)
    claims = _Slots(plan.jobs)
    match plan.scenario:
        case "pipeline" | "backlog":
            await asyncio.gather(
                _gather(plan.producers, lambda: _produce(connect, slots, tally)),
                _workers(plan, lambda worker_id: _work(connect, plan, claims, tally, worker_id)),
            )
        case "submit":
            await _gather(plan.producers, lambda: _produce(connect, slots, tally))
        case "drain":
            await _workers(plan, lambda worker_id: _work(connect, plan, claims, tally, worker_id))
        case "batch-submit":
            await _gather(plan.producers, lambda: _produce_batches(connect, slots, plan.batch_size, tally))
        case "batch-claim":
            await _workers(plan, lambda worker_id: _work_batches(connect, plan, claims, tally, worker_id))
        case "latency":
            await _latency(connect, plan.jobs, tally)


async def _gather(count: int, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*(task() for _ in range(count)))


async def _workers(plan: LoadPlan, task: Callable[[str], Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*(task(f"bench-w{i}") for i in range(plan.workers)))


async def _produce(connect: Connector, slots: _Slots, tally: Tally, *, record: bool = True) -> None:
    conn = connect()
    streak = 0
    try:
        while not tally.aborted and slots.take():
            started = time.perf_counter()
            try:
                await conn.submit(_payload())
            except Exception as exc:
                slots.give_back(1)
                streak = tally.failed(exc, streak)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            streak = 0
            if record:
                tally.submit.append(time.perf_counter() - started)
            tally.submitted += 1
            tally.peak_queued = max(tally.peak_queued, tally.submitted - tally.completed)
    finally:
        await conn.close()


async def _produce_batches(
    connect: Connector, slots: _Slots, batch_size: int, tally: Tally, *, record: bool = True
) -> None:
    conn = connect()
    streak = 0
    try:
        while not tally.aborted and (count := slots.take(batch_size)):
            payloads = [_payload() for _ in range(count)]
            started = time.perf_counter()
            try:
                await conn.submit_many(payloads)
            except Exception as exc:
                slots.give_back(count)
                streak = tally.failed(exc, streak)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            streak = 0
            if record:
                tally.submit.append(time.perf_counter() - started)
            tally.submitted += count
            tally.peak_queued = max(tally.peak_queued, tally.submitted - tally.completed)
    finally:
        await conn.close()


async def _work(connect: Connector, plan: LoadPlan, claims: _Slots, tally: Tally, worker_id: str) -> None:
    conn = connect()
    streak = 0
    try:
        while not tally.aborted and claims.take():
            started = time.perf_counter()
            try:
                job_ids = await conn.claim(worker_id, wait_ms=plan.wait_ms, limit=None)
            except Exception as exc:
                claims.give_back(1)
                streak = tally.failed(exc, streak)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            if not job_ids:
                claims.give_back(1)
                tally.empty_claims += 1
                await asyncio.sleep(_EMPTY_PAUSE_S)
                continue
            claimed = time.perf_counter()
            tally.claim.append(claimed - started)
            try:
                await conn.complete(job_ids[0], worker_id)
            except Exception as exc:
                # The job stays in progress until its heartbeat expires; claim another instead.
                claims.give_back(1)
                streak = tally.failed(exc, streak)
                continue
            streak = 0
            tally.complete.append(time.perf_counter() - claimed)
            tally.completed += 1
    finally:
        await conn.close()


async def _work_batches(
    connect: Connector, plan: LoadPlan, claims: _Slots, tally: Tally, worker_id: str
) -> None:
    conn = connect()
    streak = 0
    try:
        while not tally.aborted and (want := claims.take(plan.batch_size)):
            started = time.perf_counter()
            try:
                job_ids = await conn.claim(worker_id, wait_ms=plan.wait_ms, limit=want)
            except Exception as exc:
                claims.give_back(want)
                streak = tally.failed(exc, streak)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            claims.give_back(want - len(job_ids))
            if not job_ids:
                tally.empty_claims += 1
                await asyncio.sleep(_EMPTY_PAUSE_S)
                continue
            claimed = time.perf_counter()
            tally.claim.append(claimed - started)
            try:
                not_completed = await conn.complete_many(job_ids, worker_id)
            except Exception as exc:
                # The jobs stay in progress until their heartbeat expires; claim others instead.
                claims.give_back(len(job_ids))
                streak = tally.failed(exc, streak)
                continue
            tally.complete.append(time.perf_counter() - claimed)
            if not_completed:
                claims.give_back(len(not_completed))
                missing = LookupError(f"{len(not_completed)} of {len(job_ids)} claimed jobs not completed")
                streak = tally.failed(missing, streak)
            else:
                streak = 0
            tally.completed += len(job_ids) - len(not_completed)
    finally:
        await conn.close()


async def _latency(connect: Connector, jobs: int, tally: Tally) -> None:
    """One idle worker waits in a long poll; one producer submits a job at a time."""
    producer, worker = connect(), connect()

    async def claim() -> tuple[list[str], float]:
        job_ids = await worker.claim("bench-latency", wait_ms=_LATENCY_WAIT_MS, limit=None)
        return job_ids, time.perf_counter()

    streak = 0
    try:
        while not tally.aborted and tally.completed < jobs:
            waiting = asyncio.create_task(claim())
            await asyncio.sleep(_LATENCY_SETTLE_S)
            started = time.perf_counter()
            try:
                job_id = await producer.submit(_payload())
                submitted = time.perf_counter()
                job_ids, received = await waiting
                if not job_ids:
                    raise LookupError("the waiting worker got no job: does the target hold claims (waitMs)?")
                await worker.complete(job_ids[0], "bench-latency")
                if job_ids[0] != job_id:
                    raise LookupError(
                        "the waiting worker got an older job: this scenario needs an empty queue"
                    )
            except Exception as exc:
                streak = tally.failed(exc, streak)
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            streak = 0
            tally.submitted += 1
            tally.submit.append(submitted - started)
            tally.delivery.append(received - submitted)
            tally.completed += 1
    finally:
        await producer.close()
        await worker.close()
