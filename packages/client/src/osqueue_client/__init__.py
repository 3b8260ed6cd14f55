"""Async and sync client for the osqueue broker (Connect, REST, WebSocket).

    async with OsqueueClient("http://127.0.0.1:8080") as client:
        job_id = await client.submit("email", {"to": "a@example.com"})

Custom transports subclass `Transport` and translate the `Call` subclasses below.
"""

from __future__ import annotations

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
    reply_type,
)
from ._client import (
    DEFAULT_BROKER_URL,
    DEFAULT_FAILOVER_DEADLINE,
    DEFAULT_TIMEOUT,
    DeadLetterSelection,
    OsqueueClient,
    TransportName,
)
from ._connect import ConnectTransport
from ._durations import Duration
from ._models import ClaimedJob, DeadLetterInfo, DeadLetterList, JobId, JobInfo, JobList, JobSpec, QueueStats
from ._payloads import Registry
from ._rest import RestTransport
from ._sync import SyncOsqueueClient
from ._transport import Transport
from ._ws import WebSocketTransport

__all__ = [
    "DEFAULT_BROKER_URL",
    "DEFAULT_FAILOVER_DEADLINE",
    "DEFAULT_TIMEOUT",
    "Call",
    "ClaimJobs",
    "ClaimedJob",
    "ClaimedJobs",
    "CompleteJob",
    "CompleteJobs",
    "CompletedJobs",
    "ConnectTransport",
    "DeadLetterCount",
    "DeadLetterInfo",
    "DeadLetterList",
    "DeadLetterSelection",
    "DeleteDeadLetters",
    "Done",
    "Duration",
    "FailJob",
    "FailOutcome",
    "GetJob",
    "GetStats",
    "HeartbeatJob",
    "JobId",
    "JobInfo",
    "JobList",
    "JobSpec",
    "ListDeadLetters",
    "ListJobs",
    "OsqueueClient",
    "QueueStats",
    "Registry",
    "RequeueDeadLetters",
    "RestTransport",
    "SubmitJob",
    "SubmitJobs",
    "SubmittedJob",
    "SubmittedJobs",
    "SyncOsqueueClient",
    "Transport",
    "TransportName",
    "WebSocketTransport",
    "WireClaimedJob",
    "reply_type",
]
