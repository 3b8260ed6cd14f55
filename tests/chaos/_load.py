"""Producers and workers that keep a ledger of what the queue promised and what it delivered.

A producer records each job id the broker acknowledged, with the payload's sequence number and
the time of the acknowledgement. Workers record every handler run (job id, attempt, payload)
and whether the worker cut it short. `Ledger.verdict` then tells, from the test's side alone,
whether a job was lost, submitted twice, or delivered again without a genuine redelivery.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from osqueue_client import JobSpec, OsqueueClient, QueueStats
from osqueue_storage import open_storage
from osqueue_types import QUEUE_STATE_KEY, QueueState, decode_state
from osqueue_worker import JobContext, Worker

from ..e2e._ledger import repeats_a_claim, watching

JOB_TYPE = "chaos"


@dataclass
class Run:
    attempt: int
    at: float  # monotonic, when the handler started
    cut_short_at: float | None = None  # when the worker cut it short (see HandlerRun)


@dataclass
class Ledger:
    # job id -> (producer, sequence number), for every acknowledged submit
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)
    # (acknowledged at, seconds from sending the submit to its acknowledgement), one per job
    ack_latencies: list[tuple[float, float]] = field(default_factory=list)
    # (ran at, seconds from sending the submit to the handler's start), one per run
    run_latencies: list[tuple[float, float]] = field(default_factory=list)
    submit_errors: Counter[str] = field(default_factory=Counter)
    # job id -> its handler runs, in the order they started
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    run_payloads: dict[str, tuple[int, int]] = field(default_factory=dict)
    completion_acks: int = 0

    def record_ack(self, job_id: str, producer: int, seq: int, sent: float) -> None:
        now = time.monotonic()
        self.acked[job_id] = (producer, seq)
        self.ack_latencies.append((now, now - sent))

    @contextmanager
    def running(self, ctx: JobContext, payload: Any) -> Iterator[None]:
        """Record a handler run around its body, and whether the worker cut it short."""
        now = time.monotonic()
        run = Run(ctx.attempt, now)
        self.runs[ctx.job_id].append(run)
        self.run_payloads[ctx.job_id] = (int(payload["p"]), int(payload["n"]))
        self.run_latencies.append((now, now - float(payload["t"])))
        with watching(run, ctx):
            yield

    def all_acked_ran(self) -> bool:
        return all(job_id in self.runs for job_id in self.acked)

    def verdict(self) -> Verdict:
        never_ran = sorted(job_id for job_id in self.acked if job_id not in self.runs)
        # One logical submit (producer, seq) must map to one job, acknowledged or not.
        by_payload: dict[tuple[int, int], set[str]] = defaultdict(set)
        for job_id, key in [*self.acked.items(), *self.run_payloads.items()]:
            by_payload[key].add(job_id)
        duplicated_submits = {key: sorted(ids) for key, ids in by_payload.items() if len(ids) > 1}
        extra_runs = {job_id: runs for job_id, runs in self.runs.items() if len(runs) > 1}
        # A genuine redelivery comes with a new attempt number (the broker handed the job out
        # again), or repeats the number of a run its worker cut short and released at shutdown.
        # Any other repeat of an attempt number would be a double delivery of one claim.
        same_attempt_twice = {
            job_id: [run.attempt for run in runs]
            for job_id, runs in extra_runs.items()
            if repeats_a_claim(runs)
        }
        return Verdict(
            acknowledged=len(self.acked),
            jobs_run=len(self.runs),
            runs=sum(len(runs) for runs in self.runs.values()),
            unacknowledged_but_ran=len(set(self.runs) - set(self.acked)),
            never_ran=never_ran,
            duplicated_submits=duplicated_submits,
            redelivered=len(extra_runs),
            same_attempt_twice=same_attempt_twice,
            submit_errors=dict(self.submit_errors),
        )


@dataclass(frozen=True)
class Verdict:
    acknowledged: int
    jobs_run: int
    runs: int
    unacknowledged_but_ran: int
    never_ran: list[str]
    duplicated_submits: dict[tuple[int, int], list[str]]
    redelivered: int  # jobs whose handler ran more than once
    same_attempt_twice: dict[str, list[int]]
    submit_errors: dict[str, int]

    def summary(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "jobs_run": self.jobs_run,
            "handler_runs": self.runs,
            "duplicate_runs": self.runs - self.jobs_run,
            "redelivered_jobs": self.redelivered,
            "unacknowledged_but_ran": self.unacknowledged_but_ran,
            "lost": len(self.never_ran),
            "duplicated_submits": len(self.duplicated_submits),
            "same_attempt_twice": len(self.same_attempt_twice),
            "submit_errors": self.submit_errors,
        }


async def produce(
    client: OsqueueClient,
    ledger: Ledger,
    *,
    producer: int,
    count: int,
    rate: float,
    batch: int = 1,
    concurrency: int = 8,
) -> None:
    """Submit `count` jobs at about `rate` jobs/s, `batch` per request, `concurrency` requests in flight.

    A submit that fails for good is counted by error class and not retried here: the client
    already retried it through failovers, and its job may or may not exist.
    """
    slots = asyncio.Semaphore(concurrency)
    started = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()

    async def send(first: int, size: int) -> None:
        # The payload carries the send time (this process's monotonic clock) for end-to-end latency.
        sent = time.monotonic()
        try:
            payloads = [{"p": producer, "n": n, "t": sent} for n in range(first, first + size)]
            specs = [JobSpec(JOB_TYPE, payload) for payload in payloads]
            if size == 1:
                ids = [await client.submit(specs[0].type, specs[0].payload)]
            else:
                ids = await client.submit_many(specs)
        except Exception as exc:
            ledger.submit_errors[type(exc).__name__] += size
        else:
            for offset, job_id in enumerate(ids):
                ledger.record_ack(job_id, producer, first + offset, sent)
        finally:
            slots.release()

    for first in range(0, count, batch):
        # Pace the start of each request; a slow broker slows the producer down by itself.
        await asyncio.sleep(max(0.0, started + first / rate - time.monotonic()))
        await slots.acquire()
        task = asyncio.create_task(send(first, min(batch, count - first)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)


def chaos_worker(client: OsqueueClient, ledger: Ledger, *, name: str, concurrency: int) -> Worker:
    """A worker whose handler only records that it ran."""

    async def handle(payload: Any, ctx: JobContext) -> None:
        with ledger.running(ctx, payload):
            pass  # no await: a shutdown can cut the job short only before the run starts

    def completed(ctx: JobContext, result: Any) -> None:
        ledger.completion_acks += 1

    return Worker(
        client,
        {JOB_TYPE: handle},
        worker_id=name,
        concurrency=concurrency,
        heartbeat_interval=1.0,
        claim_wait=2.0,
        grace_period=5.0,
        on_completed=completed,
    )


async def all_ran(ledger: Ledger, producers: Sequence[asyncio.Task[None]], timeout: float) -> bool:
    """Whether the producers finished and every acknowledged job ran at least once within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(task.done() for task in producers) and ledger.all_acked_ran():
            return True
        await asyncio.sleep(0.1)
    return False


async def wait_until_all_ran(ledger: Ledger, producers: Sequence[asyncio.Task[None]], timeout: float) -> None:
    if not await all_ran(ledger, producers, timeout):
        missing = sum(1 for job_id in ledger.acked if job_id not in ledger.runs)
        raise AssertionError(
            f"after {timeout}s: {missing} of {len(ledger.acked)} acknowledged jobs never ran "
            f"(producers done: {all(task.done() for task in producers)})"
        )


async def wait_drained(client: OsqueueClient, timeout: float = 60.0) -> QueueStats:
    """Stats once the queue is empty (the last completions land just after the last handler
    returned), or as they are when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await client.stats()
        if stats.total == 0 or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class StoredState:
    data: bytes
    state: QueueState


async def read_state(storage_url: str) -> StoredState:
    """queue.json as storage holds it (read directly, not through a broker)."""
    storage = open_storage(storage_url)
    try:
        found = await storage.read(QUEUE_STATE_KEY)
    finally:
        await storage.aclose()
    assert found is not None, f"no {QUEUE_STATE_KEY} at {storage_url}"
    return StoredState(found.data, decode_state(found.data))


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
