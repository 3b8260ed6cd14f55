"""The operations the benchmark drives, over each front door, without the osqueue client.

Every producer or worker task owns one `QueueConnection`. REST and Connect go through
`RawHttpConnection` (JSON bodies, protobuf bodies); WebSocket through `websockets` directly
(see `_ws.py`).
"""

from __future__ import annotations

from typing import Literal, Protocol

from osqueue_proto.v1 import queue_pb2 as pb

from . import _wire as wire
from ._http import RawHttpConnection

Transport = Literal["rest", "ws", "connect"]
TRANSPORTS: tuple[Transport, ...] = ("rest", "ws", "connect")


class QueueConnection(Protocol):
    async def submit(self, payload: bytes) -> str:
        """Submit one job whose payload is the JSON text `payload`; return its id."""
        ...

    async def submit_many(self, payloads: list[bytes]) -> list[str]:
        """Submit jobs in one request (one commit); return their ids."""
        ...

    async def claim(self, worker_id: str, *, wait_ms: int, limit: int | None) -> list[str]:
        """Claim one job (`limit=None`, the TypeScript shape) or up to `limit`; return the ids."""
        ...

    async def complete(self, job_id: str, worker_id: str) -> None: ...

    async def complete_many(self, job_ids: list[str], worker_id: str) -> list[str]:
        """Complete jobs in one request (one commit); return the ids that were not completed."""
        ...

    async def close(self) -> None: ...


class RestConnection:
    def __init__(self, http: RawHttpConnection) -> None:
        self._http = http

    async def submit(self, payload: bytes) -> str:
        _, body = await self._http.request("POST", "/v1/jobs", wire.job_body(payload))
        return wire.decode_submitted(body).job_id

    async def submit_many(self, payloads: list[bytes]) -> list[str]:
        _, body = await self._http.request("POST", "/v1/jobs/batch", wire.jobs_body(payloads))
        return wire.decode_submitted_many(body).job_ids

    async def claim(self, worker_id: str, *, wait_ms: int, limit: int | None) -> list[str]:
        params = wire.ClaimParams(worker_id, wait_ms, limit)
        _, body = await self._http.request("POST", "/v1/jobs/claim", wire.encode(params))
        return wire.decode_claimed(body).ids()

    async def complete(self, job_id: str, worker_id: str) -> None:
        await self._http.request(
            "POST", f"/v1/jobs/{job_id}/complete", wire.encode(wire.WorkerParams(worker_id))
        )

    async def complete_many(self, job_ids: list[str], worker_id: str) -> list[str]:
        params = wire.CompleteManyParams(worker_id, job_ids)
        _, body = await self._http.request("POST", "/v1/jobs/complete", wire.encode(params))
        return wire.decode_completed_many(body).not_found

    async def close(self) -> None:
        await self._http.close()


_PROTO = "application/proto"
_SERVICE = "/osqueue.v1.QueueService/"


class ConnectConnection:
    """Connect unary calls with binary protobuf bodies."""

    def __init__(self, http: RawHttpConnection) -> None:
        self._http = http

    async def _call(self, method: str, message: bytes) -> bytes:
        _, body = await self._http.request("POST", _SERVICE + method, message, _PROTO)
        return body

    async def submit(self, payload: bytes) -> str:
        request = pb.SubmitJobRequest(payload=payload, type=wire.JOB_TYPE)
        reply = pb.SubmitJobResponse.FromString(await self._call("SubmitJob", request.SerializeToString()))
        return reply.job_id

    async def submit_many(self, payloads: list[bytes]) -> list[str]:
        jobs = [pb.SubmitJobRequest(payload=p, type=wire.JOB_TYPE) for p in payloads]
        request = pb.SubmitJobsRequest(jobs=jobs)
        reply = pb.SubmitJobsResponse.FromString(await self._call("SubmitJobs", request.SerializeToString()))
        return list(reply.job_ids)

    async def claim(self, worker_id: str, *, wait_ms: int, limit: int | None) -> list[str]:
        request = pb.ClaimJobRequest(worker_id=worker_id, wait_ms=wait_ms or None, limit=limit)
        reply = pb.ClaimJobResponse.FromString(await self._call("ClaimJob", request.SerializeToString()))
        if reply.HasField("job_id"):
            return [reply.job_id]
        return [job.job_id for job in reply.jobs]

    async def complete(self, job_id: str, worker_id: str) -> None:
        request = pb.CompleteJobRequest(job_id=job_id, worker_id=worker_id)
        await self._call("CompleteJob", request.SerializeToString())

    async def complete_many(self, job_ids: list[str], worker_id: str) -> list[str]:
        request = pb.CompleteJobsRequest(worker_id=worker_id, job_ids=job_ids)
        data = await self._call("CompleteJobs", request.SerializeToString())
        return list(pb.CompleteJobsResponse.FromString(data).not_found)

    async def close(self) -> None:
        await self._http.close()
