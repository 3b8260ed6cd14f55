"""What the user's code saw during a failover: acknowledged submits, handler runs, hook calls.

Everything is recorded from the outside (the producer's return values, the worker's handler
and hooks), so the verdict does not trust the broker's own bookkeeping. `repeats_a_claim` and
`watching` serve the chaos suites' ledger as well.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from osqueue_worker import JobContext


class HandlerRun(Protocol):
    attempt: int
    at: float  # monotonic, when the handler started
    # When the handler saw the worker cut it short (CancelledError, or its context cancelled);
    # a worker shutting down then releases the job, and its rerun repeats this attempt number.
    cut_short_at: float | None


@dataclass
class Run:
    job_id: str
    seq: int  # the payload's sequence number: one per logical submit
    attempt: int
    worker: str
    at: float
    cut_short_at: float | None = None


def repeats_a_claim(runs: Sequence[HandlerRun]) -> bool:
    """Whether one claim ran twice: `runs` (one job's, in the order they started) repeat an
    attempt number, other than after runs of it that were all cut short and over before the
    repeat started (released at a worker shutdown: the attempt was handed back)."""
    for index, run in enumerate(runs):
        for earlier in runs[:index]:
            if earlier.attempt == run.attempt and (
                earlier.cut_short_at is None or earlier.cut_short_at > run.at
            ):
                return True
    return False


@contextmanager
def watching(run: HandlerRun, ctx: JobContext) -> Iterator[None]:
    """Around a handler's body: note when the worker cut `run` short."""
    try:
        yield
    except asyncio.CancelledError:
        run.cut_short_at = time.monotonic()
        raise
    finally:
        if ctx.is_cancelled and run.cut_short_at is None:
            run.cut_short_at = time.monotonic()


@dataclass(frozen=True)
class Event:
    at: float  # monotonic
    broker_url: str | None  # where the client sent its calls at that moment


@dataclass
class Ledger:
    acked: dict[int, str] = field(default_factory=dict)  # seq -> job id the broker acknowledged
    acks: list[Event] = field(default_factory=list)
    submit_errors: list[str] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    completions: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    hook_errors: list[str] = field(default_factory=list)  # on_failed / on_dead_letter calls

    def record_ack(self, seq: int, job_id: str, broker_url: str | None) -> None:
        self.acked[seq] = job_id
        self.acks.append(Event(time.monotonic(), broker_url))

    @contextmanager
    def running(self, ctx: JobContext, payload: Any, worker: str) -> Iterator[None]:
        """Record a handler run around its body, and whether the worker cut it short."""
        run = Run(ctx.job_id, int(payload["seq"]), ctx.attempt, worker, time.monotonic())
        self.runs[ctx.job_id].append(run)
        with watching(run, ctx):
            yield

    def record_completion(self, job_id: str, broker_url: str | None) -> None:
        self.completions[job_id].append(Event(time.monotonic(), broker_url))

    def all_acked_ran(self) -> bool:
        return all(job_id in self.runs for job_id in self.acked.values())

    def verdict(self, takeover_at: float) -> Verdict:
        """`takeover_at`: when the standby led; a lease taken before it was cut by the crash."""
        acked_ids = set(self.acked.values())
        lost = sorted(job_id for job_id in acked_ids if job_id not in self.runs)
        # One logical submit must be one job: the same seq under two ids is a twin.
        ids_by_seq: dict[int, set[str]] = defaultdict(set)
        for seq, job_id in self.acked.items():
            ids_by_seq[seq].add(job_id)
        for job_id, runs in self.runs.items():
            for run in runs:
                ids_by_seq[run.seq].add(job_id)
        twins = {seq: sorted(ids) for seq, ids in ids_by_seq.items() if len(ids) > 1}
        ran_twice = {job_id: runs for job_id, runs in self.runs.items() if len(runs) > 1}
        # A genuine redelivery: the broker handed the job out again (a new attempt number) after
        # the crash cut the first lease short, or a worker shutting down cut a run short and
        # released the job (the rerun repeats its attempt number). One claim run twice is not.
        redelivered = {
            job_id
            for job_id, runs in ran_twice.items()
            if not repeats_a_claim(runs)
            and (runs[0].at < takeover_at or len({run.attempt for run in runs}) == 1)
        }
        completed_twice = {job_id for job_id, events in self.completions.items() if len(events) > 1}
        return Verdict(
            acknowledged=len(self.acked),
            distinct_acked_ids=len(acked_ids),
            jobs_run=len(self.runs),
            handler_runs=sum(len(runs) for runs in self.runs.values()),
            lost=lost,
            twins=twins,
            ran_twice=sorted(ran_twice),
            redelivered=sorted(redelivered),
            completed_twice=sorted(completed_twice),
            unacknowledged_but_ran=sorted(set(self.runs) - acked_ids),
        )


@dataclass(frozen=True)
class Verdict:
    acknowledged: int
    distinct_acked_ids: int
    jobs_run: int
    handler_runs: int
    lost: list[str]
    twins: dict[int, list[str]]
    ran_twice: list[str]
    redelivered: list[str]  # the ran-twice jobs that are genuine redeliveries
    completed_twice: list[str]
    unacknowledged_but_ran: list[str]

    def summary(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "jobs_run": self.jobs_run,
            "handler_runs": self.handler_runs,
            "lost": len(self.lost),
            "duplicated": len(self.ran_twice),
            "genuine_redeliveries": len(self.redelivered),
            "completed_twice": len(self.completed_twice),
            "duplicate_jobs": len(self.twins),
            "unacknowledged_but_ran": len(self.unacknowledged_but_ran),
        }
