"""Calls to protobuf requests and protobuf answers to replies, for the Connect transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from google.protobuf.message import Message
from osqueue_proto.v1 import queue_pb2 as pb

from ._calls import (
    Call,
    ClaimedJobs,
    ClaimJobs,
    CompletedJobs,
    CompleteJob,
    CompleteJobs,
    DeadLetterCount,
    DeleteDeadLetters,
    Done,
    FailJob,
    FailOutcome,
    GetJob,
    GetStats,
    HeartbeatJob,
    ListDeadLetters,
    ListJobs,
    RequeueDeadLetters,
    SubmitJob,
    SubmitJobs,
    SubmittedJob,
    SubmittedJobs,
    WireClaimedJob,
)
from ._models import DeadLetterInfo, DeadLetterList, JobInfo, JobList, QueueStats


class Rpc(msgspec.Struct, frozen=True):
    """One Connect method: its path, how to build the request, how to read the answer."""

    path: str
    encode: Callable[[Any], Message]
    decode: Callable[[bytes], Any]


def _submit_request(call: SubmitJob) -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(
        payload=bytes(call.payload),
        type=call.type or "",
        max_attempts=call.max_attempts,
        delay_ms=call.delay_ms,
        priority=call.priority,
        idempotency_key=call.idempotency_key,
        queue=call.queue,
    )


def _submit_many_request(call: SubmitJobs) -> pb.SubmitJobsRequest:
    return pb.SubmitJobsRequest(jobs=[_submit_request(job) for job in call.jobs], queue=call.queue)


def _claim_request(call: ClaimJobs) -> pb.ClaimJobRequest:
    return pb.ClaimJobRequest(
        worker_id=call.worker_id, types=call.types, wait_ms=call.wait_ms, limit=call.limit, queue=call.queue
    )


def _fail_request(call: FailJob) -> pb.FailJobRequest:
    return pb.FailJobRequest(
        job_id=call.job_id,
        worker_id=call.worker_id,
        error=call.error,
        retry_delay_ms=call.retry_delay_ms,
        dead_letter=call.dead_letter,
        release=call.release,
        queue=call.queue,
    )


def _completed(data: bytes) -> CompletedJobs:
    answer = pb.CompleteJobsResponse.FromString(data)
    return CompletedJobs(completed=list(answer.completed), not_found=list(answer.not_found))


def _dead_letters_request(call: RequeueDeadLetters | DeleteDeadLetters) -> pb.DeadLettersRequest:
    return pb.DeadLettersRequest(job_ids=call.job_ids, all=call.all, queue=call.queue)


def _claimed(data: bytes) -> ClaimedJobs:
    answer = pb.ClaimJobResponse.FromString(data)
    return ClaimedJobs(
        jobs=[
            WireClaimedJob(
                job_id=job.job_id,
                payload=msgspec.Raw(job.payload),
                type=job.type or None,
                attempt=job.attempt,
                max_attempts=job.max_attempts,
            )
            for job in answer.jobs
        ]
    )


def _job_info(job: pb.JobInfo) -> JobInfo:
    return JobInfo(
        id=job.id,
        status=job.status,
        payload=msgspec.json.decode(job.payload) if job.payload else None,
        type=job.type or None,
        worker_id=job.worker_id or None,
        created_at=job.created_at,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        heartbeat=job.heartbeat,
        run_at=job.run_at or None,
        priority=job.priority,
        last_error=job.last_error or None,
        dead_reason=job.dead_reason or None,
        dead_at=job.dead_at or None,
    )


def _stats(answer: pb.GetStatsResponse | pb.ListJobsResponse) -> dict[str, Any]:
    return {
        "total": answer.total,
        "unclaimed": answer.unclaimed,
        "in_progress": answer.in_progress,
        "completed_total": answer.completed_total,
        "broker_address": answer.broker_address,
        "delayed": answer.delayed,
        "dead_letters": answer.dead_letters,
        "broker_heartbeat": answer.broker_heartbeat,
    }


def _job_list(data: bytes) -> JobList:
    answer = pb.ListJobsResponse.FromString(data)
    return JobList(jobs=[_job_info(job) for job in answer.jobs], **_stats(answer))


def _dead_letter_list(data: bytes) -> DeadLetterList:
    answer = pb.ListDeadLettersResponse.FromString(data)
    letters = [
        DeadLetterInfo(job=_job_info(letter.job), reason=letter.reason, dead_at=letter.dead_at)
        for letter in answer.dead_letters
    ]
    return DeadLetterList(dead_letters=letters, total=answer.total)


def _count(data: bytes) -> DeadLetterCount:
    return DeadLetterCount(count=pb.DeadLettersResponse.FromString(data).count)


def _done(data: bytes) -> Done:
    return Done()


_SERVICE = "/osqueue.v1.QueueService/"

RPCS: dict[type[Call[Any]], Rpc] = {
    SubmitJob: Rpc(
        _SERVICE + "SubmitJob",
        _submit_request,
        lambda data: SubmittedJob(job_id=pb.SubmitJobResponse.FromString(data).job_id),
    ),
    SubmitJobs: Rpc(
        _SERVICE + "SubmitJobs",
        _submit_many_request,
        lambda data: SubmittedJobs(job_ids=list(pb.SubmitJobsResponse.FromString(data).job_ids)),
    ),
    ClaimJobs: Rpc(_SERVICE + "ClaimJob", _claim_request, _claimed),
    HeartbeatJob: Rpc(
        _SERVICE + "Heartbeat",
        lambda call: pb.HeartbeatRequest(job_id=call.job_id, worker_id=call.worker_id, queue=call.queue),
        _done,
    ),
    CompleteJob: Rpc(
        _SERVICE + "CompleteJob",
        lambda call: pb.CompleteJobRequest(job_id=call.job_id, worker_id=call.worker_id, queue=call.queue),
        _done,
    ),
    CompleteJobs: Rpc(
        _SERVICE + "CompleteJobs",
        lambda call: pb.CompleteJobsRequest(worker_id=call.worker_id, job_ids=call.job_ids, queue=call.queue),
        _completed,
    ),
    FailJob: Rpc(
        _SERVICE + "FailJob",
        _fail_request,
        lambda data: FailOutcome(dead_lettered=pb.FailJobResponse.FromString(data).dead_lettered),
    ),
    GetJob: Rpc(
        _SERVICE + "GetJob",
        lambda call: pb.GetJobRequest(job_id=call.job_id, queue=call.queue),
        lambda data: _job_info(pb.GetJobResponse.FromString(data).job),
    ),
    GetStats: Rpc(
        _SERVICE + "GetStats",
        lambda call: pb.GetStatsRequest(queue=call.queue),
        lambda data: QueueStats(**_stats(pb.GetStatsResponse.FromString(data))),
    ),
    ListJobs: Rpc(
        _SERVICE + "ListJobs",
        lambda call: pb.ListJobsRequest(
            status=call.status or "",
            type=call.type or "",
            offset=call.offset,
            limit=call.limit or 0,
            queue=call.queue,
        ),
        _job_list,
    ),
    ListDeadLetters: Rpc(
        _SERVICE + "ListDeadLetters",
        lambda call: pb.ListDeadLettersRequest(offset=call.offset, limit=call.limit or 0, queue=call.queue),
        _dead_letter_list,
    ),
    RequeueDeadLetters: Rpc(_SERVICE + "RequeueDeadLetters", _dead_letters_request, _count),
    DeleteDeadLetters: Rpc(_SERVICE + "DeleteDeadLetters", _dead_letters_request, _count),
}
