"""GroupCommitEngine under storage faults: ambiguous writes, transient errors, exhausted retries.

What an enqueue's answer promises about the final queue.json:
- acknowledged (a result came back): the job is there exactly once, under the returned id;
- StorageBackendError: the job is there at most once. It is there only when a write that
  raised had in fact landed and no read-back could confirm it before the retries ran out.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import msgspec
import pytest
from osqueue_core import GroupCommitEngine
from osqueue_storage import MemoryBackend
from osqueue_types import (
    QUEUE_STATE_KEY,
    Enqueue,
    EnqueueResult,
    NewJob,
    NotLeaderError,
    QueueState,
    ReadResult,
    StorageBackendError,
    Version,
    decode_state,
    encode_state,
)


class FlakyStorage:
    """A MemoryBackend whose calls fail at seeded random rates, through its own fault injection."""

    def __init__(
        self, inner: MemoryBackend, seed: int, *, write_error: float, ambiguous: float, read_error: float
    ):
        self.inner = inner
        self.enabled = True
        self._rng = random.Random(seed)
        self._write_error = write_error
        self._ambiguous = ambiguous
        self._read_error = read_error

    async def read(self, key: str) -> ReadResult | None:
        if self.enabled and self._rng.random() < self._read_error:
            self.inner.fail_next(1, "error", "read")
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        self._arm_write()
        return await self.inner.write(key, data, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        self._arm_write()
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _arm_write(self) -> None:
        if not self.enabled:
            return
        draw = self._rng.random()
        if draw < self._write_error:
            self.inner.fail_next(1, "error", "write")
        elif draw < self._write_error + self._ambiguous:
            self.inner.fail_next(1, "ambiguous", "write")


def enqueue(tag: str) -> Enqueue:
    return Enqueue([NewJob(payload=msgspec.Raw(msgspec.json.encode(tag)))])


async def stored(storage: MemoryBackend) -> ReadResult:
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    return current


def tags_of(state: QueueState) -> Counter[str]:
    return Counter(msgspec.json.decode(job.payload, type=str) for job in state.jobs)


def fast_retries(storage: object, **options: object) -> GroupCommitEngine:
    return GroupCommitEngine(
        storage,  # type: ignore[arg-type]
        storage_retry_attempts=3,
        storage_retry_base_ms=1,
        storage_retry_max_ms=2,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seed", range(6))
async def test_random_faults_never_lose_or_duplicate_acknowledged_jobs(seed: int) -> None:
    memory = MemoryBackend()
    flaky = FlakyStorage(memory, seed, write_error=0.2, ambiguous=0.25, read_error=0.25)
    flaky.enabled = False
    engine = fast_retries(flaky)
    await engine.start()
    flaky.enabled = True

    acknowledged: dict[str, str] = {}
    failed: set[str] = set()

    async def producer(p: int) -> None:
        for i in range(60):
            tag = f"{p}-{i}"
            try:
                result = await engine.submit(enqueue(tag))
            except StorageBackendError:
                failed.add(tag)
                continue
            assert isinstance(result, EnqueueResult)
            acknowledged[tag] = result.ids[0]

    await asyncio.gather(*(producer(p) for p in range(12)))
    flaky.enabled = False
    await engine.submit(enqueue("final"))  # also settles a write left unknown

    final = await stored(memory)
    state = decode_state(final.data)
    tags = tags_of(state)
    assert max(tags.values()) == 1, "a mutation was applied twice"
    ids = {msgspec.json.decode(job.payload, type=str): job.id for job in state.jobs}
    assert all(ids.get(tag) == job_id for tag, job_id in acknowledged.items()), (
        "an acknowledged job is missing"
    )
    assert set(tags) <= set(acknowledged) | failed | {"final"}
    assert len(acknowledged) + len(failed) == 720
    # The cached machine is exactly what storage holds: nothing unwritten stays visible.
    assert engine.machine.encode() == final.data == engine.state_bytes()
    assert engine.version == final.version
    stats = engine.stats
    assert stats.storage_errors > 0 and stats.landed_after_error > 0
    await engine.stop()


async def test_ambiguous_write_that_landed_is_acknowledged_once() -> None:
    memory = MemoryBackend()
    engine = fast_retries(memory)
    await engine.start()
    writes = memory.writes
    memory.fail_next(1, "ambiguous", "write")
    result = await engine.submit(enqueue("a"))
    assert isinstance(result, EnqueueResult)
    assert memory.writes - writes == 1, "a write that landed must not be repeated"
    assert tags_of(decode_state((await stored(memory)).data)) == {"a": 1}
    assert engine.stats.landed_after_error == 1
    await engine.stop()


async def test_failed_write_is_retried_with_the_same_bytes() -> None:
    memory = MemoryBackend()
    engine = fast_retries(memory)
    await engine.start()
    memory.fail_next(2, "error", "write")
    result = await engine.submit(enqueue("a"))
    assert isinstance(result, EnqueueResult)
    state = decode_state((await stored(memory)).data)
    assert tags_of(state) == {"a": 1} and state.commit_seq == 2
    await engine.stop()


async def test_ambiguous_create_at_start_is_resolved() -> None:
    memory = MemoryBackend()
    memory.fail_next(1, "ambiguous", "write")
    engine = fast_retries(memory, broker_id="b1")
    await engine.start()
    state = decode_state((await stored(memory)).data)
    assert (state.commit_seq, state.broker_id) == (1, "b1")
    assert engine.commit_seq == 1
    await engine.stop()


async def test_exhausted_retries_fail_the_batch_and_restore_the_durable_state() -> None:
    memory = MemoryBackend()
    engine = fast_retries(memory)
    await engine.start()
    await engine.submit(enqueue("durable"))
    durable = await stored(memory)

    memory.fail_next(3, "error", "write")
    with pytest.raises(StorageBackendError, match="after 3 attempts"):
        await engine.submit(enqueue("lost"))
    assert engine.is_running
    assert engine.machine.encode() == durable.data, "the failed batch is still visible"
    assert [msgspec.json.decode(job.payload) for job in engine.machine.jobs()] == ["durable"]
    assert engine.stats.failed_batches == 1

    await engine.submit(enqueue("next"))
    state = decode_state((await stored(memory)).data)
    assert tags_of(state) == {"durable": 1, "next": 1}
    assert state.commit_seq == 3
    await engine.stop()


async def test_unknown_outcome_is_settled_before_the_next_write() -> None:
    memory = MemoryBackend()
    engine = fast_retries(memory)
    await engine.start()
    durable = await stored(memory)
    # The write lands but raises, and no read-back works until the retries are spent.
    memory.fail_next(1, "ambiguous", "write")
    memory.fail_next(3, "error", "read")
    with pytest.raises(StorageBackendError):
        await engine.submit(enqueue("landed-unconfirmed"))
    assert engine.machine.encode() == durable.data, "unconfirmed work must not be served"

    await engine.submit(enqueue("next"))
    state = decode_state((await stored(memory)).data)
    # The caller was told StorageBackendError, yet its write had landed: present exactly once.
    assert tags_of(state) == {"landed-unconfirmed": 1, "next": 1}
    assert state.commit_seq == 3
    assert engine.machine.encode() == (await stored(memory)).data
    await engine.stop()


async def test_foreign_write_seen_after_an_error_means_lost_leadership() -> None:
    memory = MemoryBackend()
    engine = GroupCommitEngine(
        memory, storage_retry_attempts=3, storage_retry_base_ms=60, storage_retry_max_ms=60
    )
    await engine.start()
    memory.fail_next(1, "error", "write")
    pending = asyncio.ensure_future(engine.submit(enqueue("a")))
    await asyncio.sleep(0.01)  # the engine is backing off before it reads back
    foreign = encode_state(QueueState(broker="10.0.0.9:8080", broker_id="theirs", commit_seq=2))
    memory.put(QUEUE_STATE_KEY, foreign)
    with pytest.raises(NotLeaderError) as caught:
        await pending
    assert caught.value.leader == "10.0.0.9:8080"
    assert (await stored(memory)).data == foreign
    assert not engine.is_running


class ResendingStorage(MemoryBackend):
    """Storage behind an HTTP client that resends a PUT whose answer was lost: the first
    write lands, and the resend then conflicts with it."""

    def __init__(self) -> None:
        super().__init__()
        self.resend_next = False

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        version = await super().write(key, data, expected)
        if self.resend_next:
            self.resend_next = False
            return await super().write(key, data, expected)  # raises CASConflictError
        return version


async def test_a_conflict_with_our_own_landed_write_is_a_success() -> None:
    storage = ResendingStorage()
    engine = GroupCommitEngine(storage)
    await engine.start()
    storage.resend_next = True
    result = await engine.submit(Enqueue([NewJob(msgspec.Raw(b'{"n":1}'))]))
    assert isinstance(result, EnqueueResult)
    assert engine.is_running
    # Still the leader: the next commit goes through, over the version that landed.
    await engine.submit(Enqueue([NewJob(msgspec.Raw(b'{"n":2}'))]))
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None and len(decode_state(current.data).jobs) == 2
    await engine.stop()


async def test_a_conflict_with_another_writer_still_loses_leadership() -> None:
    storage = MemoryBackend(latency_ms=20)
    engine = GroupCommitEngine(storage)
    await engine.start()
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    pending = asyncio.create_task(engine.submit(Enqueue([NewJob(msgspec.Raw(b"1"))])))
    await asyncio.sleep(0.005)  # the engine's write is in flight
    other = msgspec.structs.replace(decode_state(current.data), broker="other:1", broker_id="other")
    storage.put(QUEUE_STATE_KEY, encode_state(other))  # lands before the engine's write
    with pytest.raises(NotLeaderError):
        await pending
    stored = await storage.read(QUEUE_STATE_KEY)
    assert stored is not None and decode_state(stored.data).broker == "other:1"
