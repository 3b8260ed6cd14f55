"""One scenario's figures, from its counters and the snapshots at both edges of the timed window."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._load import LoadPlan, Tally, prefill_count
from ._measure import LOADGEN_BOUND_PCT, Snapshot, cpu_pct, percentile_ms


@dataclass
class ScenarioResult:
    scenario: str
    transport: str
    target: str
    storage: str | None
    storage_latency_ms: float | None
    commit_interval_ms: int | None
    jobs: int
    prefill: int
    producers: int
    workers: int
    batch_size: int | None
    seconds: float
    jobs_per_s: float
    submitted: int
    completed: int
    errors: int
    empty_claims: int
    # Most jobs in the queue at once (prefill included): every commit encodes all of them.
    peak_queued: int
    timed_out: bool
    # A task failed too many requests in a row and the run stopped early.
    aborted: bool
    last_error: str | None
    # Every request of the timed window (submit, claim, complete); in the latency scenario the
    # time from the submit's answer to the waiting worker receiving the job.
    p50_ms: float | None
    p99_ms: float | None
    submit_p50_ms: float | None
    submit_p99_ms: float | None
    claim_p50_ms: float | None
    claim_p99_ms: float | None
    complete_p50_ms: float | None
    complete_p99_ms: float | None
    storage_reads: int | None
    storage_writes: int | None
    writes_per_1000_jobs: float | None
    # Mutations per storage commit, from the broker's osqueue_commit_batch_size histogram.
    mean_batch: float | None
    # Mean time of one commit (encode + storage write), from osqueue_commit_latency_seconds.
    mean_commit_ms: float | None
    broker_cpu_pct: float | None
    loadgen_cpu_pct: float | None
    loadgen_bound: bool
    # The storage server's CPU when the benchmark started it (--moto).
    storage_cpu_pct: float | None
    # CPU used by every other process of the machine during the run (percent of one core): a
    # busy machine makes figures noisy.
    other_cpu_pct: float | None
    ceiling_jobs_per_s: float | None = None
    ceiling_ratio: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class RunContext:
    target: str
    storage: str | None = None
    storage_latency_ms: float | None = None
    commit_interval_ms: int | None = None


def summarize(
    plan: LoadPlan, tally: Tally, start: Snapshot, end: Snapshot, context: RunContext, *, timed_out: bool
) -> ScenarioResult:
    before, after = start.clocks, end.clocks
    seconds = max(after.wall - before.wall, 1e-9)
    done = tally.submitted if plan.scenario in ("submit", "batch-submit") else tally.completed
    requests = tally.delivery if plan.scenario == "latency" else tally.submit + tally.claim + tally.complete
    reads = writes = None
    if start.storage is not None and end.storage is not None:
        reads = end.storage[0] - start.storage[0]
        writes = end.storage[1] - start.storage[1]
    mean_batch = mean_commit_ms = None
    if start.commits is not None and end.commits is not None:
        commits = end.commits.commits - start.commits.commits
        if commits > 0:
            mean_batch = round((end.commits.mutations - start.commits.mutations) / commits, 1)
            mean_commit_ms = round((end.commits.seconds - start.commits.seconds) * 1000 / commits, 2)
    loadgen = cpu_pct(before.loadgen_cpu, after.loadgen_cpu, seconds)
    broker = cpu_pct(before.target_cpu, after.target_cpu, seconds)
    storage_cpu = cpu_pct(before.storage_cpu, after.storage_cpu, seconds)
    machine = cpu_pct(before.machine_busy, after.machine_busy, seconds)
    known = (broker or 0.0) + (loadgen or 0.0) + (storage_cpu or 0.0)
    other = None if machine is None else round(machine - known, 1)
    batched = plan.scenario in ("batch-submit", "batch-claim")
    return ScenarioResult(
        scenario=plan.scenario,
        transport=plan.transport,
        target=context.target,
        storage=context.storage,
        storage_latency_ms=context.storage_latency_ms,
        commit_interval_ms=context.commit_interval_ms,
        jobs=plan.jobs,
        prefill=plan.prefill,
        producers=plan.producers,
        workers=plan.workers,
        batch_size=plan.batch_size if batched else None,
        seconds=round(seconds, 3),
        jobs_per_s=round(done / seconds, 1),
        submitted=tally.submitted,
        completed=tally.completed,
        errors=tally.errors,
        empty_claims=tally.empty_claims,
        peak_queued=prefill_count(plan) + tally.peak_queued,
        timed_out=timed_out,
        aborted=tally.aborted,
        last_error=tally.last_error,
        p50_ms=percentile_ms(requests, 0.50),
        p99_ms=percentile_ms(requests, 0.99),
        submit_p50_ms=percentile_ms(tally.submit, 0.50),
        submit_p99_ms=percentile_ms(tally.submit, 0.99),
        claim_p50_ms=percentile_ms(tally.claim, 0.50),
        claim_p99_ms=percentile_ms(tally.claim, 0.99),
        complete_p50_ms=percentile_ms(tally.complete, 0.50),
        complete_p99_ms=percentile_ms(tally.complete, 0.99),
        storage_reads=reads,
        storage_writes=writes,
        writes_per_1000_jobs=None if writes is None or not done else round(writes * 1000 / done, 1),
        mean_batch=mean_batch,
        mean_commit_ms=mean_commit_ms,
        broker_cpu_pct=broker,
        loadgen_cpu_pct=loadgen,
        loadgen_bound=loadgen is not None and loadgen >= LOADGEN_BOUND_PCT,
        storage_cpu_pct=storage_cpu,
        other_cpu_pct=other,
    )
