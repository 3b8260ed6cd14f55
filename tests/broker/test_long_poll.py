"""Long-poll claims: woken by the commit that makes a job claimable, one waiter per job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import osqueue_proto as pb
import pytest
from osqueue_broker import BrokerServer
from osqueue_types import StorageBackend

from .conftest import StartBroker, claim, submit


async def test_parked_claim_gets_a_new_job_within_a_commit(
    start_broker: StartBroker, storage: StorageBackend
) -> None:
    broker = await start_broker(storage)
    async with (
        httpx.AsyncClient(base_url=broker.url) as waiter,
        httpx.AsyncClient(base_url=broker.url) as producer,
    ):
        await submit(producer, "warm-up")  # the first S3 request pays for the connection
        await claim(producer)
        latencies = []
        for n in range(3):
            poll = asyncio.create_task(claim(waiter, "w", waitMs=10_000))
            await asyncio.sleep(0.1)
            assert not poll.done()
            started = time.perf_counter()
            job_id = await submit(producer, n)
            submitted = time.perf_counter()
            assert (await asyncio.wait_for(poll, 5))["jobId"] == job_id
            latencies.append((submitted - started, time.perf_counter() - submitted))
    # After the submit is acknowledged the claim needs one more commit (its own): no polling.
    for submit_s, claim_s in latencies:
        assert claim_s < max(0.25, 3 * submit_s), latencies


async def test_wait_ends_empty_after_wait_ms(http: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    assert await claim(http, waitMs=300) == {}
    assert 0.28 < time.perf_counter() - started < 2
    assert await claim(http, waitMs=200, limit=3) == {"jobs": []}


async def test_wait_is_cut_to_the_broker_maximum(start_broker: StartBroker) -> None:
    broker = await start_broker(max_wait_ms=200)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        started = time.perf_counter()
        assert await claim(http, waitMs=60_000) == {}
        assert time.perf_counter() - started < 2


async def test_one_job_wakes_one_waiter(broker: BrokerServer, http: httpx.AsyncClient) -> None:
    polls = [asyncio.create_task(claim(http, f"w{i}", waitMs=3000)) for i in range(10)]
    await asyncio.sleep(0.2)
    engine = broker.election.engine if broker.election else None
    assert engine is not None
    mutations = engine.stats.mutations
    job_id = await submit(http, "only one")
    done, pending = await asyncio.wait(polls, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.2)
    assert [task.result()["jobId"] for task in done] == [job_id]
    assert all(not task.done() for task in pending)
    # The enqueue and one claim: the other nine waiters were never sent to claim.
    assert engine.stats.mutations - mutations == 2
    ids = await asyncio.gather(*(submit(http, i) for i in range(9)))
    results = await asyncio.wait_for(asyncio.gather(*pending), 3)
    assert sorted(r["jobId"] for r in results) == sorted(ids)


async def test_type_filters_pick_the_right_waiter(http: httpx.AsyncClient) -> None:
    emails = asyncio.create_task(claim(http, "e", types=["email"], waitMs=3000))
    sms = asyncio.create_task(claim(http, "s", types=["sms"], waitMs=3000))
    await asyncio.sleep(0.1)
    job_id = await submit(http, 1, type="sms")
    assert (await asyncio.wait_for(sms, 2))["jobId"] == job_id
    await asyncio.sleep(0.1)
    assert not emails.done()
    job_id = await submit(http, 2, type="email")
    assert (await asyncio.wait_for(emails, 2))["jobId"] == job_id


async def test_delayed_job_wakes_a_parked_claim_when_due(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1, delayMs=300)
    started = time.perf_counter()
    assert (await claim(http, waitMs=5000))["jobId"] == job_id
    assert 0.25 < time.perf_counter() - started < 1.5


async def until_parked(broker: BrokerServer) -> None:
    for _ in range(300):  # the Connect client's first request also pays for its connection
        if broker.ops.parked_claims:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the claim did not park")


async def parked_rest_claim(broker: BrokerServer) -> str | None:
    async with httpx.AsyncClient(base_url=broker.url) as http:
        job_id: str | None = (await claim(http, "parked", waitMs=5000)).get("jobId")
        return job_id


async def parked_connect_claim(broker: BrokerServer) -> str | None:
    async with pb.QueueServiceClient(broker.url) as client:
        reply = await client.claim_job(pb.ClaimJobRequest(worker_id="parked", wait_ms=5000))
        return reply.job_id or None


@pytest.mark.parametrize("parked_claim", [parked_rest_claim, parked_connect_claim], ids=["rest", "connect"])
async def test_delayed_job_submitted_while_a_claim_is_parked_wakes_it_when_due(
    broker: BrokerServer,
    http: httpx.AsyncClient,
    parked_claim: Callable[[BrokerServer], Coroutine[Any, Any, str | None]],
) -> None:
    poll = asyncio.create_task(parked_claim(broker))
    await until_parked(broker)
    started = time.perf_counter()
    job_id = await submit(http, 1, delayMs=300)
    assert await asyncio.wait_for(poll, 5) == job_id
    assert 0.25 < time.perf_counter() - started < 1.5


async def test_fail_with_a_retry_delay_wakes_a_parked_claim_when_due(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)
    await claim(http, "w1")
    poll = asyncio.create_task(claim(http, "w2", waitMs=5000))
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "retryDelayMs": 300})
    claimed = await asyncio.wait_for(poll, 5)
    assert (claimed["jobId"], claimed["attempt"]) == (job_id, 2)
    assert 0.25 < time.perf_counter() - started < 1.5


async def test_one_timer_wakes_claims_at_the_earliest_run_at(http: httpx.AsyncClient) -> None:
    polls = [asyncio.create_task(claim(http, f"w{i}", waitMs=5000)) for i in range(2)]
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    later = await submit(http, "later", delayMs=600)
    sooner = await submit(http, "sooner", delayMs=200)  # replaces the timer set for the first
    first = await asyncio.wait_for(asyncio.shield(polls[0]), 5)
    assert first["jobId"] == sooner and time.perf_counter() - started < 0.5
    second = await asyncio.wait_for(polls[1], 5)
    assert second["jobId"] == later and 0.55 < time.perf_counter() - started < 1.5


async def test_failed_job_given_back_wakes_a_waiter(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)
    await claim(http, "w1")
    poll = asyncio.create_task(claim(http, "w2", waitMs=3000))
    await asyncio.sleep(0.1)
    await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1"})
    assert (await asyncio.wait_for(poll, 2))["attempt"] == 2


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/jobs/claim HTTP/1.1\r\n",
        b"POST /osqueue.v1.QueueService/ClaimJob HTTP/1.1\r\nconnect-protocol-version: 1\r\n",
    ],
    ids=["rest", "connect"],
)
async def test_disconnected_client_does_not_take_a_job(broker: BrokerServer, head: bytes) -> None:
    host, port = broker.address.rsplit(":", 1)
    _, writer = await asyncio.open_connection(host, int(port))
    body = b'{"workerId": "gone", "waitMs": 5000}'
    writer.write(
        head
        + b"host: x\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    assert broker.ops.parked_claims == 1
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.1)
    assert broker.ops.parked_claims == 0  # withdrawn, not left to take the next job
    async with httpx.AsyncClient(base_url=broker.url) as http:
        job_id = await submit(http, 1)
        assert (await claim(http, "here"))["jobId"] == job_id


async def test_shutdown_answers_parked_claims(start_broker: StartBroker) -> None:
    broker = await start_broker()
    async with httpx.AsyncClient(base_url=broker.url) as http:
        poll = asyncio.create_task(http.post("/v1/jobs/claim", json={"workerId": "w", "waitMs": 30_000}))
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        await broker.stop()
        response = await asyncio.wait_for(poll, 5)
        assert (response.status_code, response.json()["_tag"]) == (503, "ShuttingDownError")
        assert time.perf_counter() - started < 2
