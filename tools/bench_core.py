"""Benchmark the group-commit engine in-process on MemoryBackend.

Each submitter runs the whole life of one job at a time: enqueue, claim, complete (three
durable commits). The queue is first filled with a backlog of unclaimed jobs, which every
commit has to encode. Prints one JSON line per scenario, then a summary line.

    uv run python tools/bench_core.py
    uv run python tools/bench_core.py --latencies 50 --submitters 5000 --backlogs 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from osqueue_core import CommitInfo, GroupCommitEngine
from osqueue_storage import MemoryBackend
from osqueue_types import Claim, ClaimResult, Complete, Enqueue, EnqueueResult, NewJob

_FILL_CHUNK = 5000


@dataclass
class _Window:
    """What happened while measuring (the warm-up is left out)."""

    open: bool = False
    jobs: int = 0
    commits: list[CommitInfo] = field(default_factory=list)

    def on_commit(self, info: CommitInfo) -> None:
        if self.open:
            self.commits.append(info)


async def _fill(engine: GroupCommitEngine, backlog: int) -> None:
    payload = msgspec.Raw(b'{"backlog":true}')
    for start in range(0, backlog, _FILL_CHUNK):
        count = min(_FILL_CHUNK, backlog - start)
        await engine.submit(Enqueue([NewJob(payload=payload, type="bench") for _ in range(count)]))


async def _submitter(engine: GroupCommitEngine, worker_id: str, window: _Window, stop: asyncio.Event) -> None:
    payload = msgspec.Raw(b'{"to":"someone@example.com"}')
    while not stop.is_set():
        enqueued = await engine.submit(Enqueue([NewJob(payload=payload, type="bench")]))
        assert isinstance(enqueued, EnqueueResult)
        claimed = await engine.submit(Claim(worker_id))
        assert isinstance(claimed, ClaimResult)
        for job in claimed.jobs:
            await engine.submit(Complete(job.id, worker_id))
            if window.open:
                window.jobs += 1


async def run_scenario(
    *, latency_ms: float, backlog: int, submitters: int, warmup_s: float, duration_s: float
) -> dict[str, Any]:
    storage = MemoryBackend(latency_ms=latency_ms)
    window = _Window()
    engine = GroupCommitEngine(storage, on_commit=window.on_commit)
    await engine.start()
    await _fill(engine, backlog)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_submitter(engine, f"w{i}", window, stop)) for i in range(submitters)]
    await asyncio.sleep(warmup_s)
    window.open = True
    started = time.perf_counter()
    await asyncio.sleep(duration_s)
    window.open = False
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    await engine.stop()

    commits = window.commits
    n = len(commits) or 1
    return {
        "bench": "pipeline",
        "latency_ms": latency_ms,
        "backlog": backlog,
        "submitters": submitters,
        "jobs_per_s": round(window.jobs / elapsed),
        "commits_per_s": round(len(commits) / elapsed, 1),
        "mean_batch": round(sum(c.mutations for c in commits) / n, 1),
        "encode_ms_per_commit": round(sum(c.encode_ms for c in commits) / n, 2),
        "write_ms_per_commit": round(sum(c.write_ms for c in commits) / n, 2),
        "state_kib": round(max((c.size_bytes for c in commits), default=0) / 1024),
    }


async def main(args: argparse.Namespace) -> None:
    results: list[dict[str, Any]] = []
    for latency_ms in args.latencies:
        for backlog in args.backlogs:
            result = await run_scenario(
                latency_ms=latency_ms,
                backlog=backlog,
                submitters=args.submitters,
                warmup_s=args.warmup,
                duration_s=args.duration,
            )
            results.append(result)
            print(json.dumps(result), flush=True)

    def rate(latency_ms: float, backlog: int) -> int | None:
        for result in results:
            if result["latency_ms"] == latency_ms and result["backlog"] == backlog:
                return int(result["jobs_per_s"])
        return None

    base = rate(0, 0)
    summary: dict[str, Any] = {"bench": "summary", "jobs_per_s_backlog_0": base, "target": 20_000}
    if base:
        deepest = max(args.backlogs)
        deep = rate(0, deepest)
        if deep is not None:
            summary[f"ratio_backlog_{deepest}"] = round(deep / base, 2)
        for latency_ms in args.latencies:
            slow = rate(latency_ms, 0)
            if latency_ms and slow is not None:
                summary[f"ratio_latency_{latency_ms:g}ms"] = round(slow / base, 2)
                # Each submitter waits for three commits per job, each at least one storage
                # round trip: no engine can beat this with so many submitters (Little's law).
                bound = args.submitters / (3 * latency_ms / 1000)
                summary[f"bound_latency_{latency_ms:g}ms_jobs_per_s"] = int(bound)
    print(json.dumps(summary), flush=True)


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submitters", type=int, default=1000)
    parser.add_argument("--backlogs", type=_numbers, default=[0, 10_000, 100_000])
    parser.add_argument("--latencies", type=_numbers, default=[0, 50], help="storage latency in ms")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per scenario")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (must be installed)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
