"""The failover proof, as a user sees it: the leading broker dies and nobody notices.

Two broker processes (`python -m osqueue_broker`, short broker leases) share one queue.json on
moto S3, then on the file backend. A producer (Connect, the default transport) submits jobs
without pause; two workers (REST and WebSocket) run them. Every client finds the leader through
storage. Mid-run the leader is SIGKILLed; the standby takes over.

Checked from the user's side: no submit raised, no worker hook saw a failure; every
acknowledged job ran, none became two jobs, and a job ran twice only as a genuine redelivery
(a new attempt of a lease the crash cut short). The final queue.json is empty and counts each
job completed once. Figures (takeover time, first completion through the new leader, lost and
duplicated jobs) go to test-output/e2e/failover.json.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterable
from typing import Any

import msgspec
from osqueue_client import OsqueueClient, TransportName
from osqueue_storage import open_storage
from osqueue_types import QUEUE_STATE_KEY, QueueState, decode_state
from osqueue_worker import JobContext, Worker

from .._brokers import BrokerFleet
from ._ledger import Event, Ledger
from .conftest import Report

JOB_TYPE = "e2e"
BROKER_ENV = {
    # A standby takes over about one timeout after the leader's last heartbeat.
    "BROKER_HEARTBEAT_INTERVAL_MS": "250",
    "BROKER_HEARTBEAT_TIMEOUT_MS": "1000",
    # A claim whose answer died with the leader comes back after this.
    "JOB_HEARTBEAT_TIMEOUT_MS": "4000",
}
PRODUCERS = 4
SUBMIT_PAUSE_S = 0.02  # per producer loop: about 150 jobs/s in all
BEFORE_KILL_S = 3.0
AFTER_TAKEOVER_S = 3.0
DRAIN_TIMEOUT_S = 30.0


async def produce(
    client: OsqueueClient, ledger: Ledger, seqs: itertools.count[int], stop: asyncio.Event
) -> None:
    """Submit one job after another; a submit that raises is recorded, which fails the test."""
    while not stop.is_set():
        seq = next(seqs)
        try:
            job_id = await client.submit(JOB_TYPE, {"seq": seq})
        except Exception as exc:
            ledger.submit_errors.append(f"seq {seq}: {type(exc).__name__}: {exc}")
        else:
            ledger.record_ack(seq, job_id, client.broker_url)
        await asyncio.sleep(SUBMIT_PAUSE_S)


def recording_worker(client: OsqueueClient, ledger: Ledger, name: str) -> Worker:
    async def handle(payload: Any, ctx: JobContext) -> None:
        with ledger.running(ctx, payload, name):
            # Jobs take a moment, so some are in progress when the leader dies.
            await asyncio.sleep(random.uniform(0.0, 0.02))

    def completed(ctx: JobContext, result: Any) -> None:
        ledger.record_completion(ctx.job_id, client.broker_url)

    def failed(ctx: JobContext, error: BaseException) -> None:
        ledger.hook_errors.append(f"{name} on_failed {ctx.job_id}: {type(error).__name__}: {error}")

    def dead_lettered(ctx: JobContext, error: BaseException) -> None:
        ledger.hook_errors.append(f"{name} on_dead_letter {ctx.job_id}: {type(error).__name__}: {error}")

    return Worker(
        client,
        {JOB_TYPE: handle},
        worker_id=name,
        concurrency=8,
        heartbeat_interval=0.5,
        claim_wait=1.0,
        grace_period=5.0,
        on_completed=completed,
        on_failed=failed,
        on_dead_letter=dead_lettered,
    )


async def test_leader_crash_is_invisible_to_producer_and_workers(
    fleet: BrokerFleet, storage_url: str, report: Report
) -> None:
    env = {"STORAGE_URL": storage_url, **BROKER_ENV}
    brokers = [await fleet.launch("broker-a", env), await fleet.launch("broker-b", env)]
    leader = await fleet.leader()
    standby = next(broker for broker in brokers if broker is not leader)

    ledger = Ledger()
    producer = OsqueueClient(storage=storage_url, timeout=5)
    worker_transports: tuple[TransportName, ...] = ("rest", "ws")
    worker_clients = [OsqueueClient(storage=storage_url, transport=t, timeout=5) for t in worker_transports]
    workers = [
        recording_worker(client, ledger, f"worker-{transport}")
        for client, transport in zip(worker_clients, worker_transports, strict=True)
    ]
    stop_producing = asyncio.Event()
    seqs = itertools.count()
    started = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        producers = [
            asyncio.create_task(produce(producer, ledger, seqs, stop_producing)) for _ in range(PRODUCERS)
        ]
        await asyncio.sleep(BEFORE_KILL_S)
        acked_before_kill = len(ledger.acked)

        killed_at = time.monotonic()
        leader.kill()
        new_leader = await fleet.leader()
        assert new_leader is standby
        takeover_at = time.monotonic()

        await asyncio.sleep(AFTER_TAKEOVER_S)
        stop_producing.set()
        await asyncio.gather(*producers)
        produced_s = time.monotonic() - started
        await drain(producer, ledger)
        drained_s = time.monotonic() - started
        # Raises what stopped a worker for good (a fatal error), if anything did.
        await asyncio.gather(*(worker.stop() for worker in workers))
    finally:
        stop_producing.set()
        await asyncio.gather(*(worker.stop(graceful=False) for worker in workers), return_exceptions=True)
        await asyncio.gather(*(client.aclose() for client in [producer, *worker_clients]))

    state = await read_state(storage_url)
    verdict = ledger.verdict(takeover_at)
    acks_after_kill = [e for e in ledger.acks if e.at > killed_at]
    backend = storage_url.partition("://")[0]
    figures = {
        "backend": backend,
        "takeover_s": round(takeover_at - killed_at, 3),
        "first_completion_via_new_leader_s": _since(killed_at, ledger.completions.values(), new_leader.url),
        "first_ack_via_new_leader_s": _since(killed_at, [ledger.acks], new_leader.url),
        "longest_ack_gap_s": round(_longest_gap([e.at for e in ledger.acks]), 3),
        "acked_before_kill": acked_before_kill,
        "acked_after_kill": len(acks_after_kill),
        "produced_s": round(produced_s, 2),
        "drained_s": round(drained_s, 2),
        **verdict.summary(),
        "submit_errors": len(ledger.submit_errors),
        "worker_hook_errors": len(ledger.hook_errors),
        "final_jobs_left": len(state.jobs),
        "final_completed_total": state.completed_total,
    }
    report("failover", backend, figures)

    assert not ledger.submit_errors, ledger.submit_errors[:10]
    assert not ledger.hook_errors, ledger.hook_errors[:10]
    assert acked_before_kill > 0 and acks_after_kill, "the producer must work on both sides of the crash"
    assert all(e.broker_url == new_leader.url for e in acks_after_kill[-10:])
    assert figures["first_completion_via_new_leader_s"] is not None, "no job completed through the new leader"
    assert verdict.distinct_acked_ids == verdict.acknowledged, "two submits were acknowledged with one id"
    assert not verdict.lost, f"{len(verdict.lost)} acknowledged jobs never ran: {verdict.lost[:10]}"
    assert not verdict.twins, f"one submit became several jobs: {dict(list(verdict.twins.items())[:10])}"
    assert not verdict.unacknowledged_but_ran, verdict.unacknowledged_but_ran[:10]
    assert set(verdict.ran_twice) <= set(verdict.redelivered), "a job ran twice without a redelivery"
    assert set(verdict.completed_twice) <= set(verdict.redelivered)
    assert state.jobs == []
    assert state.completed_total == verdict.jobs_run


async def drain(client: OsqueueClient, ledger: Ledger) -> None:
    """Until every acknowledged job ran and the queue is empty (the last completions landed)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if ledger.all_acked_ran() and (await client.stats()).total == 0:
            return
        await asyncio.sleep(0.1)
    missing = [job_id for job_id in ledger.acked.values() if job_id not in ledger.runs]
    stats = msgspec.to_builtins(await client.stats())
    raise AssertionError(
        f"not drained after {DRAIN_TIMEOUT_S}s: {len(missing)} jobs never ran; stats {stats}"
    )


async def read_state(storage_url: str) -> QueueState:
    storage = open_storage(storage_url)
    try:
        found = await storage.read(QUEUE_STATE_KEY)
    finally:
        await storage.aclose()
    assert found is not None
    return decode_state(found.data)


def _since(start: float, event_lists: Iterable[list[Event]], broker_url: str) -> float | None:
    """Seconds from `start` to the first event after it that went through `broker_url`."""
    times = [e.at for events in event_lists for e in events if e.at > start and e.broker_url == broker_url]
    return round(min(times) - start, 3) if times else None


def _longest_gap(times: list[float]) -> float:
    ordered = sorted(times)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)
