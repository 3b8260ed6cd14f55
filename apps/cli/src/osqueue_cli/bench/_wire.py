"""JSON shapes of the requests and answers the benchmark sends and reads (REST and WebSocket)."""

from __future__ import annotations

import msgspec

JOB_TYPE = "bench"


class Submitted(msgspec.Struct, rename="camel"):
    job_id: str


class SubmittedMany(msgspec.Struct, rename="camel"):
    job_ids: list[str]


class _ClaimedJob(msgspec.Struct, rename="camel"):
    job_id: str


class Claimed(msgspec.Struct, rename="camel"):
    """Either the TypeScript shape (`jobId`, absent for no job) or the batch shape (`jobs`)."""

    job_id: str | None = None
    jobs: list[_ClaimedJob] = []

    def ids(self) -> list[str]:
        if self.job_id:
            return [self.job_id]
        return [job.job_id for job in self.jobs]


class ClaimParams(msgspec.Struct, rename="camel", omit_defaults=True):
    worker_id: str
    wait_ms: int = 0
    limit: int | None = None


class WorkerParams(msgspec.Struct, rename="camel"):
    worker_id: str


class JobParams(msgspec.Struct, rename="camel"):
    job_id: str
    worker_id: str


class CompleteManyParams(msgspec.Struct, rename="camel"):
    worker_id: str
    job_ids: list[str]


class CompletedMany(msgspec.Struct, rename="camel"):
    completed: list[str]
    not_found: list[str]


encode = msgspec.json.encode
decode_submitted = msgspec.json.Decoder(Submitted).decode
decode_submitted_many = msgspec.json.Decoder(SubmittedMany).decode
decode_claimed = msgspec.json.Decoder(Claimed).decode
decode_completed_many = msgspec.json.Decoder(CompletedMany).decode

_TYPE_SUFFIX = f',"type":"{JOB_TYPE}"}}'.encode()


def job_body(payload: bytes) -> bytes:
    """`{"payload": <payload>, "type": "bench"}` without decoding and re-encoding the payload."""
    return b'{"payload":' + payload + _TYPE_SUFFIX


def jobs_body(payloads: list[bytes]) -> bytes:
    return b'{"jobs":[' + b",".join(job_body(p) for p in payloads) + b"]}"
