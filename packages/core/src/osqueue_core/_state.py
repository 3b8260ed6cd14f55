"""The queue state machine: every mutation of queue.json, indexed, pure (no I/O, no clock).

Ordering rules (the contract the broker and its tests rely on):

- Claims take the highest priority first and, within a priority, the job that comes first in
  queue.json's `jobs` array, which is enqueue order. A job given back by `Fail` or by heartbeat
  expiry keeps its place (it is not sent to the tail); a requeued dead letter goes to the tail.
- Time never goes backwards: a `now_ms` earlier than one already seen is taken as the latest
  seen, so a stepped-back wall clock cannot un-expire a lease or un-deliver a delayed job.
- A delayed job keeps `runAt` until it is claimed; a claim clears it.

Encoding: the three arrays of queue.json (jobs, dead letters, idempotency records) are
`ChunkedArray`s whose JSON is cached per chunk; a commit re-encodes only the chunks its
mutations touched and splices the arrays into the freshly encoded top-level fields.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from osqueue_types import (
    DEFAULT_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    DEFAULT_MAX_ATTEMPTS,
    MAX_CLAIM_LIMIT,
    Claim,
    ClaimedJob,
    ClaimResult,
    Complete,
    CompleteMany,
    CompleteManyResult,
    CompleteResult,
    ConfigError,
    DeadLetter,
    DeadLettersResult,
    DeleteDeadLetters,
    Enqueue,
    EnqueueResult,
    Fail,
    FailResult,
    Heartbeat,
    HeartbeatResult,
    IdempotencyRecord,
    InvalidRequestError,
    Job,
    JobNotFoundError,
    JobStatus,
    Mutation,
    MutationResult,
    QueueState,
    RegisterBroker,
    RegisterBrokerResult,
    RequeueDeadLetters,
    decode_state,
    encode_state,
)

from ._chunks import ChunkedArray
from ._index import LazyHeap, ReadyIndex

_T = TypeVar("_T")

REASON_HEARTBEAT_TIMEOUT = "heartbeat timeout"
REASON_MAX_ATTEMPTS = "max attempts reached"
REASON_REQUESTED = "dead-lettered by worker"


class QueueCounts(msgspec.Struct, frozen=True):
    total: int  # jobs in the queue (dead letters not included)
    unclaimed: int  # claimable now
    delayed: int  # unclaimed, waiting for their runAt
    in_progress: int
    dead_letters: int
    completed_total: int


class ExpiryReport(msgspec.Struct, frozen=True):
    """Ids of the jobs whose lease ran out, in queue order."""

    requeued: list[str]
    dead_lettered: list[str]


def _new_id() -> str:
    return str(uuid.uuid4())


def max_attempts_of(job: Job) -> int:
    return job.max_attempts if job.max_attempts is not None else DEFAULT_MAX_ATTEMPTS


def priority_of(job: Job) -> int:
    return 0 if isinstance(job.priority, UnsetType) else job.priority


class QueueStateMachine:
    """queue.json in memory, indexed so that claim, heartbeat, complete and fail are O(log n)
    (a batch of k, O(k log n)).

    `apply` either performs a mutation or raises the typed error for that mutation alone,
    leaving the state untouched. The machine takes ownership of the `QueueState` it is given
    (its jobs are updated in place); reads return copies.
    """

    def __init__(
        self,
        state: QueueState | None = None,
        *,
        heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
        idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS,
        id_factory: Callable[[], str] = _new_id,
    ) -> None:
        if heartbeat_timeout_ms <= 0:
            raise ConfigError(f"heartbeat timeout must be positive, got {heartbeat_timeout_ms} ms")
        if idempotency_retention_ms <= 0:
            raise ConfigError(f"idempotency retention must be positive, got {idempotency_retention_ms} ms")
        state = state if state is not None else QueueState()
        self._heartbeat_timeout_ms = heartbeat_timeout_ms
        self._idempotency_retention_ms = idempotency_retention_ms
        self._id_factory = id_factory
        self._clock = 0
        self._broker = state.broker
        self._broker_heartbeat = state.broker_heartbeat
        self._broker_id = None if isinstance(state.broker_id, UnsetType) else state.broker_id
        self._commit_seq = state.commit_seq
        self._completed_total = state.completed_total

        # Jobs in queue order; `_seq` is each job's position key (increasing, never reused).
        self._jobs: dict[str, Job] = {}
        self._jobs_json: ChunkedArray[Job] = ChunkedArray()
        self._seq: dict[str, int] = {}
        self._next_seq = itertools.count()
        self._ready = ReadyIndex()
        self._delayed = LazyHeap()  # unclaimed jobs with a runAt, by (runAt, seq)
        self._leases = LazyHeap()  # in-progress jobs, by heartbeat at claim or last expiry check
        self._load_jobs(state.jobs)

        self._dead: ChunkedArray[DeadLetter] = ChunkedArray()
        if not isinstance(state.dead_letters, UnsetType):
            for dead in state.dead_letters:
                self._dead.append(dead.job.id, dead, next(self._next_seq))

        self._idempotency: ChunkedArray[IdempotencyRecord] = ChunkedArray()
        self._idempotency_expiry = LazyHeap()
        if not isinstance(state.idempotency, UnsetType):
            for record in state.idempotency:
                self._record_key(record)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
        idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS,
        id_factory: Callable[[], str] = _new_id,
    ) -> QueueStateMachine:
        """Load queue.json bytes; a corrupt file raises msgspec's DecodeError/ValidationError."""
        return cls(
            decode_state(data),
            heartbeat_timeout_ms=heartbeat_timeout_ms,
            idempotency_retention_ms=idempotency_retention_ms,
            id_factory=id_factory,
        )

    # -- mutations ------------------------------------------------------------------------

    def apply(self, mutation: Mutation, now_ms: int) -> MutationResult:
        now = self._tick(now_ms)
        match mutation:
            case Enqueue():
                return self._enqueue(mutation, now)
            case Claim():
                return self._claim(mutation, now)
            case Heartbeat():
                self._held(mutation.job_id, mutation.worker_id).heartbeat = now
                self._touch(mutation.job_id)
                return HeartbeatResult()
            case Complete():
                self._complete(self._held(mutation.job_id, mutation.worker_id))
                return CompleteResult()
            case CompleteMany():
                return self._complete_many(mutation)
            case Fail():
                return self._fail(mutation, now)
            case RegisterBroker():
                self._broker = mutation.address
                self._broker_heartbeat = now
                self._broker_id = mutation.broker_id
                return RegisterBrokerResult()
            case RequeueDeadLetters():
                return self._requeue_dead(mutation.job_ids)
            case DeleteDeadLetters():
                return self._delete_dead(mutation.job_ids)
        raise InvalidRequestError(f"unknown mutation {type(mutation).__name__}")

    def expire(self, now_ms: int) -> ExpiryReport:
        """Give back jobs whose worker stopped heartbeating; forget expired idempotency keys."""
        now = self._tick(now_ms)
        self._prune_idempotency(now)
        # A lease is stale when heartbeat + timeout < now.
        deadline = now - self._heartbeat_timeout_ms
        stale: list[Job] = []
        leases = self._leases
        while (entry := leases.first()) is not None and entry[0] < deadline:
            job = self._jobs[entry[3]]
            heartbeat = job.heartbeat or 0
            if heartbeat < deadline:
                leases.pop()
                stale.append(job)
            else:
                # Heartbeats do not touch the heap; re-key the lease to its latest heartbeat here.
                leases.push(heartbeat, 0, job.id)
        stale.sort(key=lambda job: self._seq[job.id])
        requeued: list[str] = []
        dead_lettered: list[str] = []
        for job in stale:
            job.last_error = f"no heartbeat from worker {job.worker_id} for {self._heartbeat_timeout_ms} ms"
            self._touch(job.id)
            if job.attempts >= max_attempts_of(job):
                self._bury(job, REASON_HEARTBEAT_TIMEOUT, now)
                dead_lettered.append(job.id)
            else:
                self._release(job, None)
                requeued.append(job.id)
        return ExpiryReport(requeued, dead_lettered)

    def set_commit(self, commit_seq: int, broker_id: str) -> None:
        """Stamp the next write with its commit counter and the writing broker."""
        self._commit_seq = commit_seq
        self._broker_id = broker_id

    # -- reads ----------------------------------------------------------------------------

    def encode(self) -> bytes:
        return b"".join(self.encode_parts())

    def encode_parts(self) -> list[bytes]:
        """queue.json as consecutive parts, mostly cached chunks: joining them is left to
        whoever needs one buffer, so a commit of a large queue costs no full copy here."""
        # Encode the top-level fields with empty arrays, then splice each array's cached JSON
        # in place of its `"name":[]`. No marker can occur earlier in the text: the only
        # free text there is in JSON strings (broker address and id), whose quotes are escaped.
        rest = encode_state(self._state_header())
        parts: list[bytes] = []
        for marker, array in (
            (b'"jobs":[', self._jobs_json),
            (b'"deadLetters":[', self._dead),
            (b'"idempotency":[', self._idempotency),
        ):
            if marker == b'"jobs":[' or len(array):
                head, _, rest = rest.partition(marker + b"]")
                parts += (head, marker)
                array.json_pieces(parts)
                parts.append(b"]")
        parts.append(rest)
        return parts

    def to_state(self) -> QueueState:
        """An independent copy of the whole state."""
        return decode_state(self.encode())

    @property
    def commit_seq(self) -> int:
        return 0 if isinstance(self._commit_seq, UnsetType) else self._commit_seq

    @property
    def broker(self) -> str | None:
        return self._broker

    @property
    def broker_heartbeat(self) -> int:
        return self._broker_heartbeat

    @property
    def broker_id(self) -> str | None:
        return self._broker_id

    @property
    def completed_total(self) -> int:
        return self._completed_total

    def stats(self, now_ms: int) -> QueueCounts:
        self._promote(self._tick(now_ms))
        return QueueCounts(
            total=len(self._jobs),
            unclaimed=len(self._ready),
            delayed=len(self._delayed),
            in_progress=len(self._leases),
            dead_letters=len(self._dead),
            completed_total=self._completed_total,
        )

    def jobs(
        self,
        *,
        status: JobStatus | None = None,
        type: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Job]:
        """Copies of the jobs in queue order, optionally filtered by status and type."""
        matching: Iterable[Job] = self._jobs.values()
        if status is not None or type is not None:
            matching = (
                job
                for job in matching
                if (status is None or job.status == status) and (type is None or job.type == type)
            )
        return [msgspec.structs.replace(job) for job in _page(matching, offset, limit)]

    def delayed_jobs(
        self,
        now_ms: int,
        *,
        type: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Job]:
        """Copies of the delayed jobs (unclaimed, runAt still ahead) in queue order, optionally
        of one type: read from the delayed index, so the cost grows with the delayed jobs, not
        with the queue (O(d log k) for a page ending at the k-th, d delayed jobs)."""
        _check_page(offset, limit)
        self._promote(self._tick(now_ms))
        jobs, seq = self._jobs, self._seq
        ids: Iterable[str] = self._delayed
        if type is not None:
            ids = (job_id for job_id in ids if jobs[job_id].type == type)
        if limit is None:
            ordered = sorted(ids, key=seq.__getitem__)[offset:]
        else:
            ordered = heapq.nsmallest(offset + limit, ids, key=seq.__getitem__)[offset:]
        return [msgspec.structs.replace(jobs[job_id]) for job_id in ordered]

    def job(self, job_id: str) -> Job | None:
        """A copy of a job still in the queue (a dead-lettered job is in `dead_letters`)."""
        job = self._jobs.get(job_id)
        return msgspec.structs.replace(job) if job is not None else None

    def dead_letter(self, job_id: str) -> DeadLetter | None:
        """A copy of one dead letter, by its job's id (O(1))."""
        dead = self._dead.get(job_id)
        return _copy_dead_letter(dead) if dead is not None else None

    def dead_letters(self, offset: int = 0, limit: int | None = None) -> list[DeadLetter]:
        return [_copy_dead_letter(dead) for dead in _page(self._dead, offset, limit)]

    def next_run_at(self) -> int | None:
        """The earliest runAt among delayed jobs (possibly already past), for long-poll wake-ups."""
        entry = self._delayed.first()
        return entry[0] if entry is not None else None

    def has_claimable(self, types: list[str] | None, now_ms: int) -> bool:
        self._promote(self._tick(now_ms))
        return self._ready.has(types)

    # -- mutation steps -------------------------------------------------------------------

    def _enqueue(self, mutation: Enqueue, now: int) -> EnqueueResult:
        for new in mutation.jobs:
            if new.max_attempts is not None and new.max_attempts < 1:
                raise InvalidRequestError(f"maxAttempts must be at least 1, got {new.max_attempts}")
            if new.delay_ms is not None and new.delay_ms < 0:
                raise InvalidRequestError(f"delay must not be negative, got {new.delay_ms} ms")
        ids: list[str] = []
        for new in mutation.jobs:
            key = new.idempotency_key
            if key is not None:
                known = self._idempotency.get(key)
                if known is not None and known.expires_at > now:
                    ids.append(known.job_id)
                    continue
            job = Job(
                id=self._id_factory(),
                status=JobStatus.UNCLAIMED,
                payload=new.payload,
                created_at=now,
                max_attempts=new.max_attempts if new.max_attempts is not None else DEFAULT_MAX_ATTEMPTS,
                type=new.type,
                run_at=now + new.delay_ms if new.delay_ms else UNSET,
                priority=new.priority if new.priority else UNSET,
                idempotency_key=key if key is not None else UNSET,
            )
            self._add_job(job)
            if key is not None:
                # A re-used expired key moves to the tail, where new records go.
                if key in self._idempotency:
                    self._idempotency.remove(key)
                self._record_key(IdempotencyRecord(key, job.id, now + self._idempotency_retention_ms))
            ids.append(job.id)
        return EnqueueResult(ids)

    def _claim(self, mutation: Claim, now: int) -> ClaimResult:
        if mutation.limit < 1:
            raise InvalidRequestError(f"claim limit must be at least 1, got {mutation.limit}")
        self._promote(now)
        claimed: list[ClaimedJob] = []
        while len(claimed) < mutation.limit:
            job_id = self._ready.pop(mutation.types)
            if job_id is None:
                break
            job = self._jobs[job_id]
            job.status = JobStatus.IN_PROGRESS
            job.worker_id = mutation.worker_id
            job.heartbeat = now
            job.attempts += 1
            job.run_at = UNSET
            self._touch(job_id)
            self._leases.push(now, 0, job_id)
            claimed.append(ClaimedJob(job_id, job.type, job.payload, job.attempts, max_attempts_of(job)))
        return ClaimResult(claimed)

    def _complete(self, job: Job) -> None:
        self._leases.discard(job.id)
        self._forget(job.id)
        self._completed_total += 1

    def _complete_many(self, mutation: CompleteMany) -> CompleteManyResult:
        count = len(mutation.job_ids)
        if not 1 <= count <= MAX_CLAIM_LIMIT:
            raise InvalidRequestError(f"complete many takes 1..{MAX_CLAIM_LIMIT} job ids, got {count}")
        completed: list[str] = []
        not_found: list[str] = []
        for job_id in mutation.job_ids:
            job = self._holding(job_id, mutation.worker_id)
            if job is None:
                not_found.append(job_id)  # a repeated id is no longer held the second time
            else:
                self._complete(job)
                completed.append(job_id)
        return CompleteManyResult(completed, not_found)

    def _fail(self, mutation: Fail, now: int) -> FailResult:
        delay = mutation.retry_delay_ms
        if delay is not None and delay < 0:
            raise InvalidRequestError(f"retry delay must not be negative, got {delay} ms")
        if mutation.release and mutation.dead_letter:
            raise InvalidRequestError("a fail cannot both release and dead-letter a job")
        job = self._held(mutation.job_id, mutation.worker_id)
        self._leases.discard(job.id)
        if mutation.error is not None:
            job.last_error = mutation.error
            self._touch(job.id)
        if mutation.release:
            # Not the job's fault (its worker is shutting down): the attempt is handed back.
            job.attempts = max(job.attempts - 1, 0)
        elif mutation.dead_letter or job.attempts >= max_attempts_of(job):
            self._bury(job, REASON_REQUESTED if mutation.dead_letter else REASON_MAX_ATTEMPTS, now)
            return FailResult(dead_lettered=True)
        self._release(job, now + delay if delay else None)
        return FailResult(dead_lettered=False)

    def _requeue_dead(self, job_ids: list[str] | None) -> DeadLettersResult:
        ids = self._dead_ids(job_ids)
        for job_id in ids:
            job = self._dead.remove(job_id).job
            job.status = JobStatus.UNCLAIMED
            job.attempts = 0
            job.worker_id = None
            job.heartbeat = None
            job.run_at = UNSET
            self._add_job(job)
        return DeadLettersResult(len(ids))

    def _delete_dead(self, job_ids: list[str] | None) -> DeadLettersResult:
        ids = self._dead_ids(job_ids)
        for job_id in ids:
            self._dead.remove(job_id)
        return DeadLettersResult(len(ids))

    # -- helpers --------------------------------------------------------------------------

    def _tick(self, now_ms: int) -> int:
        if now_ms > self._clock:
            self._clock = now_ms
        return self._clock

    def _add_job(self, job: Job) -> None:
        """Append a job to the queue and index it by status."""
        seq = next(self._next_seq)
        self._jobs[job.id] = job
        self._seq[job.id] = seq
        self._jobs_json.append(job.id, job, seq)
        if job.status == JobStatus.IN_PROGRESS:
            self._leases.push(job.heartbeat or 0, 0, job.id)
        elif isinstance(job.run_at, int):
            self._delayed.push(job.run_at, seq, job.id)
        else:
            self._ready.add(job.id, job.type, priority_of(job), seq)

    def _load_jobs(self, jobs: list[Job]) -> None:
        """Index a whole jobs array in O(n), heaps built at once rather than pushed one by one."""
        ready: list[tuple[str, str | None, int, int]] = []
        delayed: list[tuple[int, int, str]] = []
        leases: list[tuple[int, int, str]] = []
        for job in jobs:
            seq = next(self._next_seq)
            self._jobs[job.id] = job
            self._seq[job.id] = seq
            self._jobs_json.append(job.id, job, seq)
            if job.status == JobStatus.IN_PROGRESS:
                leases.append((job.heartbeat or 0, 0, job.id))
            elif isinstance(job.run_at, int):
                delayed.append((job.run_at, seq, job.id))
            else:
                ready.append((job.id, job.type, priority_of(job), seq))
        self._ready.extend(ready)
        self._delayed.extend(delayed)
        self._leases.extend(leases)

    def _release(self, job: Job, run_at: int | None) -> None:
        """Put an in-progress job back to unclaimed, in its old place in the queue."""
        job.status = JobStatus.UNCLAIMED
        job.worker_id = None
        job.heartbeat = None
        self._touch(job.id)
        seq = self._seq[job.id]
        if run_at is not None:
            job.run_at = run_at
            self._delayed.push(run_at, seq, job.id)
        else:
            self._ready.add(job.id, job.type, priority_of(job), seq)

    def _bury(self, job: Job, reason: str, now: int) -> None:
        """Move a job (no longer indexed as in progress) to the dead letters."""
        self._forget(job.id)
        job.status = JobStatus.UNCLAIMED
        job.worker_id = None
        job.heartbeat = None
        self._dead.append(job.id, DeadLetter(job=job, reason=reason, dead_at=now), next(self._next_seq))

    def _touch(self, job_id: str) -> None:
        self._jobs_json.touch(job_id)

    def _forget(self, job_id: str) -> None:
        del self._jobs[job_id], self._seq[job_id]
        self._jobs_json.remove(job_id)

    def _promote(self, now: int) -> None:
        """Move delayed jobs whose runAt has come into the ready index."""
        delayed = self._delayed
        while (entry := delayed.first()) is not None and entry[0] <= now:
            delayed.pop()
            job = self._jobs[entry[3]]
            self._ready.add(job.id, job.type, priority_of(job), entry[1])

    def _holding(self, job_id: str, worker_id: str) -> Job | None:
        """The job, if it is in progress for this worker."""
        job = self._jobs.get(job_id)
        if job is None or job.status != JobStatus.IN_PROGRESS or job.worker_id != worker_id:
            return None
        return job

    def _held(self, job_id: str, worker_id: str) -> Job:
        """The job, if it is in progress for this worker; else JobNotFoundError saying why."""
        held = self._holding(job_id, worker_id)
        if held is not None:
            return held
        job = self._jobs.get(job_id)
        if job is None:
            where = " (it was dead-lettered)" if job_id in self._dead else ""
            raise JobNotFoundError(f"job {job_id} not found{where}")
        if job.status != JobStatus.IN_PROGRESS:
            raise JobNotFoundError(f"job {job_id} is not in progress")
        raise JobNotFoundError(f"job {job_id} is in progress for another worker, not {worker_id}")

    def _dead_ids(self, job_ids: list[str] | None) -> list[str]:
        if job_ids is None:
            return self._dead.keys()
        ids = list(dict.fromkeys(job_ids))
        missing = [job_id for job_id in ids if job_id not in self._dead]
        if missing:
            raise JobNotFoundError(f"no dead letter with id {', '.join(missing[:10])}")
        return ids

    def _record_key(self, record: IdempotencyRecord) -> None:
        self._idempotency.append(record.key, record, next(self._next_seq))
        self._idempotency_expiry.push(record.expires_at, 0, record.key)

    def _prune_idempotency(self, now: int) -> None:
        expiry = self._idempotency_expiry
        while (entry := expiry.first()) is not None and entry[0] <= now:
            expiry.pop()
            # A key re-used after expiry has a newer record: leave that one alone.
            record = self._idempotency.get(entry[3])
            if record is not None and record.expires_at <= now:
                self._idempotency.remove(entry[3])

    def _state_header(self) -> QueueState:
        """The top-level fields, with each non-empty array left empty for `encode()` to fill."""
        dead: list[DeadLetter] | UnsetType = [] if len(self._dead) else UNSET
        records: list[IdempotencyRecord] | UnsetType = [] if len(self._idempotency) else UNSET
        return QueueState(
            broker=self._broker,
            broker_heartbeat=self._broker_heartbeat,
            jobs=[],
            completed_total=self._completed_total,
            broker_id=self._broker_id if self._broker_id is not None else UNSET,
            commit_seq=self._commit_seq,
            dead_letters=dead,
            idempotency=records,
        )


def _copy_dead_letter(dead: DeadLetter) -> DeadLetter:
    """A copy of a dead letter that shares nothing mutable with the machine's."""
    return DeadLetter(job=msgspec.structs.replace(dead.job), reason=dead.reason, dead_at=dead.dead_at)


def _check_page(offset: int, limit: int | None) -> None:
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidRequestError(f"offset and limit must not be negative, got {offset} and {limit}")


def _page(items: Iterable[_T], offset: int, limit: int | None) -> list[_T]:
    _check_page(offset, limit)
    return list(itertools.islice(items, offset, None if limit is None else offset + limit))
