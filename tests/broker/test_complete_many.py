"""Completing a claimed batch in one request and one commit, on every front door.

Partial success: ids the worker holds are completed, every other id (another worker's, an
unknown one, a repeat) comes back in notFound and fails nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import osqueue_proto as pb
import pytest
import websockets
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from openapi_schema_validator import OAS31Validator
from osqueue_broker import BrokerServer
from osqueue_storage import MemoryBackend
from osqueue_types import MAX_CLAIM_LIMIT

from .conftest import TOKEN, StartBroker, claim, submit
from .test_connect import error_info
from .test_ws import Rpc, error_tag, ok


async def _mixed_batch(http: httpx.AsyncClient) -> tuple[list[str], list[str], list[str]]:
    """Two jobs held by w1, one by w2: (request ids, expected completed, expected notFound)."""
    first, second, others = await submit(http, 1), await submit(http, 2), await submit(http, 3)
    await claim(http, "w1", limit=2)
    await claim(http, "w2")
    ids = [second, others, "no-such-job", first, second]
    return ids, [second, first], [others, "no-such-job", second]


async def _completed_total(http: httpx.AsyncClient) -> int:
    total: int = (await http.get("/v1/stats")).json()["completedTotal"]
    return total


def _openapi_reply_schema(document: dict[str, Any]) -> dict[str, Any]:
    ok_reply = document["paths"]["/v1/jobs/complete"]["post"]["responses"]["200"]
    schema: dict[str, Any] = ok_reply["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


async def test_rest_partial_success_in_one_commit(start_broker: StartBroker) -> None:
    storage = MemoryBackend()
    broker = await start_broker(storage)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        ids, completed, not_found = await _mixed_batch(http)
        writes = storage.writes
        response = await http.post("/v1/jobs/complete", json={"workerId": "w1", "jobIds": ids})
        assert response.status_code == 200, response.text
        assert response.json() == {"completed": completed, "notFound": not_found}
        assert storage.writes == writes + 1
        OAS31Validator(_openapi_reply_schema((await http.get("/openapi.json")).json())).validate(
            response.json()
        )

        # The other worker's job is untouched and still its own to complete.
        stats = (await http.get("/v1/stats")).json()
        assert (stats["total"], stats["inProgress"], stats["completedTotal"]) == (1, 1, 2)
        again = await http.post("/v1/jobs/complete", json={"workerId": "w2", "jobIds": [not_found[0]]})
        assert again.json() == {"completed": [not_found[0]], "notFound": []}
        assert "osqueue_jobs_completed_total 3.0" in (await http.get("/metrics")).text


async def test_rest_a_batch_of_nothing_held_succeeds_empty(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)  # unclaimed
    response = await http.post("/v1/jobs/complete", json={"workerId": "w1", "jobIds": [job_id, "x"]})
    assert (response.status_code, response.json()) == (200, {"completed": [], "notFound": [job_id, "x"]})
    assert await _completed_total(http) == 0


async def test_rest_completes_a_whole_claimed_batch(http: httpx.AsyncClient) -> None:
    submitted = await http.post("/v1/jobs/batch", json={"jobs": [{"payload": n} for n in range(1000)]})
    ids = submitted.json()["jobIds"]
    assert [job["jobId"] for job in (await claim(http, limit=1000))["jobs"]] == ids
    response = await http.post("/v1/jobs/complete", json={"workerId": "w1", "jobIds": ids})
    assert response.json() == {"completed": ids, "notFound": []}
    assert await _completed_total(http) == 1000


BAD_BODIES = [
    {"workerId": "w1", "jobIds": []},
    {"workerId": "w1", "jobIds": ["a"] * (MAX_CLAIM_LIMIT + 1)},
    {"workerId": "w1", "jobIds": [""]},
    {"workerId": "w1", "jobIds": "a"},
    {"workerId": "", "jobIds": ["a"]},
    {"jobIds": ["a"]},
    {"workerId": "w1"},
    {"workerId": "w1", "jobIds": ["a"], "queue": "other"},
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_rest_validation_errors(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    job_id = await submit(http, 1)
    await claim(http, "w1")
    response = await http.post("/v1/jobs/complete", json=body)
    assert (response.status_code, response.json()["_tag"]) == (400, "InvalidRequestError")
    assert (await http.get(f"/v1/jobs/{job_id}")).json()["status"] == "in_progress"


async def test_rest_auth(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    good = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=broker.url, headers=good) as http:
        job_id = await submit(http, 1)
        await claim(http, "w1")
        body = {"workerId": "w1", "jobIds": [job_id]}
        for headers in ({"authorization": ""}, {"authorization": "Bearer wrong"}):
            response = await http.post("/v1/jobs/complete", json=body, headers=headers)
            assert (response.status_code, response.json()["_tag"]) == (401, "AuthError")
        response = await http.post("/v1/jobs/complete", json=body)
        assert response.json() == {"completed": [job_id], "notFound": []}


async def test_the_starlette_app_alone_serves_the_route(broker: BrokerServer) -> None:
    """The route is on the app's router too, not only on the hot-path shortcut."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=broker.app), base_url="http://b") as http:
        job_id = await submit(http, 1)
        await claim(http)
        response = await http.post("/v1/jobs/complete", json={"workerId": "w1", "jobIds": [job_id]})
        assert response.json() == {"completed": [job_id], "notFound": []}
        # A job whose id is "complete" is still readable at its own path.
        assert (await http.get("/v1/jobs/complete")).json()["_tag"] == "JobNotFoundError"


