"""osqueue-proto: the osqueue.v1 protobuf messages and the Connect QueueService stubs.

Generated from proto/osqueue/v1/queue.proto by tools/gen_proto.py; the modules themselves are
`osqueue_proto.v1.queue_pb2` and `osqueue_proto.v1.queue_connect`.
"""

from __future__ import annotations

from .v1.queue_connect import (
    QueueService,
    QueueServiceASGIApplication,
    QueueServiceClient,
    QueueServiceClientSync,
    QueueServiceSync,
    QueueServiceWSGIApplication,
)
from .v1.queue_pb2 import (
    ClaimedJob,
    ClaimJobRequest,
    ClaimJobResponse,
    CompleteJobRequest,
    CompleteJobResponse,
    DeadLetterInfo,
    DeadLettersRequest,
    DeadLettersResponse,
    ErrorInfo,
    FailJobRequest,
    FailJobResponse,
    GetJobRequest,
    GetJobResponse,
    GetStatsRequest,
    GetStatsResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JobInfo,
    ListDeadLettersRequest,
    ListDeadLettersResponse,
    ListJobsRequest,
    ListJobsResponse,
    SubmitJobRequest,
    SubmitJobResponse,
    SubmitJobsRequest,
    SubmitJobsResponse,
)

__all__ = [
    "ClaimJobRequest",
    "ClaimJobResponse",
    "ClaimedJob",
    "CompleteJobRequest",
    "CompleteJobResponse",
    "DeadLetterInfo",
    "DeadLettersRequest",
    "DeadLettersResponse",
    "ErrorInfo",
    "FailJobRequest",
    "FailJobResponse",
    "GetJobRequest",
    "GetJobResponse",
    "GetStatsRequest",
    "GetStatsResponse",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "JobInfo",
    "ListDeadLettersRequest",
    "ListDeadLettersResponse",
    "ListJobsRequest",
    "ListJobsResponse",
    "QueueService",
    "QueueServiceASGIApplication",
    "QueueServiceClient",
    "QueueServiceClientSync",
    "QueueServiceSync",
    "QueueServiceWSGIApplication",
    "SubmitJobRequest",
    "SubmitJobResponse",
    "SubmitJobsRequest",
    "SubmitJobsResponse",
]
