"""Micro benchmark of the queue state machine alone (no storage, no engine).

Measures claim, heartbeat, fail and complete throughput with a backlog of unclaimed jobs
already in the queue, and how long queue.json takes to encode and load. A measurement,
not a test: the figures depend on the machine.

    uv run python tools/bench_state.py
    uv run python tools/bench_state.py --backlogs 0 1000000 --ops 50000
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
from osqueue_core import QueueStateMachine
from osqueue_types import Claim, ClaimResult, Complete, Enqueue, Fail, Heartbeat, NewJob

T0 = 1_706_000_000_000
_CHUNK = 1_000  # jobs per Enqueue while filling, and ops per timed round
_TYPES = ["email:send", "sms:send", "pdf:render", "report:build"]


def _new_jobs(count: int, start: int, types: list[str] = _TYPES) -> list[NewJob]:
    return [
        NewJob(
            msgspec.Raw(b'{"to":"user%d@example.com","template":"welcome"}' % n),
            type=types[n % len(types)],
        )
        for n in range(start, start + count)
    ]


def _filled(count: int) -> QueueStateMachine:
    numbers = itertools.count()
    machine = QueueStateMachine(id_factory=lambda: f"{next(numbers):036d}")  # uuid-sized ids
    for start in range(0, count, _CHUNK):
        machine.apply(Enqueue(_new_jobs(min(_CHUNK, count - start), start)), T0)
    return machine


def _rate(ops: int, seconds: float) -> str:
    return f"{ops / seconds:>10,.0f}/s"


def bench_operations(backlog: int, ops: int, types: list[str] | None) -> None:
    machine = _filled(backlog)
    names = ("enqueue", "claim", "heartbeat", "fail", "complete")
    timings = dict.fromkeys(names, 0.0)
    counts = dict.fromkeys(names, 0)

    @contextmanager
    def timed(name: str, ops: int) -> Iterator[None]:
        started = time.perf_counter()
        yield
        timings[name] += time.perf_counter() - started
        counts[name] += ops

    def claim_all(count: int) -> list[str]:
        claimed: list[str] = []
        for _ in range(count):
            result = machine.apply(Claim("w1", types), T0)
            assert isinstance(result, ClaimResult) and len(result.jobs) == 1
            claimed.append(result.jobs[0].id)
        return claimed

    while counts["claim"] < ops:
        # New jobs go to the tail; claims take the oldest jobs of the backlog first.
        batch = Enqueue(_new_jobs(_CHUNK, backlog + counts["claim"], types or _TYPES))
        with timed("enqueue", _CHUNK):
            machine.apply(batch, T0)
        with timed("claim", _CHUNK):
            claimed = claim_all(_CHUNK)
        with timed("heartbeat", _CHUNK):
            for job_id in claimed:
                machine.apply(Heartbeat(job_id, "w1"), T0)
        # Half fail (back to their place in the queue, claimed again), all are completed.
        half = _CHUNK // 2
        with timed("fail", half):
            for job_id in claimed[:half]:
                machine.apply(Fail(job_id, "w1"), T0)
        claimed[:half] = claim_all(half)
        with timed("complete", _CHUNK):
            for job_id in claimed:
                machine.apply(Complete(job_id, "w1"), T0)
    label = "any type" if types is None else f"types={types}"
    print(
        f"backlog {backlog:>9,}  {label:<24}"
        + "".join(f"  {name} {_rate(counts[name], seconds)}" for name, seconds in timings.items())
    )


def bench_encoding(jobs: int) -> None:
    machine = _filled(jobs)
    machine.apply(Claim("w1", None, limit=jobs // 10), T0)  # a tenth in progress
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        data = machine.encode()
    encode_ms = (time.perf_counter() - started) / rounds * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        QueueStateMachine.from_bytes(data)
    load_ms = (time.perf_counter() - started) / rounds * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        machine.expire(T0 + 1)
    expire_us = (time.perf_counter() - started) / rounds * 1e6
    print(
        f"{jobs:>9,} jobs  queue.json {len(data) / 1e6:6.1f} MB  encode {encode_ms:7.1f} ms"
        f"  load {load_ms:7.1f} ms  expire (nothing due) {expire_us:6.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlogs", type=int, nargs="+", default=[0, 10_000, 100_000])
    parser.add_argument("--ops", type=int, default=20_000, help="jobs claimed and completed per backlog")
    parser.add_argument("--encode-sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for backlog in args.backlogs:
        bench_operations(backlog, args.ops, None)
        bench_operations(backlog, args.ops, ["pdf:render", "sms:send"])
    for jobs in args.encode_sizes:
        bench_encoding(jobs)


if __name__ == "__main__":
    main()
