"""The Connect front door, with the official connect-python client and raw HTTP requests."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import osqueue_proto as pb
import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from osqueue_broker import BrokerServer

from .conftest import TOKEN, StartBroker

PROTO_HEADERS = {"content-type": "application/proto", "connect-protocol-version": "1"}


def error_info(error: ConnectError) -> pb.ErrorInfo:
    (detail,) = error.details
    info = pb.ErrorInfo()
    assert detail.Unpack(info)
    return info


@pytest.fixture(params=["proto", "json"])
async def client(
    request: pytest.FixtureRequest, broker: BrokerServer
) -> AsyncIterator[pb.QueueServiceClient]:
    async with pb.QueueServiceClient(broker.url, proto_json=request.param == "json") as client:
        yield client


async def test_every_rpc(client: pb.QueueServiceClient, broker: BrokerServer) -> None:
    submitted = await client.submit_job(
        pb.SubmitJobRequest(payload=b'{"to": "x"}', type="email", max_attempts=2)
    )
    batch = await client.submit_jobs(
        pb.SubmitJobsRequest(
            jobs=[
                pb.SubmitJobRequest(payload=b"[1]", priority=5),
                pb.SubmitJobRequest(payload=b'"d"', delay_ms=60_000),
            ]
        )
    )
    assert len(batch.job_ids) == 2
    stats = await client.get_stats(pb.GetStatsRequest())
    assert (stats.total, stats.unclaimed, stats.in_progress, stats.delayed, stats.broker_address) == (
        3,
        3,
        0,
        1,
        broker.address,
    )
    # The leader's lease heartbeat, as REST's brokerHeartbeat (the state's brokerHeartbeat).
    assert 0 < stats.broker_heartbeat <= broker.ops.broker_heartbeat()
    (waiting,) = (await client.list_jobs(pb.ListJobsRequest(status="delayed"))).jobs
    assert (waiting.id, waiting.status, waiting.payload) == (batch.job_ids[1], "unclaimed", b'"d"')
    assert not (await client.list_jobs(pb.ListJobsRequest(status="delayed", type="email"))).jobs
    assert not (await client.list_jobs(pb.ListJobsRequest(status="delayed", offset=1, limit=1))).jobs

    first = await client.claim_job(pb.ClaimJobRequest(worker_id="w"))
    assert (first.job_id, first.payload, first.attempt) == (batch.job_ids[0], b"[1]", 1)
    second = await client.claim_job(pb.ClaimJobRequest(worker_id="w", types=["email"]))
    assert (second.job_id, second.payload, second.type, second.max_attempts) == (
        submitted.job_id,
        b'{"to": "x"}',
        "email",
        2,
    )
    empty = await client.claim_job(pb.ClaimJobRequest(worker_id="w"))
    assert not empty.HasField("job_id") and empty.ByteSize() == 0
    assert len((await client.claim_job(pb.ClaimJobRequest(worker_id="w", limit=10))).jobs) == 0

    await client.heartbeat(pb.HeartbeatRequest(job_id=second.job_id, worker_id="w"))
    job = (await client.get_job(pb.GetJobRequest(job_id=second.job_id))).job
    assert (job.status, job.worker_id, job.attempts, job.payload) == ("in_progress", "w", 1, b'{"to": "x"}')
    assert job.heartbeat > 0 and job.created_at > 0

    failed = await client.fail_job(pb.FailJobRequest(job_id=second.job_id, worker_id="w", error="smtp down"))
    assert not failed.dead_lettered
    again = await client.claim_job(pb.ClaimJobRequest(worker_id="w", types=["email"], limit=1))
    assert again.jobs[0].attempt == 2 and not again.HasField("job_id")
    dead = await client.fail_job(pb.FailJobRequest(job_id=second.job_id, worker_id="w"))
    assert dead.dead_lettered
    letters = await client.list_dead_letters(pb.ListDeadLettersRequest())
    assert letters.total == 1 and letters.dead_letters[0].job.last_error == "smtp down"
    assert (letters.dead_letters[0].job.dead_reason, letters.dead_letters[0].job.dead_at) == ("", 0)
    letter = (await client.get_job(pb.GetJobRequest(job_id=second.job_id))).job
    assert (letter.status, letter.dead_reason, letter.dead_at) == (
        "dead_letter",
        "max attempts reached",
        letters.dead_letters[0].dead_at,
    )
    assert (await client.requeue_dead_letters(pb.DeadLettersRequest(all=True))).count == 1
    assert (await client.delete_dead_letters(pb.DeadLettersRequest(all=True))).count == 0

    await client.complete_job(pb.CompleteJobRequest(job_id=first.job_id, worker_id="w"))
    listing = await client.list_jobs(pb.ListJobsRequest())
    assert (listing.total, listing.completed_total, listing.delayed) == (2, 1, 1)
    assert listing.broker_heartbeat >= stats.broker_heartbeat
    assert {j.payload for j in listing.jobs} == {b'{"to": "x"}', b'"d"'}
    # A requeued dead letter goes to the tail.
    (delayed,) = (await client.list_jobs(pb.ListJobsRequest(status="unclaimed", limit=1))).jobs
    assert delayed.payload == b'"d"' and delayed.run_at > delayed.created_at
    (requeued,) = (await client.list_jobs(pb.ListJobsRequest(type="email", offset=0, limit=5))).jobs
    assert (requeued.attempts, requeued.last_error) == (0, "smtp down")
    assert (requeued.dead_reason, requeued.dead_at) == ("", 0)


async def test_errors_carry_error_info(client: pb.QueueServiceClient) -> None:
    with pytest.raises(ConnectError) as caught:
        await client.complete_job(pb.CompleteJobRequest(job_id="nope", worker_id="w"))
    assert caught.value.code == Code.NOT_FOUND
    assert error_info(caught.value).tag == "JobNotFoundError"

    bad_requests = [
        client.submit_job(pb.SubmitJobRequest(payload=b"{not json")),
        client.submit_job(pb.SubmitJobRequest(payload=b"")),
        client.submit_job(pb.SubmitJobRequest(payload=b'"\xff"')),
        client.submit_job(pb.SubmitJobRequest(payload=b"[" * 100_000 + b"]" * 100_000)),
        client.submit_job(pb.SubmitJobRequest(payload=b"1", max_attempts=0)),
        client.submit_job(pb.SubmitJobRequest(payload=b"1", delay_ms=-1)),
        client.submit_job(pb.SubmitJobRequest(payload=b"1", queue="other")),
        client.claim_job(pb.ClaimJobRequest(worker_id="")),
        client.claim_job(pb.ClaimJobRequest(worker_id="w", limit=0)),
        client.claim_job(pb.ClaimJobRequest(worker_id="w", wait_ms=70_000)),
        client.heartbeat(pb.HeartbeatRequest(job_id="", worker_id="w")),
        client.requeue_dead_letters(pb.DeadLettersRequest()),
        client.list_jobs(pb.ListJobsRequest(status="weird")),
    ]
    for call in bad_requests:
        with pytest.raises(ConnectError) as caught:
            await call
        assert caught.value.code == Code.INVALID_ARGUMENT, caught.value.message
        assert error_info(caught.value).tag == "InvalidRequestError"
    assert (await client.get_stats(pb.GetStatsRequest())).total == 0


async def test_auth(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    async with pb.QueueServiceClient(broker.url) as client:
        for headers in ({}, {"authorization": "Bearer wrong"}):
            with pytest.raises(ConnectError) as caught:
                await client.get_stats(pb.GetStatsRequest(), headers=headers)
            assert caught.value.code == Code.UNAUTHENTICATED
            assert error_info(caught.value).tag == "AuthError"
        stats = await client.get_stats(pb.GetStatsRequest(), headers={"authorization": f"Bearer {TOKEN}"})
        assert stats.total == 0


async def test_typescript_style_requests(broker: BrokerServer) -> None:
    """Binary protobuf, chunked bodies (0 bytes for GetStats/ListJobs), gzip accepted."""
    base = f"{broker.url}/osqueue.v1.QueueService"
    headers = {**PROTO_HEADERS, "accept-encoding": "gzip"}

    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        if data:
            yield data

    async with httpx.AsyncClient() as http:
        for method in ("GetStats", "ListJobs"):
            response = await http.post(f"{base}/{method}", content=chunked(b""), headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/proto"
            assert response.headers.get("content-encoding") != "gzip"
        submit = pb.SubmitJobRequest(payload=b'{"n": 1}', type="t").SerializeToString()
        response = await http.post(f"{base}/SubmitJob", content=chunked(submit), headers=headers)
        job_id = pb.SubmitJobResponse.FromString(response.content).job_id
        claim = pb.ClaimJobRequest(worker_id="w").SerializeToString()
        response = await http.post(f"{base}/ClaimJob", content=claim, headers=headers)
        assert pb.ClaimJobResponse.FromString(response.content).job_id == job_id
        response = await http.post(f"{base}/ClaimJob", content=claim, headers=headers)
        assert (response.status_code, response.content) == (200, b"")


async def test_undecodable_requests_are_invalid_argument(broker: BrokerServer) -> None:
    base = f"{broker.url}/osqueue.v1.QueueService"
    json_headers = {"content-type": "application/json", "connect-protocol-version": "1"}
    async with httpx.AsyncClient() as http:
        for content, headers in [
            (b"\xff\xff\xff\xff", PROTO_HEADERS),
            (b"{not json", json_headers),
            (b'{"workerId": 5}', json_headers),
            (b'{"noSuchField": 1}', json_headers),
        ]:
            response = await http.post(f"{base}/ClaimJob", content=content, headers=headers)
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "invalid_argument"
        response = await http.post(f"{base}/NoSuchMethod", content=b"", headers=PROTO_HEADERS)
        assert response.status_code == 404


async def test_request_size_limit(start_broker: StartBroker) -> None:
    broker = await start_broker(max_payload_bytes=1000, max_request_bytes=4000)
    async with pb.QueueServiceClient(broker.url, send_compression=None) as client:
        with pytest.raises(ConnectError) as caught:
            await client.submit_job(pb.SubmitJobRequest(payload=json.dumps("x" * 2000).encode()))
        assert caught.value.code == Code.RESOURCE_EXHAUSTED
        with pytest.raises(ConnectError) as caught:
            jobs = [pb.SubmitJobRequest(payload=b'"' + b"y" * 900 + b'"')] * 5
            await client.submit_jobs(pb.SubmitJobsRequest(jobs=jobs))
        assert caught.value.code == Code.RESOURCE_EXHAUSTED
        assert error_info(caught.value).tag == "PayloadTooLargeError"
        assert (await client.get_stats(pb.GetStatsRequest())).total == 0


async def test_gzip_bomb_is_cut_off(start_broker: StartBroker) -> None:
    broker = await start_broker(max_payload_bytes=1000, max_request_bytes=4000)
    bomb = gzip.compress(b"\0" * 20_000_000)
    headers = {**PROTO_HEADERS, "content-encoding": "gzip"}
    async with httpx.AsyncClient() as http:
        url = f"{broker.url}/osqueue.v1.QueueService/SubmitJob"
        response = await http.post(url, content=bomb, headers=headers)
        assert (response.status_code, response.json()["code"]) == (429, "resource_exhausted")
        response = await http.post(url, content=b"not gzip", headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_argument")
        small = gzip.compress(pb.SubmitJobRequest(payload=b"1").SerializeToString())
        response = await http.post(url, content=small, headers=headers)
        assert response.status_code == 200


async def test_only_large_responses_are_gzipped(broker: BrokerServer) -> None:
    async with pb.QueueServiceClient(broker.url) as client:
        big = json.dumps("z" * 20_000).encode()
        await client.submit_jobs(pb.SubmitJobsRequest(jobs=[pb.SubmitJobRequest(payload=big)] * 5))
        assert len((await client.list_jobs(pb.ListJobsRequest())).jobs) == 5
    base = f"{broker.url}/osqueue.v1.QueueService"
    headers = {**PROTO_HEADERS, "accept-encoding": "gzip"}
    async with httpx.AsyncClient() as http:
        small = await http.post(f"{base}/GetStats", content=b"", headers=headers)
        assert small.headers.get("content-encoding") != "gzip"
        # Read the raw bytes to see what went over the wire.
        async with http.stream("POST", f"{base}/ListJobs", content=b"", headers=headers) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        assert response.headers["content-encoding"] == "gzip"
        assert len(pb.ListJobsResponse.FromString(gzip.decompress(raw)).jobs) == 5
        assert len(raw) < 10_000


async def test_long_poll_claim(client: pb.QueueServiceClient) -> None:
    poll = asyncio.create_task(client.claim_job(pb.ClaimJobRequest(worker_id="w", wait_ms=5000)))
    await asyncio.sleep(0.1)
    assert not poll.done()
    job_id = (await client.submit_job(pb.SubmitJobRequest(payload=b"1"))).job_id
    assert (await asyncio.wait_for(poll, 2)).job_id == job_id


async def test_idempotent_retry(client: pb.QueueServiceClient) -> None:
    request = pb.SubmitJobRequest(payload=b'{"order": 9}', idempotency_key="order-9")
    first = await client.submit_job(request)
    again = await client.submit_job(request)
    assert first.job_id == again.job_id
    assert (await client.get_stats(pb.GetStatsRequest())).total == 1
