"""Jobs cut short by a worker's shutdown are released, not failed.

A shutdown is not the job's fault: the job goes back to the queue at once without spending
its attempt (so a job on its last attempt is not dead-lettered), and neither on_failed nor
on_dead_letter is called for it. Against a real broker, on every transport.
"""

from __future__ import annotations

import asyncio
from typing import Any

from osqueue_client import OsqueueClient, TransportName
from osqueue_types import JobStatus
from osqueue_worker import JobContext, RetryPolicy, Worker

from ..conftest import StartBroker
from .conftest import MakeClient, eventually


async def test_a_job_on_its_last_attempt_is_released_and_done_by_the_next_worker(
    start_broker: StartBroker, make_client: MakeClient, transport: TransportName
) -> None:
    broker = await start_broker()
    client = await make_client(broker.url, transport=transport)
    started = asyncio.Event()
    hooks: list[str] = []

    async def block(payload: Any) -> None:
        started.set()
        await asyncio.sleep(60)  # until the shutdown cuts it short

    first = Worker(
        client,
        {"t": block},
        worker_id="first",
        on_failed=lambda ctx, error: hooks.append(f"failed {error}"),
        on_dead_letter=lambda ctx, error: hooks.append(f"dead {error}"),
    )
    first.start()
    job_id = await client.submit("t", {"n": 1}, max_attempts=1)
    await asyncio.wait_for(started.wait(), timeout=5)
    assert (await client.get_job(job_id)).attempts == 1
    await first.stop(graceful=True, grace_period=0.2)

    assert hooks == []
    info = await client.get_job(job_id)
    assert (info.status, info.attempts, info.worker_id) == (JobStatus.UNCLAIMED, 0, None)
    assert info.last_error is None  # a release leaves the last error as it was
    stats = await client.stats()
    assert (stats.unclaimed, stats.dead_letters) == (1, 0)

    done: list[tuple[str, int, int]] = []

    async def finish(payload: Any, ctx: JobContext) -> None:
        done.append((ctx.job_id, ctx.attempt, ctx.max_attempts))

    second = Worker(client, {"t": finish}, worker_id="second")
    second.start()

    async def completed() -> bool:
        return (await client.stats()).completed_total == 1

    await eventually(completed)
    await second.stop()
    assert done == [(job_id, 1, 1)]  # its one attempt, not a second one
    stats = await client.stats()
    assert (stats.total, stats.dead_letters) == (0, 0)


async def test_a_job_cut_short_before_its_handler_started_is_released_unrun(
    start_broker: StartBroker, make_client: MakeClient
) -> None:
    """Stopped while its on_claimed hook ran: the handler never runs and the job goes back."""
    broker = await start_broker()
    client: OsqueueClient = await make_client(broker.url)
    claimed = asyncio.Event()
    ran: list[str] = []

    async def on_claimed(ctx: JobContext) -> None:
        claimed.set()
        await asyncio.sleep(0.5)

    worker = Worker(client, {"t": lambda payload: ran.append("handler")}, on_claimed=on_claimed)
    worker.start()
    job_id = await client.submit("t", None, max_attempts=1)
    await asyncio.wait_for(claimed.wait(), timeout=5)
    await worker.stop(grace_period=0.1)

    assert ran == []
    info = await client.get_job(job_id)
    assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 0)
    assert info.last_error is None


async def test_a_release_keeps_the_last_real_failure_as_the_last_error(
    start_broker: StartBroker, make_client: MakeClient
) -> None:
    """Attempt 1 fails, attempt 2 is cut short by a shutdown: the job still shows attempt 1's
    error (the release sends none), so a later dead letter keeps the real cause."""
    broker = await start_broker()
    client = await make_client(broker.url)
    second_run = asyncio.Event()
    attempts: list[int] = []

    async def boom_then_block(payload: Any, ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise ValueError("boom")
        second_run.set()
        await asyncio.sleep(60)  # until the shutdown cuts it short

    worker = Worker(client, {"t": boom_then_block}, retry=RetryPolicy(base=0, jitter=0))
    worker.start()
    job_id = await client.submit("t", None, max_attempts=3)
    await asyncio.wait_for(second_run.wait(), timeout=5)
    await worker.stop(grace_period=0.1)

    assert attempts == [1, 2]
    info = await client.get_job(job_id)
    assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 1)
    assert info.last_error == "ValueError: boom"


async def test_a_real_failure_on_the_last_attempt_still_dead_letters(
    start_broker: StartBroker, make_client: MakeClient
) -> None:
    """Only a shutdown releases: a handler that raises spends its attempt as before."""
    broker = await start_broker()
    client = await make_client(broker.url)
    dead: list[str] = []

    async def broken(payload: Any) -> None:
        raise ValueError("broken")

    worker = Worker(client, {"t": broken}, on_dead_letter=lambda ctx, error: dead.append(str(error)))
    worker.start()
    await client.submit("t", None, max_attempts=1)

    async def dead_lettered() -> bool:
        return (await client.stats()).dead_letters == 1

    await eventually(dead_lettered)
    await worker.stop()
    assert dead == ["broken"]
