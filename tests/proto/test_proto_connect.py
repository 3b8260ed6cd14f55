"""The generated Connect stubs, served from Starlette by uvicorn and called over real HTTP.

This is the arrangement the broker uses (`Mount(app.path, app=app)`) and the one the README shows.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import osqueue_proto as pb
import pytest
import uvicorn
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from starlette.applications import Starlette
from starlette.routing import Mount


class InMemoryQueue(pb.QueueService):
    """Just enough of a queue to exercise the stubs; unlisted RPCs answer `unimplemented`."""

    def __init__(self) -> None:
        self.jobs: list[pb.SubmitJobRequest] = []

    async def submit_job(self, request: pb.SubmitJobRequest, ctx: RequestContext) -> pb.SubmitJobResponse:
        self.jobs.append(request)
        return pb.SubmitJobResponse(job_id=f"job-{len(self.jobs)}")

    async def claim_job(self, request: pb.ClaimJobRequest, ctx: RequestContext) -> pb.ClaimJobResponse:
        if not self.jobs:
            return pb.ClaimJobResponse()
        job = self.jobs.pop(0)
        return pb.ClaimJobResponse(job_id="job-1", payload=job.payload, type=job.type, attempt=1)

    async def complete_job(
        self, request: pb.CompleteJobRequest, ctx: RequestContext
    ) -> pb.CompleteJobResponse:
        detail = pb.ErrorInfo(tag="JobNotFoundError")
        raise ConnectError(Code.NOT_FOUND, f"job {request.job_id} not found", details=[detail])


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    connect_app = pb.QueueServiceASGIApplication(InMemoryQueue(), compressions=[])
    app = Starlette(routes=[Mount(connect_app.path, app=connect_app)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


@pytest.mark.parametrize("proto_json", [False, True])
async def test_client_calls_the_mounted_app(base_url: str, proto_json: bool) -> None:
    async with pb.QueueServiceClient(base_url, proto_json=proto_json, send_compression=None) as client:
        submitted = await client.submit_job(pb.SubmitJobRequest(payload=b'{"n":1}', type="email"))
        assert submitted.job_id == "job-1"
        claimed = await client.claim_job(pb.ClaimJobRequest(worker_id="w1"))
        assert (claimed.job_id, claimed.payload, claimed.type) == ("job-1", b'{"n":1}', "email")
        assert claimed.attempt == 1
        nothing = await client.claim_job(pb.ClaimJobRequest(worker_id="w1"))
        assert not nothing.HasField("job_id")


async def test_errors_carry_an_error_info_detail(base_url: str) -> None:
    async with pb.QueueServiceClient(base_url, send_compression=None) as client:
        with pytest.raises(ConnectError) as raised:
            await client.complete_job(pb.CompleteJobRequest(job_id="nope", worker_id="w1"))
        assert raised.value.code == Code.NOT_FOUND
        assert raised.value.message == "job nope not found"
        [detail] = raised.value.details
        info = pb.ErrorInfo()
        assert detail.Unpack(info)
        assert info.tag == "JobNotFoundError"

        with pytest.raises(ConnectError) as unimplemented:
            await client.get_stats(pb.GetStatsRequest())
        assert unimplemented.value.code == Code.UNIMPLEMENTED


async def test_typescript_style_request_gets_an_empty_no_job_answer(base_url: str) -> None:
    # What the TypeScript client sends: binary protobuf, protocol version header, gzip accepted.
    headers = {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        "accept-encoding": "gzip",
    }
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/osqueue.v1.QueueService/ClaimJob", content=b"", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/proto"
    assert response.headers["content-encoding"] == "identity"  # compressions=[] turns gzip off
    assert response.content == b""


async def test_gzip_requests_are_refused_when_the_app_has_no_compressions(base_url: str) -> None:
    # The connect-python client gzips requests by default; an app built with compressions=[]
    # accepts identity only, so clients of such an app must pass send_compression=None.
    async with pb.QueueServiceClient(base_url) as client:
        with pytest.raises(ConnectError) as raised:
            await client.submit_job(pb.SubmitJobRequest(payload=b"{}"))
    assert raised.value.code == Code.UNIMPLEMENTED
    assert "unknown compression: 'gzip'" in raised.value.message
