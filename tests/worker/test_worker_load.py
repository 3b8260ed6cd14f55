"""Many jobs through one worker with many slots: every job runs exactly once, on every transport."""

from __future__ import annotations

import asyncio
from collections import Counter

from osqueue_client import JobSpec, OsqueueClient
from osqueue_worker import JobContext, Worker

from .conftest import eventually


async def test_thousand_jobs_with_concurrency_20_complete_exactly_once(client: OsqueueClient) -> None:
    runs: Counter[str] = Counter()
    running = 0
    peak = 0

    async def handle(payload: int, ctx: JobContext) -> None:
        nonlocal running, peak
        runs[ctx.job_id] += 1
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    ids = await client.submit_many([JobSpec("n", i) for i in range(1000)])
    worker = Worker(client, {"n": handle}, concurrency=20)
    worker.start()
    await eventually(lambda: _completed(client, 1000), timeout=60, every=0.1)
    await worker.stop()

    assert set(runs) == set(ids)
    assert set(runs.values()) == {1}
    assert peak == 20
    stats = await client.stats()
    assert (stats.total, stats.in_progress, stats.completed_total, stats.dead_letters) == (0, 0, 1000, 0)


async def _completed(client: OsqueueClient, count: int) -> bool:
    return (await client.stats()).completed_total >= count
