"""A fail with `release` on every front door: the job goes back without spending the attempt.

A worker that shuts down gives its unfinished jobs back with `release`; a job on its last
attempt is then not dead-lettered, and `release` with `deadLetter` is an InvalidRequestError.
"""

from __future__ import annotations

import json

import httpx
import osqueue_proto as pb
import pytest
import websockets
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName
from osqueue_types import InvalidRequestError, JobNotFoundError

from .conftest import StartBroker, claim, submit
from .test_connect import error_info
from .test_ws import Rpc, error_tag, ok


async def _last_attempt(http: httpx.AsyncClient) -> str:
    """A job with max_attempts=1, claimed by w1 (its first and last attempt)."""
    job_id = await submit(http, {"n": 1}, maxAttempts=1)
    assert (await claim(http, "w1"))["attempt"] == 1
    return job_id


async def _assert_back_unclaimed(http: httpx.AsyncClient, job_id: str, last_error: str | None) -> None:
    job = (await http.get(f"/v1/jobs/{job_id}")).json()
    assert (job["status"], job["attempts"], job.get("workerId")) == ("unclaimed", 0, None)
    assert job.get("lastError") == last_error
    stats = (await http.get("/v1/stats")).json()
    assert (stats["unclaimed"], stats["deadLetters"]) == (1, 0)
    again = await claim(http, "w2")
    assert (again["jobId"], again["attempt"]) == (job_id, 1)


async def test_rest_release(http: httpx.AsyncClient) -> None:
    job_id = await _last_attempt(http)
    both = await http.post(
        f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "release": True, "deadLetter": True}
    )
    assert (both.status_code, both.json()["_tag"]) == (400, "InvalidRequestError")
    wrong = await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w2", "release": True})
    assert (wrong.status_code, wrong.json()["_tag"]) == (404, "JobNotFoundError")
    bad = await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "release": "yes"})
    assert (bad.status_code, bad.json()["_tag"]) == (400, "InvalidRequestError")

    body = {"workerId": "w1", "release": True, "error": "worker shutting down"}
    response = await http.post(f"/v1/jobs/{job_id}/fail", json=body)
    assert (response.status_code, response.json()) == (200, {"deadLettered": False})
    await _assert_back_unclaimed(http, job_id, "worker shutting down")
    # A release is not a failure of the job.
    assert "osqueue_jobs_failed_total 0.0" in (await http.get("/metrics")).text

    document = (await http.get("/openapi.json")).json()
    assert document["components"]["schemas"]["FailJobBody"]["properties"]["release"] == {
        "type": "boolean",
        "default": False,
    }


async def test_rest_release_keeps_a_retry_delay(http: httpx.AsyncClient) -> None:
    job_id = await _last_attempt(http)
    body = {"workerId": "w1", "release": True, "retryDelayMs": 60_000}
    assert (await http.post(f"/v1/jobs/{job_id}/fail", json=body)).json() == {"deadLettered": False}
    job = (await http.get(f"/v1/jobs/{job_id}")).json()
    assert (job["status"], job["attempts"], job["runAt"] > 0) == ("unclaimed", 0, True)
    assert (await http.get("/v1/stats")).json()["delayed"] == 1
    assert await claim(http, "w2") == {}


async def test_websocket_release(broker: BrokerServer, http: httpx.AsyncClient) -> None:
    job_id = await _last_attempt(http)
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        rpc = Rpc(ws)
        both = {"jobId": job_id, "workerId": "w1", "release": True, "deadLetter": True}
        assert error_tag(await rpc.call("failJob", both)) == "InvalidRequestError"
        wrong = {"jobId": job_id, "workerId": "w2", "release": True}
        assert error_tag(await rpc.call("failJob", wrong)) == "JobNotFoundError"
        reply = ok(await rpc.call("failJob", {"jobId": job_id, "workerId": "w1", "release": True}))
        assert reply == {"deadLettered": False}
    await _assert_back_unclaimed(http, job_id, None)


@pytest.mark.parametrize("proto_json", [False, True])
async def test_connect_release(broker: BrokerServer, http: httpx.AsyncClient, proto_json: bool) -> None:
    job_id = await _last_attempt(http)
    async with pb.QueueServiceClient(broker.url, proto_json=proto_json, send_compression=None) as client:
        refused = [
            (
                pb.FailJobRequest(job_id=job_id, worker_id="w1", release=True, dead_letter=True),
                Code.INVALID_ARGUMENT,
            ),
            (pb.FailJobRequest(job_id=job_id, worker_id="w2", release=True), Code.NOT_FOUND),
        ]
        for request, code in refused:
            with pytest.raises(ConnectError) as caught:
                await client.fail_job(request)
            assert caught.value.code == code
            assert error_info(caught.value).tag == (
                "InvalidRequestError" if code == Code.INVALID_ARGUMENT else "JobNotFoundError"
            )
        reply = await client.fail_job(
            pb.FailJobRequest(job_id=job_id, worker_id="w1", release=True, error="stopping")
        )
    assert not reply.dead_lettered
    await _assert_back_unclaimed(http, job_id, "stopping")


async def test_connect_json_field_name(broker: BrokerServer, http: httpx.AsyncClient) -> None:
    """Connect's JSON codec names the field `release`, like the REST body."""
    job_id = await _last_attempt(http)
    response = await http.post(
        "/osqueue.v1.QueueService/FailJob",
        content=json.dumps({"jobId": job_id, "workerId": "w1", "release": True}),
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()) == (200, {})
    await _assert_back_unclaimed(http, job_id, None)


async def test_client_release_on_every_transport(start_broker: StartBroker, transport: TransportName) -> None:
    broker = await start_broker()
    async with OsqueueClient(broker.url, transport=transport, failover_deadline=0) as client:
        job_id = await client.submit(None, {"n": 1}, max_attempts=1)
        (job,) = await client.claim("w1")
        with pytest.raises(InvalidRequestError):
            await client.fail(job_id, "w1", release=True, dead_letter=True)
        with pytest.raises(JobNotFoundError):
            await client.fail(job_id, "w2", release=True)
        assert not await client.fail(job_id, "w1", RuntimeError("shutting down"), release=True)
        info = await client.get_job(job_id)
        assert (info.status, info.attempts, info.last_error) == (
            "unclaimed",
            0,
            "RuntimeError: shutting down",
        )
        (again,) = await client.claim("w2")
        assert (again.id, again.attempt) == (job.id, 1)
        assert await client.fail(job_id, "w2")  # a real failure on the last attempt dead-letters it
        assert (await client.stats()).dead_letters == 1
