"""The worker against a real broker: delivery, retries, dead letters, heartbeats, timeouts, stopping."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any, TypeVar

import msgspec
import pytest
from osqueue_broker import BrokerServer
from osqueue_client import (
    Call,
    CompleteJobs,
    ConnectTransport,
    JobSpec,
    OsqueueClient,
    RestTransport,
    Transport,
    TransportName,
    WebSocketTransport,
)
from osqueue_types import AuthError, JobStatus
from osqueue_worker import JobContext, RetryPolicy, Worker

from .conftest import MakeClient, eventually

R = TypeVar("R")
NO_JITTER = RetryPolicy(base=0.2, factor=2.0, max_delay=5.0, jitter=0.0)


class Email(msgspec.Struct):
    to: str
    subject: str = ""


class NotDecodable:
    """A plain class: msgspec cannot decode JSON into it."""


async def completed(client: OsqueueClient, count: int) -> bool:
    return (await client.stats()).completed_total >= count


async def test_submit_run_complete(client: OsqueueClient) -> None:
    seen: list[tuple[Any, str, int, int, str]] = []
    done: list[str] = []

    async def handle(payload: dict[str, Any], ctx: JobContext) -> str:
        seen.append((payload, ctx.type, ctx.attempt, ctx.max_attempts, ctx.worker_id))
        return f"sent to {payload['to']}"

    worker = Worker(
        client,
        {"email": handle},
        worker_id="w-1",
        on_completed=lambda ctx, result: done.append(result),
    )
    worker.start()
    job_id = await client.submit("email", {"to": "a@example.com"}, max_attempts=4)
    await eventually(lambda: completed(client, 1))
    await worker.stop()

    assert seen == [({"to": "a@example.com"}, "email", 1, 4, "w-1")]
    assert done == ["sent to a@example.com"]
    stats = await client.stats()
    assert (stats.total, stats.completed_total, stats.dead_letters) == (0, 1, 0)
    assert job_id not in {job.id for job in (await client.list_jobs()).jobs}


async def test_failing_handler_retries_with_backoff_then_dead_letters(client: OsqueueClient) -> None:
    attempts: list[tuple[int, float]] = []
    failed: list[str] = []
    dead: list[str] = []

    async def handle(payload: Any, ctx: JobContext) -> None:
        attempts.append((ctx.attempt, time.monotonic()))
        raise ValueError(f"boom {ctx.attempt}")

    worker = Worker(
        client,
        {"flaky": handle},
        retry=NO_JITTER,
        on_failed=lambda ctx, error: failed.append(str(error)),
        on_dead_letter=lambda ctx, error: dead.append(str(error)),
    )
    worker.start()
    job_id = await client.submit("flaky", {"x": 1}, max_attempts=3)

    async def dead_lettered() -> bool:
        return (await client.stats()).dead_letters == 1

    await eventually(dead_lettered)
    await worker.stop()

    assert [n for n, _ in attempts] == [1, 2, 3]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(attempts)]
    # base 0.2 s, factor 2: 0.2 s after the first attempt, 0.4 s after the second.
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38
    assert failed == ["boom 1", "boom 2"]
    assert dead == ["boom 3"]
    (letter,) = (await client.dead_letters()).dead_letters
    assert letter.job.id == job_id
    assert letter.job.attempts == 3
    assert letter.job.last_error == "ValueError: boom 3"
    assert (await client.stats()).completed_total == 0


async def test_handler_slower_than_job_timeout_keeps_its_job_by_heartbeats(
    client: OsqueueClient, make_client: MakeClient, broker: BrokerServer
) -> None:
    # The broker expires a job after 1 s without a heartbeat; this handler takes 2.5 s.
    calls = 0

    async def slow(payload: Any) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(2.5)

    other = await make_client(broker.url)
    worker = Worker(client, {"slow": slow}, heartbeat_interval=0.2)
    worker.start()
    job_id = await client.submit("slow", None)
    await asyncio.sleep(1.8)
    # Past the job heartbeat timeout, the job is still held, so another worker gets nothing.
    assert await other.claim("other", wait=0) == []
    info = await client.get_job(job_id)
    assert (info.status, info.attempts) == (JobStatus.IN_PROGRESS, 1)
    await eventually(lambda: completed(client, 1))
    await worker.stop()
    assert calls == 1


async def test_job_reassigned_after_expiry_is_cancelled_and_not_completed(
    client: OsqueueClient, make_client: MakeClient, broker: BrokerServer
) -> None:
    cancelled = asyncio.Event()
    finished: list[str] = []

    async def stuck(payload: Any, ctx: JobContext) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            if ctx.is_cancelled:
                cancelled.set()

    # Heartbeats less often than the broker's 1 s job timeout: the job expires and moves on.
    worker = Worker(
        client,
        {"stuck": stuck},
        heartbeat_interval=1.5,
        on_completed=lambda ctx, result: finished.append("completed"),
        on_failed=lambda ctx, error: finished.append("failed"),
    )
    worker.start()
    job_id = await client.submit("stuck", None)
    other = await make_client(broker.url)
    (taken,) = await other.claim("thief", wait=5)
    assert (taken.id, taken.attempt) == (job_id, 2)
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    await eventually(lambda: _no_active_jobs(worker))
    await other.complete(job_id, "thief")
    await worker.stop()
    assert finished == []
    assert (await client.stats()).completed_total == 1


class RecordingTransport(Transport):
    """A built-in transport that also records every call it carries."""

    def __init__(self, name: TransportName) -> None:
        builtin: dict[str, type[Transport]] = {
            "connect": ConnectTransport,
            "rest": RestTransport,
            "ws": WebSocketTransport,
        }
        self.inner: Transport = builtin[name]()
        self.calls: list[Call[Any]] = []

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        self.calls.append(request)
        return await self.inner.call(broker_url, request, timeout)

    async def connect(self, broker_url: str, timeout: float) -> None:
        await self.inner.connect(broker_url, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_jobs_finishing_together_are_completed_with_one_request(
    broker: BrokerServer, make_client: MakeClient, transport: TransportName
) -> None:
    recording = RecordingTransport(transport)
    client = await make_client(broker.url, transport=recording)
    release = asyncio.Event()
    done: list[str] = []

    async def handle(payload: int) -> int:
        await release.wait()
        return payload

    worker = Worker(
        client, {"n": handle}, concurrency=20, on_completed=lambda ctx, result: done.append(ctx.job_id)
    )
    ids = await client.submit_many([JobSpec("n", n) for n in range(20)])
    worker.start()
    await eventually(lambda: _active_jobs(worker, 20))
    release.set()  # all twenty handlers return in the same loop turn
    await eventually(lambda: completed(client, 20))
    await worker.stop()

    assert sorted(done) == sorted(ids)
    sent = [call.job_ids for call in recording.calls if isinstance(call, CompleteJobs)]
    assert sorted(job_id for batch in sent for job_id in batch) == sorted(ids)
    assert len(sent) <= 2, sent
    assert "completeJob" not in {call.method for call in recording.calls}


async def test_a_batch_completion_the_broker_no_longer_holds_is_lost_not_completed(
    client: OsqueueClient, make_client: MakeClient, broker: BrokerServer
) -> None:
    taken = asyncio.Event()
    finished: list[str] = []

    async def slow(payload: Any, ctx: JobContext) -> str:
        await taken.wait()
        return "done late"

    async def quick(payload: Any, ctx: JobContext) -> str:
        await taken.wait()
        return "done"

    # No heartbeat before the broker's 1 s job timeout: the "slow" job expires and moves on.
    worker = Worker(
        client,
        {"slow": slow, "quick": quick},
        concurrency=2,
        heartbeat_interval=30,
        on_completed=lambda ctx, result: finished.append(result),
    )
    slow_id = await client.submit("slow", None, max_attempts=5)
    worker.start()
    await eventually(lambda: _active_jobs(worker, 1))
    other = await make_client(broker.url)
    (stolen,) = await other.claim("thief", "slow", wait=5)
    assert stolen.id == slow_id
    await client.submit("quick", None)
    await eventually(lambda: _active_jobs(worker, 2))
    taken.set()  # both finish together: one request, the slow job in not_found
    await eventually(lambda: completed(client, 1))
    await eventually(lambda: _active_jobs(worker, 0))
    await worker.stop()
    assert finished == ["done"]
    assert (await client.get_job(slow_id)).worker_id == "thief"


async def _active_jobs(worker: Worker, count: int) -> bool:
    return len(worker.active_jobs) == count


async def _no_active_jobs(worker: Worker) -> bool:
    return not worker.active_jobs


async def test_job_timeout_cancels_handler_and_retries(client: OsqueueClient) -> None:
    attempts: list[int] = []
    timeouts: list[BaseException] = []

    async def handle(payload: Any, ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        assert ctx.deadline is not None and ctx.time_remaining() is not None
        if ctx.attempt == 1:
            await asyncio.sleep(30)

    worker = Worker(
        client,
        {"t": handle},
        job_timeout=0.3,
        retry=RetryPolicy(base=0.0, jitter=0.0),
        on_failed=lambda ctx, error: timeouts.append(error),
    )
    worker.start()
    await client.submit("t", None)
    await eventually(lambda: completed(client, 1))
    await worker.stop()
    assert attempts == [1, 2]
    assert len(timeouts) == 1 and isinstance(timeouts[0], TimeoutError)


async def test_payload_failing_validation_is_dead_lettered_at_once(client: OsqueueClient) -> None:
    handled: list[Email] = []
    dead: list[str] = []

    async def send(payload: Email) -> None:
        handled.append(payload)

    worker = Worker(client, {"email": send}, on_dead_letter=lambda ctx, error: dead.append(ctx.job_id))
    worker.start()
    good = await client.submit("email", {"to": "a@example.com"})
    bad = await client.submit("email", {"subject": "no recipient"}, max_attempts=5)

    async def settled() -> bool:
        stats = await client.stats()
        return stats.completed_total == 1 and stats.dead_letters == 1

    await eventually(settled)
    await worker.stop()
    assert handled == [Email(to="a@example.com")]
    assert dead == [bad]
    (letter,) = (await client.dead_letters()).dead_letters
    assert (letter.job.id, letter.job.attempts) == (bad, 1)
    assert letter.job.last_error is not None and "PayloadValidationError" in letter.job.last_error
    assert good != bad


async def test_payload_rejected_by_the_client_registry_is_dead_lettered(
    broker: BrokerServer, make_client: MakeClient
) -> None:
    producer = await make_client(broker.url)
    consumer = await make_client(broker.url, registry={"email": Email})
    calls: list[Any] = []
    worker = Worker(consumer, {"email": lambda payload: calls.append(payload)})
    worker.start()
    await producer.submit("email", {"to": 42})

    async def dead_lettered() -> bool:
        return (await producer.stats()).dead_letters == 1

    await eventually(dead_lettered)
    await worker.stop()
    assert calls == []


async def test_sync_handlers_run_in_worker_threads(client: OsqueueClient) -> None:
    threads: list[str] = []

    def handle(payload: int) -> None:
        threads.append(threading.current_thread().name)

    worker = Worker(client, {"sync": handle}, concurrency=2)
    worker.start()
    await client.submit_many([JobSpec("sync", i) for i in range(4)])
    await eventually(lambda: completed(client, 4))
    await worker.stop()
    assert len(threads) == 4
    assert all(name.startswith("osqueue-worker") for name in threads)


async def test_a_sync_handler_thread_outliving_its_timeout_keeps_its_slot(client: OsqueueClient) -> None:
    # Job "a" times out on its first attempt, but its thread ignores the cancellation and
    # blocks until the test lets it go: with concurrency 1 the worker has no thread to run
    # another job, so it must not claim one (and hold it while it waits for a thread).
    release = threading.Event()
    a_started = threading.Event()
    runs: list[tuple[str, int]] = []
    failed: list[tuple[str, BaseException]] = []

    def handle(payload: str, ctx: JobContext) -> str:
        runs.append((payload, ctx.attempt))
        if payload == "a" and ctx.attempt == 1:
            a_started.set()
            release.wait(timeout=30)  # ignores ctx.is_cancelled on purpose
        return payload

    worker = Worker(
        client,
        {"sync": handle},
        concurrency=1,
        job_timeout=0.2,
        heartbeat_interval=0.2,
        retry=RetryPolicy(base=0.1, jitter=0.0),
        on_failed=lambda ctx, error: failed.append((ctx.job_id, error)),
    )
    worker.start()
    try:
        a = await client.submit("sync", "a", max_attempts=3)
        await eventually(lambda: _is_set(a_started))
        b = await client.submit("sync", "b")
        await eventually(lambda: _failed_count(failed, 1))
        assert failed[0][0] == a and isinstance(failed[0][1], TimeoutError)
        # Given back at once, but its thread still runs: nothing else is claimed meanwhile,
        # although "b" (and "a", past its 0.1 s retry delay) is waiting.
        await asyncio.sleep(0.6)
        assert (await client.get_job(b)).status == JobStatus.UNCLAIMED
        info = await client.get_job(a)
        assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 1)
        assert (await client.stats()).in_progress == 0
        assert runs == [("a", 1)]
        assert dict(worker.active_jobs) == {}
        assert worker.lingering_threads == 1
        release.set()
        await eventually(lambda: completed(client, 2))
    finally:
        release.set()
        await worker.stop()
    assert sorted(runs) == [("a", 1), ("a", 2), ("b", 1)]
    assert len(failed) == 1
    assert worker.lingering_threads == 0


@pytest.mark.parametrize("timed_out", [True, False], ids=["after-timeout", "cut-short-at-stop"])
async def test_stop_does_not_wait_for_a_sync_handler_thread_that_runs_on(
    client: OsqueueClient, timed_out: bool
) -> None:
    release = threading.Event()
    started = threading.Event()

    def block(payload: Any) -> None:
        started.set()
        release.wait(timeout=30)  # ignores ctx.is_cancelled on purpose

    worker = Worker(
        client,
        {"sync": block},
        job_timeout=0.2 if timed_out else None,
        heartbeat_interval=0.2,
        retry=RetryPolicy(base=10, jitter=0.0),
    )
    worker.start()
    try:
        job_id = await client.submit("sync", None, max_attempts=3)
        await eventually(lambda: _is_set(started))
        if timed_out:
            await eventually(lambda: _lingering(worker, 1))
        begun = time.monotonic()
        # Timed out: nothing is held, so the 30 s default grace period is not waited out;
        # held: cut short after 0.2 s and released, its thread left running.
        await worker.stop(grace_period=None if timed_out else 0.2)
        assert time.monotonic() - begun < 5
        # The thread still runs and is still counted, so a process can tell it may exit anyway.
        assert not worker.running and worker.lingering_threads == 1
        info = await client.get_job(job_id)
        assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 1 if timed_out else 0)
        assert not release.is_set()
    finally:
        release.set()
    await eventually(lambda: _lingering(worker, 0))


async def _is_set(event: threading.Event) -> bool:
    return event.is_set()


async def _failed_count(failed: list[Any], count: int) -> bool:
    return len(failed) >= count


async def _lingering(worker: Worker, count: int) -> bool:
    return worker.lingering_threads == count


async def test_free_slots_are_filled_by_one_batch_claim_and_idle_workers_do_not_poll(
    broker: BrokerServer, make_client: MakeClient
) -> None:
    class CountingClient(OsqueueClient):
        claims: list[int] = []

        async def claim(self, *args: Any, **kwargs: Any) -> Any:
            self.claims.append(kwargs["limit"])
            return await super().claim(*args, **kwargs)

    client = CountingClient(broker.url)
    all_running = asyncio.Event()
    running = 0

    async def handle(payload: int) -> None:
        nonlocal running
        running += 1
        if running == 5:
            all_running.set()
        await all_running.wait()

    await client.submit_many([JobSpec("b", i) for i in range(5)])
    worker = Worker(client, {"b": handle}, concurrency=5, claim_wait=1.0)
    worker.start()
    await asyncio.wait_for(all_running.wait(), timeout=5)
    assert client.claims[0] == 5
    await eventually(lambda: completed(client, 5))
    before = len(client.claims)
    await asyncio.sleep(1.5)
    # Idle: one long poll per claim_wait (1 s), not a busy loop.
    assert len(client.claims) - before <= 2
    await worker.stop()
    await client.aclose()


async def test_only_handled_types_are_claimed(client: OsqueueClient) -> None:
    worker = Worker(client, {"mine": lambda payload: None})
    worker.start()
    other = await client.submit("theirs", 1)
    await client.submit("mine", 2)
    await eventually(lambda: completed(client, 1))
    await worker.stop()
    (left,) = (await client.list_jobs()).jobs
    assert (left.id, left.status) == (other, JobStatus.UNCLAIMED)


async def test_graceful_stop_lets_running_jobs_finish(client: OsqueueClient) -> None:
    started = asyncio.Event()

    async def handle(payload: Any) -> None:
        started.set()
        await asyncio.sleep(0.5)

    worker = Worker(client, {"t": handle})
    worker.start()
    await client.submit("t", None)
    await asyncio.wait_for(started.wait(), timeout=5)
    await worker.stop(grace_period=5)
    assert not worker.running
    stats = await client.stats()
    assert (stats.total, stats.completed_total) == (0, 1)


async def test_stop_after_grace_period_gives_running_jobs_back(client: OsqueueClient) -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def handle(payload: Any, ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            cancelled.append(ctx.is_cancelled)

    worker = Worker(client, {"t": handle}, retry=RetryPolicy(base=10, jitter=0))
    worker.start()
    job_id = await client.submit("t", None, max_attempts=3)
    await asyncio.wait_for(started.wait(), timeout=5)
    begun = time.monotonic()
    await worker.stop(grace_period=0.2)
    assert time.monotonic() - begun < 3
    assert cancelled == [True]
    info = await client.get_job(job_id)
    # Released at once (no retry backoff) and the cut-short attempt does not count.
    assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 0)
    assert info.last_error is None  # a release sends no error: a first attempt has none
    (again,) = await client.claim("next", wait=1)
    assert again.id == job_id


async def test_worker_follows_a_failover_and_lands_the_completion(
    start_broker: Any, make_client: MakeClient
) -> None:
    from osqueue_storage import MemoryBackend

    storage = MemoryBackend()
    timing = {"heartbeat_interval_ms": 200, "heartbeat_timeout_ms": 1000}
    first = await start_broker(storage, **timing)
    second = await start_broker(storage, **timing)
    assert first.is_leader and not second.is_leader
    client = await make_client(storage=storage)
    release = asyncio.Event()
    started = asyncio.Event()
    done: list[str] = []

    async def handle(payload: Any) -> None:
        started.set()
        await release.wait()

    worker = Worker(
        client,
        {"t": handle},
        heartbeat_interval=0.2,
        on_completed=lambda ctx, result: done.append(ctx.job_id),
    )
    worker.start()
    job_id = await client.submit("t", None)
    await asyncio.wait_for(started.wait(), timeout=5)
    await first.stop()
    release.set()  # finishes while no broker leads: the completion must wait for the new leader
    await eventually(lambda: _leads(second), timeout=10)
    await eventually(lambda: completed(client, 1), timeout=15)
    await worker.stop()
    assert done == [job_id]
    stats = await client.stats()
    assert (stats.total, stats.completed_total, stats.dead_letters) == (0, 1, 0)


async def _leads(server: BrokerServer) -> bool:
    return server.is_leader


def test_handler_signatures_are_checked_when_the_worker_is_built() -> None:
    client = OsqueueClient("http://127.0.0.1:1")

    async def too_many(payload: Any, ctx: JobContext, extra: int) -> None: ...

    with pytest.raises(TypeError, match="must accept"):
        Worker(client, {"x": too_many})

    def odd(payload: NotDecodable) -> None: ...

    with pytest.raises(TypeError, match="payload annotation"):
        Worker(client, {"x": odd})
    with pytest.raises(ValueError):
        Worker(client, {})


def test_retry_policy_backs_off_exponentially_within_bounds() -> None:
    policy = RetryPolicy(base=1.0, factor=2.0, max_delay=10.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 50)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = RetryPolicy(base=1.0, factor=2.0, max_delay=100.0, jitter=0.2)
    delays = [jittered.delay(3) for _ in range(200)]
    assert all(3.2 <= d <= 4.8 for d in delays) and len(set(delays)) > 1


async def test_errors_retrying_cannot_fix_end_run(start_broker: Any, make_client: MakeClient) -> None:
    broker = await start_broker(auth_token="s3cret")
    client = await make_client(broker.url, auth_token="s3cret")
    wrong = OsqueueClient(broker.url, auth_token="wrong")
    worker = Worker(wrong, {"t": lambda payload: None})
    with pytest.raises(AuthError):
        await asyncio.wait_for(worker.run(handle_signals=False), timeout=10)
    assert not worker.running
    await wrong.aclose()
    assert (await client.stats()).total == 0


async def test_a_hook_that_raises_does_not_break_the_job(client: OsqueueClient) -> None:
    claimed: list[str] = []

    def on_claimed(ctx: JobContext) -> None:
        claimed.append(ctx.job_id)
        raise RuntimeError("hook bug")

    async def on_completed(ctx: JobContext, result: Any) -> None:
        raise RuntimeError("async hook bug")

    worker = Worker(client, {"t": lambda payload: payload}, on_claimed=on_claimed, on_completed=on_completed)
    await worker.stop()  # not running: nothing to do
    worker.start()
    job_id = await client.submit("t", 1)
    await eventually(lambda: completed(client, 1))
    await worker.stop()
    assert claimed == [job_id]
