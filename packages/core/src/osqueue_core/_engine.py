"""The group-commit engine: every mutation of one queue reaches storage through it.

One writer task owns the cached state machine. While a CAS write is in flight, submitted
mutations accumulate; when the write returns, the writer applies everything buffered (plus
lease expiry) to the machine, encodes the state once and writes it with one CAS write, so the
batch grows with the load by itself. A caller's `submit` returns only after the write that
holds its mutation succeeded.

Failure handling (storage is the only source of truth):

- CAS conflict: another broker wrote the object, so this one no longer leads. Every pending
  caller gets a retryable NotLeaderError and the engine stops; it never re-reads and
  overwrites.
- StorageBackendError on a write: the write may or may not have landed. The engine reads the
  object back: our commitSeq and brokerId mean it landed; the previous version means it did
  not, and the same bytes are written again; anything else means leadership was lost.
- When the retries run out, the batch fails with StorageBackendError and the machine is
  rebuilt from the last durable bytes, so nothing unwritten stays visible. If even the
  read-back failed, the next commit first settles whether that write landed.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import msgspec
from osqueue_types import (
    DEFAULT_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    QUEUE_STATE_KEY,
    CASConflictError,
    ClaimResult,
    CompleteManyResult,
    ConfigError,
    DeadLettersResult,
    EngineStateError,
    Enqueue,
    Fail,
    Mutation,
    MutationResult,
    NotLeaderError,
    OsqueueError,
    PartsWriter,
    ReadResult,
    RegisterBroker,
    RequeueDeadLetters,
    ShuttingDownError,
    StorageBackend,
    StorageBackendError,
    Version,
)

from ._backoff import Backoff
from ._errors import CorruptStateError
from ._header import decode_header, wall_clock_ms
from ._state import ExpiryReport, QueueStateMachine
from ._tasks import cancel_and_wait

logger = logging.getLogger("osqueue.core.engine")

_E = TypeVar("_E", bound=BaseException)
_Future = asyncio.Future[MutationResult]
_Pending = tuple[Mutation, _Future]

# Mutations that can make a job claimable; a commit holding one wakes long-polling claimers.
_WAKING_MUTATIONS = frozenset({Enqueue, Fail, RequeueDeadLetters})


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """One successful commit, reported to `on_commit` (metrics, long-poll wake-ups)."""

    seq: int
    mutations: int  # applied in this commit, including those answered with their own error
    errors: int
    requeued: int  # jobs given back by lease expiry
    dead_lettered: int  # jobs dead-lettered by lease expiry
    new_work: bool  # a job may have become claimable
    size_bytes: int
    encode_ms: float
    write_ms: float  # storage time, retries and read-backs included
    write_attempts: int


@dataclass(slots=True)
class EngineStats:
    commits: int = 0
    mutations: int = 0
    mutation_errors: int = 0
    failed_batches: int = 0  # batches answered with StorageBackendError
    storage_errors: int = 0  # storage calls that raised StorageBackendError
    landed_after_error: int = 0  # writes that raised but turned out to have landed
    encode_ms_total: float = 0.0
    write_ms_total: float = 0.0

    @property
    def mean_batch_size(self) -> float:
        return self.mutations / self.commits if self.commits else 0.0

    @property
    def mean_encode_ms(self) -> float:
        return self.encode_ms_total / self.commits if self.commits else 0.0


class _Phase(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class _LeadershipLost(Exception):
    def __init__(self, leader: str | None) -> None:
        super().__init__(leader)
        self.leader = leader


class GroupCommitEngine:
    """Applies mutations to one queue state object with group commit and CAS writes.

    Reads through `machine` are served from memory and include the batch being written, at
    most one commit ahead of storage; a failed batch is rolled back. `state_bytes()` is the
    last durable queue.json. `stop()` flushes:
    mutations submitted before it are still committed. After the engine stopped (for any
    reason) its `machine` must no longer be served.
    """

    def __init__(
        self,
        storage: StorageBackend,
        key: str = QUEUE_STATE_KEY,
        *,
        broker_id: str | None = None,
        group_commit_interval_ms: int = 0,
        max_batch_size: int | None = None,
        heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
        idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS,
        expiry_interval_ms: int = 1000,
        storage_retry_attempts: int = 5,
        storage_retry_base_ms: int = 50,
        storage_retry_max_ms: int = 2000,
        clock: Callable[[], int] = wall_clock_ms,
        on_commit: Callable[[CommitInfo], None] | None = None,
    ) -> None:
        if group_commit_interval_ms < 0:
            raise ConfigError(f"group commit interval must be >= 0, got {group_commit_interval_ms} ms")
        if max_batch_size is not None and max_batch_size < 1:
            raise ConfigError(f"max batch size must be at least 1, got {max_batch_size}")
        if expiry_interval_ms <= 0:
            raise ConfigError(f"expiry interval must be positive, got {expiry_interval_ms} ms")
        if storage_retry_attempts < 1:
            raise ConfigError(f"storage retry attempts must be at least 1, got {storage_retry_attempts}")
        if storage_retry_base_ms < 0 or storage_retry_max_ms < storage_retry_base_ms:
            raise ConfigError(
                f"storage retry delays must satisfy 0 <= base ({storage_retry_base_ms} ms)"
                f" <= max ({storage_retry_max_ms} ms)"
            )
        self.storage = storage
        self.key = key
        self.broker_id = broker_id if broker_id is not None else new_broker_id()
        self._interval_s = group_commit_interval_ms / 1000
        self._max_batch = max_batch_size
        self._heartbeat_timeout_ms = heartbeat_timeout_ms
        self._idempotency_retention_ms = idempotency_retention_ms
        self._expiry_interval_s = expiry_interval_ms / 1000
        self._retry_attempts = storage_retry_attempts
        self._backoff = Backoff(storage_retry_base_ms, storage_retry_max_ms)
        self._clock = clock
        self._on_commit = on_commit
        # Checked once: a runtime protocol check costs too much on every commit.
        self._parts_writer = storage if isinstance(storage, PartsWriter) else None

        # Replaced by the state read in `start`; building it now validates the machine options.
        self._machine = QueueStateMachine(
            heartbeat_timeout_ms=heartbeat_timeout_ms, idempotency_retention_ms=idempotency_retention_ms
        )
        self._durable_parts: list[bytes] = [b""]  # queue.json as last written, joined lazily
        self._version: Version | None = None
        self._seq = 0
        self._unsettled_seq: int | None = None  # a given-up write whose outcome is unknown

        self._phase = _Phase.NEW
        self._stop_error: OsqueueError | None = None
        self._pending: list[_Pending] = []
        self._inflight: list[_Future] = []
        self._waiter: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._stopped: asyncio.Future[OsqueueError | None] | None = None
        self._loop: asyncio.AbstractEventLoop  # set by start(); submit() is refused before
        self._stats = EngineStats()
        self._last_write_start = 0.0

    # -- public surface -------------------------------------------------------------------

    @property
    def machine(self) -> QueueStateMachine:
        return self._machine

    @property
    def version(self) -> Version | None:
        """Version of the last durable write (or of the state read at start)."""
        return self._version

    @property
    def commit_seq(self) -> int:
        """commitSeq of the last durable state."""
        return self._seq

    @property
    def is_running(self) -> bool:
        return self._phase is _Phase.RUNNING

    @property
    def stats(self) -> EngineStats:
        return replace(self._stats)

    def state_bytes(self) -> bytes:
        """queue.json exactly as last written (or read)."""
        parts = self._durable_parts
        if len(parts) != 1:
            parts = self._durable_parts = [b"".join(parts)]
        return parts[0]

    async def start(
        self, initial: ReadResult | None = None, *, register: RegisterBroker | None = None
    ) -> None:
        """Load the state and start the writer.

        `initial` is a read the caller already made (else storage is read once). A missing
        object is created. With `register`, that mutation is applied and written with CAS
        before the engine accepts work: this is how a broker takes leadership, and a CAS
        conflict raises NotLeaderError. A corrupt object raises CorruptStateError and is
        left untouched.
        """
        if self._phase is not _Phase.NEW:
            raise EngineStateError("the engine was already started")
        loop = self._loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        try:
            read = initial if initial is not None else await self._read_retrying()
            if read is not None:
                self._machine = self._decode(read.data)
                self._durable_parts = [read.data]
                self._version = read.version
                self._seq = self._machine.commit_seq
            if read is None or register is not None:
                await self._first_write(register)
        except _LeadershipLost as lost:
            error = NotLeaderError(
                f"{self.key} is led by another broker", leader=lost.leader or await self._read_leader()
            )
            self._finish(error)
            raise error from None
        except OsqueueError as exc:
            self._finish(exc)
            raise
        self._phase = _Phase.RUNNING
        self._writer = loop.create_task(self._run(), name=f"osqueue-writer:{self.key}")

    async def _first_write(self, register: RegisterBroker | None) -> None:
        """Create the missing object, or take leadership, before any caller is served."""
        if register is not None:
            self._machine.apply(register, self._clock())
        seq = self._seq + 1
        self._machine.set_commit(seq, self.broker_id)
        parts = self._machine.encode_parts()
        self._version, _ = await self._write(parts, seq)
        self._durable_parts = parts
        self._seq = seq

    async def submit(self, mutation: Mutation) -> MutationResult:
        """Apply `mutation` in the next commit; returns once that commit is durable.

        Raises the mutation's own typed error (e.g. JobNotFoundError) without affecting the
        rest of its batch; NotLeaderError, StorageBackendError or ShuttingDownError when the
        commit could not be made. Cancelling the call withdraws the mutation only if its
        batch has not been cut yet.
        """
        if self._phase is not _Phase.RUNNING:
            raise self._refusal()
        future: _Future = self._loop.create_future()
        self._pending.append((mutation, future))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return await future

    async def stop(self) -> None:
        """Refuse new work, commit what was already submitted, then stop the writer."""
        if self._phase is _Phase.NEW:
            self._phase = _Phase.STOPPED
            return
        if self._phase is _Phase.RUNNING:
            self._phase = _Phase.STOPPING
            self._wake()
        await self.wait_stopped()

    async def abort(self, error: OsqueueError | None = None) -> None:
        """Stop at once without a last commit; pending callers get `error` (ShuttingDownError).

        A write in flight is abandoned and may still land; its callers are told it failed.
        """
        if self._phase is _Phase.NEW or self._stopped is None:
            self._phase = _Phase.STOPPED
            return
        if self._phase is not _Phase.STOPPED:
            self._finish(error or ShuttingDownError(f"the engine for {self.key} was aborted"))
        if self._writer is not None and self._writer is not asyncio.current_task():
            await cancel_and_wait(self._writer)

    async def wait_stopped(self) -> OsqueueError | None:
        """Wait until the engine stops; returns why (NotLeaderError…), None after `stop()`."""
        if self._stopped is None:
            return None
        return await asyncio.shield(self._stopped)

    # -- writer ---------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._write_loop()
        except Exception as exc:
            logger.exception("the writer for %s failed", self.key)
            self._finish(EngineStateError(f"the engine for {self.key} failed: {exc}"))

    async def _write_loop(self) -> None:
        monotonic = time.monotonic
        next_expiry = monotonic() + self._expiry_interval_s
        while self._phase is not _Phase.STOPPED:
            if not self._pending:
                if self._phase is _Phase.STOPPING:
                    self._finish(None)
                    return
                delay = next_expiry - monotonic()
                if delay > 0:
                    await self._wait_for_work(delay)
                    continue
                # Idle: expire leases, but spend a write only if that changed something.
                next_expiry = monotonic() + self._expiry_interval_s
                report = self._machine.expire(self._clock())
                if report.requeued or report.dead_lettered:
                    await self._commit([], report)
                continue
            if self._interval_s and self._phase is _Phase.RUNNING:
                wait = self._last_write_start + self._interval_s - monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            else:
                # One turn of the event loop first: requests whose bytes arrived during the
                # last write get to submit, so they share this commit instead of the next.
                await asyncio.sleep(0)
            pending = self._pending
            if self._max_batch is None or len(pending) <= self._max_batch:
                batch, self._pending = pending, []
            else:
                batch = pending[: self._max_batch]
                del pending[: self._max_batch]
            await self._commit(batch)
            next_expiry = monotonic() + self._expiry_interval_s

    async def _wait_for_work(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout_s, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _commit(self, batch: list[_Pending], expired: ExpiryReport | None = None) -> None:
        if self._unsettled_seq is not None:
            try:
                await self._settle()
            except _LeadershipLost as lost:
                await self._lose(lost.leader, [future for _, future in batch])
                return
            except StorageBackendError as exc:
                if expired is not None:
                    self._rollback()  # the idle tick's expiry is not durable either
                self._stats.failed_batches += 1
                _fail_all([future for _, future in batch], exc)
                return

        machine = self._machine
        now = self._clock()
        apply = machine.apply
        futures: list[_Future] = []
        outcomes: list[MutationResult | OsqueueError] = []
        errors = 0
        changed = False
        try:
            for mutation, future in batch:
                if future.cancelled():
                    continue
                try:
                    outcome = apply(mutation, now)
                except OsqueueError as exc:
                    outcomes.append(exc)
                    errors += 1
                else:
                    outcomes.append(outcome)
                    changed = changed or _changes_state(outcome)
                futures.append(future)
            report = machine.expire(now)
            if not changed and expired is None and not (report.requeued or report.dead_lettered):
                # Rejections and empty claims changed nothing: answer them against the durable
                # state without spending a write (idle workers polling cost no storage calls).
                _settle_all(futures, outcomes)
                self._stats.mutations += len(futures)
                self._stats.mutation_errors += errors
                return
            seq = self._seq + 1
            machine.set_commit(seq, self.broker_id)
            started = time.perf_counter()
            parts = machine.encode_parts()
        except Exception as exc:
            # A bug, not a storage problem: nothing was written, so roll back and carry on.
            logger.exception("applying a batch of %d mutations failed", len(batch))
            self._rollback()
            self._stats.failed_batches += 1
            _fail_all([future for _, future in batch], exc)
            return
        encoded = time.perf_counter()
        self._inflight = futures
        self._last_write_start = time.monotonic()
        try:
            self._version, attempts = await self._write(parts, seq)
        except _LeadershipLost as lost:
            await self._lose(lost.leader, futures)
            return
        except StorageBackendError as exc:
            logger.error("commit %d of %s failed: %s", seq, self.key, exc)
            self._rollback()
            self._stats.failed_batches += 1
            _fail_all(futures, exc)
            return
        finally:
            self._inflight = []
        written = time.perf_counter()
        self._durable_parts = parts
        self._seq = seq

        _settle_all(futures, outcomes)

        stats = self._stats
        stats.commits += 1
        stats.mutations += len(futures)
        stats.mutation_errors += errors
        stats.encode_ms_total += (encoded - started) * 1000
        stats.write_ms_total += (written - encoded) * 1000
        if self._on_commit is not None:
            requeued = len(report.requeued) + (len(expired.requeued) if expired else 0)
            info = CommitInfo(
                seq=seq,
                mutations=len(futures),
                errors=errors,
                requeued=requeued,
                dead_lettered=len(report.dead_lettered) + (len(expired.dead_lettered) if expired else 0),
                new_work=requeued > 0 or any(type(mutation) in _WAKING_MUTATIONS for mutation, _ in batch),
                size_bytes=sum(map(len, parts)),
                encode_ms=(encoded - started) * 1000,
                write_ms=(written - encoded) * 1000,
                write_attempts=attempts,
            )
            try:
                self._on_commit(info)
            except Exception:
                logger.exception("on_commit callback failed")

    # -- storage --------------------------------------------------------------------------

    async def _write(self, parts: list[bytes], seq: int) -> tuple[Version, int]:
        """CAS-write commit `seq` (the concatenation of `parts`) over the durable version;
        returns (new version, attempts).

        Raises _LeadershipLost when someone else wrote the object, StorageBackendError when
        the retries ran out (`_unsettled_seq` is then set if the outcome stays unknown).
        """
        expected = self._version
        storage = self.storage
        parts_writer = self._parts_writer
        delays = self._backoff.delays()
        maybe_landed = False  # a write raised or conflicted: look at storage before writing again
        last_error: StorageBackendError | None = None
        for attempt in range(1, self._retry_attempts + 1):
            try:
                if maybe_landed:
                    landed = await self._inspect(expected, seq)
                    if landed is not None:
                        self._stats.landed_after_error += 1
                        return landed.version, attempt
                    maybe_landed = False
                try:
                    if expected is None:
                        return await storage.create_if_not_exists(self.key, b"".join(parts)), attempt
                    if parts_writer is not None:
                        # No joined copy of the whole state: the backend takes the parts.
                        return await parts_writer.write_parts(self.key, parts, expected), attempt
                    return await storage.write(self.key, b"".join(parts), expected), attempt
                except CASConflictError:
                    # Usually another broker wrote. But an HTTP client may resend a PUT whose
                    # answer was lost, and the resend conflicts with our own landed write:
                    # look before deciding (`_inspect` raises _LeadershipLost for anyone else's).
                    maybe_landed = True
                    continue
                except StorageBackendError:
                    maybe_landed = True
                    raise
            except StorageBackendError as exc:
                last_error = exc
                self._stats.storage_errors += 1
                logger.warning(
                    "storage error on commit %d of %s (attempt %d): %s", seq, self.key, attempt, exc
                )
            if attempt < self._retry_attempts:
                await asyncio.sleep(next(delays))
        return await self._give_up(expected, seq, last_error)

    async def _give_up(
        self, expected: Version | None, seq: int, last_error: StorageBackendError | None
    ) -> tuple[Version, int]:
        """Last look once the retries ran out: a write that landed is still a success."""
        try:
            landed = await self._inspect(expected, seq)
        except StorageBackendError:
            self._unsettled_seq = seq
        else:
            if landed is not None:
                self._stats.landed_after_error += 1
                return landed.version, self._retry_attempts
        reason = last_error.message if last_error is not None else "storage kept conflicting"
        raise StorageBackendError(
            f"commit {seq} of {self.key} failed after {self._retry_attempts} attempts: {reason}"
        ) from last_error

    async def _inspect(self, expected: Version | None, seq: int) -> ReadResult | None:
        """After an unknown outcome: the object if commit `seq` landed, None if storage still
        holds `expected`; raises _LeadershipLost if anyone else wrote it."""
        current = await self.storage.read(self.key)
        if current is None:
            if expected is None:
                return None
            raise _LeadershipLost(None)
        if current.version == expected:
            return None
        try:
            header = decode_header(current.data)
        except msgspec.DecodeError:
            raise _LeadershipLost(None) from None
        if header.commit_seq == seq and header.broker_id == self.broker_id:
            return current
        raise _LeadershipLost(header.broker)

    async def _settle(self) -> None:
        """Before writing again, learn whether the write we gave up on landed after all."""
        seq = self._unsettled_seq
        assert seq is not None
        delays = self._backoff.delays()
        for attempt in range(1, self._retry_attempts + 1):
            try:
                landed = await self._inspect(self._version, seq)
            except StorageBackendError as exc:
                self._stats.storage_errors += 1
                if attempt == self._retry_attempts:
                    raise StorageBackendError(
                        f"{self.key}: cannot tell whether commit {seq} landed: {exc.message}"
                    ) from exc
                await asyncio.sleep(next(delays))
                continue
            if landed is not None:
                self._stats.landed_after_error += 1
                self._machine = self._decode(landed.data)
                self._durable_parts = [landed.data]
                self._version = landed.version
                self._seq = seq
            self._unsettled_seq = None
            return

    async def _read_retrying(self) -> ReadResult | None:
        delays = self._backoff.delays()
        for attempt in range(1, self._retry_attempts + 1):
            try:
                return await self.storage.read(self.key)
            except StorageBackendError:
                self._stats.storage_errors += 1
                if attempt == self._retry_attempts:
                    raise
                await asyncio.sleep(next(delays))
        raise AssertionError("unreachable")

    async def _read_leader(self) -> str | None:
        """Best effort: the leader named in storage, for the NotLeaderError we hand out."""
        try:
            current = await self.storage.read(self.key)
            return decode_header(current.data).broker if current is not None else None
        except (StorageBackendError, msgspec.DecodeError):
            return None

    # -- state transitions ----------------------------------------------------------------

    def _decode(self, data: bytes) -> QueueStateMachine:
        try:
            return QueueStateMachine.from_bytes(
                data,
                heartbeat_timeout_ms=self._heartbeat_timeout_ms,
                idempotency_retention_ms=self._idempotency_retention_ms,
            )
        except msgspec.DecodeError as exc:
            raise CorruptStateError(
                f"{self.key} is not a valid queue state ({exc}); refusing to use or overwrite it"
            ) from exc

    def _rollback(self) -> None:
        """Drop everything not yet durable by rebuilding the machine from the last write."""
        self._machine = self._decode(self.state_bytes())

    async def _lose(self, leader: str | None, inflight: list[_Future]) -> None:
        # Refuse new work at once, while we look up the leader.
        self._phase = _Phase.STOPPED
        self._stop_error = NotLeaderError(f"this broker lost leadership of {self.key}", leader=leader)
        if leader is None:
            leader = await self._read_leader()
        logger.warning("lost leadership of %s (leader now %s)", self.key, leader)
        error = NotLeaderError(f"this broker lost leadership of {self.key}", leader=leader)
        _fail_all(inflight, error)
        self._finish(error)

    def _finish(self, error: OsqueueError | None) -> None:
        """Stop for good: answer everyone still waiting and release `wait_stopped`."""
        self._phase = _Phase.STOPPED
        self._stop_error = error
        refusal = error or ShuttingDownError(f"the engine for {self.key} is stopped")
        pending, self._pending = self._pending, []
        inflight, self._inflight = self._inflight, []
        _fail_all(inflight + [future for _, future in pending], refusal)
        self._wake()
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(error)

    def _refusal(self) -> OsqueueError:
        if self._phase is _Phase.NEW:
            return EngineStateError(f"the engine for {self.key} is not started")
        error = self._stop_error
        if error is None:
            return ShuttingDownError(f"the engine for {self.key} is stopping")
        if isinstance(error, (NotLeaderError, ShuttingDownError)):
            return _copy_error(error)
        return EngineStateError(f"the engine for {self.key} stopped: {error.message}")


def _changes_state(outcome: MutationResult) -> bool:
    """False for a result that left queue.json as it was (nothing claimed, nothing touched)."""
    if isinstance(outcome, ClaimResult):
        return bool(outcome.jobs)
    if isinstance(outcome, DeadLettersResult):
        return outcome.count > 0
    if isinstance(outcome, CompleteManyResult):
        return bool(outcome.completed)
    return True


def _settle_all(futures: list[_Future], outcomes: list[MutationResult | OsqueueError]) -> None:
    for future, outcome in zip(futures, outcomes, strict=True):
        if future.done():
            continue
        if isinstance(outcome, OsqueueError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _fail_all(futures: list[_Future], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            # A fresh copy each: one exception object raised in many tasks tangles tracebacks.
            future.set_exception(_copy_error(error))


def _copy_error(error: _E) -> _E:
    if isinstance(error, NotLeaderError):
        return type(error)(error.message, leader=error.leader)
    if isinstance(error, OsqueueError):
        return type(error)(error.message)
    return error


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def new_broker_id() -> str:
    return uuid.uuid4().hex