async def test_websocket_complete_jobs(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=broker.url, headers=headers) as http:
        ids, completed, not_found = await _mixed_batch(http)
        url = f"ws://{broker.address}/v1/ws"
        async with websockets.connect(url) as ws:
            rpc = Rpc(ws)
            assert error_tag(await rpc.call("completeJobs", {"workerId": "w1", "jobIds": ids})) == "AuthError"
            assert ok(await rpc.call("auth", {"token": TOKEN})) == {}
            for params in ({"workerId": "w1", "jobIds": []}, {"workerId": "w1"}, None):
                assert error_tag(await rpc.call("completeJobs", params)) == "InvalidRequestError"
            reply = ok(await rpc.call("completeJobs", {"workerId": "w1", "jobIds": ids}))
            assert reply == {"completed": completed, "notFound": not_found}
        assert await _completed_total(http) == 2


async def test_connect_complete_jobs(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=broker.url, headers=headers) as http:
        ids, completed, not_found = await _mixed_batch(http)
        async with pb.QueueServiceClient(broker.url) as anonymous:
            with pytest.raises(ConnectError) as caught:
                await anonymous.complete_jobs(pb.CompleteJobsRequest(worker_id="w1", job_ids=ids))
            assert caught.value.code == Code.UNAUTHENTICATED
        for proto_json in (False, True):
            async with pb.QueueServiceClient(broker.url, proto_json=proto_json) as client:
                bad_requests = [
                    pb.CompleteJobsRequest(worker_id="w1"),
                    pb.CompleteJobsRequest(job_ids=ids),
                    pb.CompleteJobsRequest(worker_id="w1", job_ids=["a"] * (MAX_CLAIM_LIMIT + 1)),
                    pb.CompleteJobsRequest(worker_id="w1", job_ids=["a", ""]),
                    pb.CompleteJobsRequest(worker_id="w1", job_ids=["a"], queue="other"),
                ]
                for request in bad_requests:
                    with pytest.raises(ConnectError) as caught:
                        await client.complete_jobs(request, headers=headers)
                    assert caught.value.code == Code.INVALID_ARGUMENT
                    assert error_info(caught.value).tag == "InvalidRequestError"
        async with pb.QueueServiceClient(broker.url) as client:
            reply = await client.complete_jobs(
                pb.CompleteJobsRequest(worker_id="w1", job_ids=ids), headers=headers
            )
        assert (list(reply.completed), list(reply.not_found)) == (completed, not_found)
        assert await _completed_total(http) == 2


async def test_connect_json_body_names(broker: BrokerServer) -> None:
    """Connect's JSON codec uses the proto3 JSON names: workerId, jobIds, notFound."""
    async with httpx.AsyncClient(base_url=broker.url) as http:
        job_id = await submit(http, 1)
        await claim(http)
        response = await http.post(
            "/osqueue.v1.QueueService/CompleteJobs",
            content=json.dumps({"workerId": "w1", "jobIds": [job_id, "x"]}),
            headers={"content-type": "application/json"},
        )
        assert response.json() == {"completed": [job_id], "notFound": ["x"]}
