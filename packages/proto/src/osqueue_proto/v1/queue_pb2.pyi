from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitJobRequest(_message.Message):
    __slots__ = ("payload", "max_attempts", "type", "delay_ms", "priority", "idempotency_key", "queue")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    max_attempts: int
    type: str
    delay_ms: int
    priority: int
    idempotency_key: str
    queue: str
    def __init__(self, payload: _Optional[bytes] = ..., max_attempts: _Optional[int] = ..., type: _Optional[str] = ..., delay_ms: _Optional[int] = ..., priority: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ClaimJobRequest(_message.Message):
    __slots__ = ("worker_id", "types", "wait_ms", "limit", "queue")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    types: _containers.RepeatedScalarFieldContainer[str]
    wait_ms: int
    limit: int
    queue: str
    def __init__(self, worker_id: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ..., wait_ms: _Optional[int] = ..., limit: _Optional[int] = ..., queue: _Optional[str] = ...) -> None: ...

class ClaimJobResponse(_message.Message):
    __slots__ = ("job_id", "payload", "type", "attempt", "max_attempts", "jobs")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    payload: bytes
    type: str
    attempt: int
    max_attempts: int
    jobs: _containers.RepeatedCompositeFieldContainer[ClaimedJob]
    def __init__(self, job_id: _Optional[str] = ..., payload: _Optional[bytes] = ..., type: _Optional[str] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ..., jobs: _Optional[_Iterable[_Union[ClaimedJob, _Mapping]]] = ...) -> None: ...

class ClaimedJob(_message.Message):
    __slots__ = ("job_id", "payload", "type", "attempt", "max_attempts")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    payload: bytes
    type: str
    attempt: int
    max_attempts: int
    def __init__(self, job_id: _Optional[str] = ..., payload: _Optional[bytes] = ..., type: _Optional[str] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("job_id", "worker_id", "queue")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker_id: str
    queue: str
    def __init__(self, job_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "worker_id", "queue")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker_id: str
    queue: str
    def __init__(self, job_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class CompleteJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompleteJobsRequest(_message.Message):
    __slots__ = ("worker_id", "job_ids", "queue")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    queue: str
    def __init__(self, worker_id: _Optional[str] = ..., job_ids: _Optional[_Iterable[str]] = ..., queue: _Optional[str] = ...) -> None: ...

class CompleteJobsResponse(_message.Message):
    __slots__ = ("completed", "not_found")
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    completed: _containers.RepeatedScalarFieldContainer[str]
    not_found: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, completed: _Optional[_Iterable[str]] = ..., not_found: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: str
    def __init__(self, queue: _Optional[str] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("total", "unclaimed", "in_progress", "broker_address", "completed_total", "delayed", "dead_letters", "broker_heartbeat")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNCLAIMED_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    BROKER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DELAYED_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    BROKER_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    total: int
    unclaimed: int
    in_progress: int
    broker_address: str
    completed_total: int
    delayed: int
    dead_letters: int
    broker_heartbeat: int
    def __init__(self, total: _Optional[int] = ..., unclaimed: _Optional[int] = ..., in_progress: _Optional[int] = ..., broker_address: _Optional[str] = ..., completed_total: _Optional[int] = ..., delayed: _Optional[int] = ..., dead_letters: _Optional[int] = ..., broker_heartbeat: _Optional[int] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("status", "type", "offset", "limit", "queue")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    status: str
    type: str
    offset: int
    limit: int
    queue: str
    def __init__(self, status: _Optional[str] = ..., type: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., queue: _Optional[str] = ...) -> None: ...

class JobInfo(_message.Message):
    __slots__ = ("id", "status", "payload", "type", "worker_id", "created_at", "attempts", "max_attempts", "heartbeat", "run_at", "priority", "last_error", "dead_reason", "dead_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RUN_AT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DEAD_REASON_FIELD_NUMBER: _ClassVar[int]
    DEAD_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    payload: bytes
    type: str
    worker_id: str
    created_at: int
    attempts: int
    max_attempts: int
    heartbeat: int
    run_at: int
    priority: int
    last_error: str
    dead_reason: str
    dead_at: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., payload: _Optional[bytes] = ..., type: _Optional[str] = ..., worker_id: _Optional[str] = ..., created_at: _Optional[int] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., heartbeat: _Optional[int] = ..., run_at: _Optional[int] = ..., priority: _Optional[int] = ..., last_error: _Optional[str] = ..., dead_reason: _Optional[str] = ..., dead_at: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "total", "unclaimed", "in_progress", "completed_total", "broker_address", "delayed", "dead_letters", "broker_heartbeat")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNCLAIMED_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BROKER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DELAYED_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    BROKER_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobInfo]
    total: int
    unclaimed: int
    in_progress: int
    completed_total: int
    broker_address: str
    delayed: int
    dead_letters: int
    broker_heartbeat: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobInfo, _Mapping]]] = ..., total: _Optional[int] = ..., unclaimed: _Optional[int] = ..., in_progress: _Optional[int] = ..., completed_total: _Optional[int] = ..., broker_address: _Optional[str] = ..., delayed: _Optional[int] = ..., dead_letters: _Optional[int] = ..., broker_heartbeat: _Optional[int] = ...) -> None: ...

class SubmitJobsRequest(_message.Message):
    __slots__ = ("jobs", "queue")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[SubmitJobRequest]
    queue: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[SubmitJobRequest, _Mapping]]] = ..., queue: _Optional[str] = ...) -> None: ...

class SubmitJobsResponse(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("job_id", "worker_id", "error", "retry_delay_ms", "dead_letter", "queue", "release")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker_id: str
    error: str
    retry_delay_ms: int
    dead_letter: bool
    queue: str
    release: bool
    def __init__(self, job_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., error: _Optional[str] = ..., retry_delay_ms: _Optional[int] = ..., dead_letter: _Optional[bool] = ..., queue: _Optional[str] = ..., release: _Optional[bool] = ...) -> None: ...

class FailJobResponse(_message.Message):
    __slots__ = ("dead_lettered",)
    DEAD_LETTERED_FIELD_NUMBER: _ClassVar[int]
    dead_lettered: bool
    def __init__(self, dead_lettered: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "queue")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    queue: str
    def __init__(self, job_id: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: JobInfo
    def __init__(self, job: _Optional[_Union[JobInfo, _Mapping]] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("offset", "limit", "queue")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    offset: int
    limit: int
    queue: str
    def __init__(self, offset: _Optional[int] = ..., limit: _Optional[int] = ..., queue: _Optional[str] = ...) -> None: ...

class DeadLetterInfo(_message.Message):
    __slots__ = ("job", "reason", "dead_at")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEAD_AT_FIELD_NUMBER: _ClassVar[int]
    job: JobInfo
    reason: str
    dead_at: int
    def __init__(self, job: _Optional[_Union[JobInfo, _Mapping]] = ..., reason: _Optional[str] = ..., dead_at: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "total")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetterInfo]
    total: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetterInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class DeadLettersRequest(_message.Message):
    __slots__ = ("job_ids", "all", "queue")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    queue: str
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ..., queue: _Optional[str] = ...) -> None: ...

class DeadLettersResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ErrorInfo(_message.Message):
    __slots__ = ("tag", "leader")
    TAG_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    tag: str
    leader: str
    def __init__(self, tag: _Optional[str] = ..., leader: _Optional[str] = ...) -> None: ...
