"""GroupCommitEngine: group commit, durable acknowledgement, per-mutation errors, CAS conflicts."""

from __future__ import annotations

import asyncio
import itertools
import time

import msgspec
import pytest
from osqueue_core import CommitInfo, CorruptStateError, GroupCommitEngine
from osqueue_storage import MemoryBackend
from osqueue_types import (
    QUEUE_STATE_KEY,
    Claim,
    ClaimResult,
    Complete,
    CompleteMany,
    CompleteManyResult,
    CompleteResult,
    ConfigError,
    EngineStateError,
    Enqueue,
    EnqueueResult,
    JobNotFoundError,
    NewJob,
    NotLeaderError,
    QueueState,
    ReadResult,
    ShuttingDownError,
    Version,
    decode_state,
    encode_state,
)


def enqueue(tag: str) -> Enqueue:
    return Enqueue([NewJob(payload=msgspec.Raw(msgspec.json.encode({"tag": tag})))])


async def stored(storage: MemoryBackend) -> QueueState:
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    return decode_state(current.data)


async def started(storage: MemoryBackend, **options: object) -> GroupCommitEngine:
    engine = GroupCommitEngine(storage, **options)  # type: ignore[arg-type]
    await engine.start()
    return engine


async def test_start_creates_missing_state() -> None:
    storage = MemoryBackend()
    engine = await started(storage, broker_id="b1")
    state = await stored(storage)
    assert (state.commit_seq, state.broker_id, state.jobs) == (1, "b1", [])
    assert engine.commit_seq == 1 and engine.is_running
    await engine.stop()


async def test_start_adopts_existing_state() -> None:
    storage = MemoryBackend()
    storage.put(QUEUE_STATE_KEY, encode_state(QueueState(broker="other:1", completed_total=7, commit_seq=41)))
    writes = storage.writes
    engine = await started(storage)
    assert storage.writes == writes, "adopting an existing state needs no write"
    assert engine.commit_seq == 41 and engine.machine.completed_total == 7
    await engine.submit(enqueue("a"))
    assert (await stored(storage)).commit_seq == 42
    await engine.stop()


async def test_corrupt_state_is_refused_and_left_alone() -> None:
    storage = MemoryBackend()
    storage.put(QUEUE_STATE_KEY, b'{"jobs": "not a list"')
    engine = GroupCommitEngine(storage)
    with pytest.raises(CorruptStateError, match="refusing"):
        await engine.start()
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None and current.data == b'{"jobs": "not a list"'
    assert storage.writes == 0
    with pytest.raises(EngineStateError):
        await engine.submit(enqueue("a"))


async def test_submit_before_start_is_refused() -> None:
    with pytest.raises(EngineStateError, match="not started"):
        await GroupCommitEngine(MemoryBackend()).submit(enqueue("a"))


@pytest.mark.parametrize(
    "options",
    [
        {"group_commit_interval_ms": -1},
        {"max_batch_size": 0},
        {"storage_retry_attempts": 0},
        {"expiry_interval_ms": 0},
        {"storage_retry_base_ms": 100, "storage_retry_max_ms": 10},
    ],
)
def test_bad_options_raise_config_error(options: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        GroupCommitEngine(MemoryBackend(), **options)  # type: ignore[arg-type]


async def test_concurrent_submitters_share_writes() -> None:
    storage = MemoryBackend(latency_ms=2)
    engine = await started(storage)
    writes = storage.writes
    results = await asyncio.gather(*(engine.submit(enqueue(str(i))) for i in range(500)))
    assert all(isinstance(result, EnqueueResult) and len(result.ids) == 1 for result in results)
    commits = storage.writes - writes
    assert commits <= 3, f"500 concurrent mutations took {commits} writes"
    state = await stored(storage)
    assert {job.id for job in state.jobs} == {
        result.ids[0] for result in results if isinstance(result, EnqueueResult)
    }
    assert engine.stats.mutations == 500
    assert engine.stats.mean_batch_size >= 500 / 3
    await engine.stop()


async def test_batches_grow_while_a_write_is_in_flight() -> None:
    storage = MemoryBackend(latency_ms=20)
    infos: list[CommitInfo] = []
    engine = await started(storage, on_commit=infos.append)
    first = asyncio.ensure_future(engine.submit(enqueue("first")))
    await asyncio.sleep(0.005)  # the first write is now in flight
    rest = [asyncio.ensure_future(engine.submit(enqueue(str(i)))) for i in range(50)]
    await asyncio.gather(first, *rest)
    assert [info.mutations for info in infos] == [1, 50]
    await engine.stop()


async def test_acknowledgement_waits_for_the_write() -> None:
    storage = MemoryBackend(latency_ms=60)
    engine = await started(storage)
    writes = storage.writes
    pending = asyncio.ensure_future(engine.submit(enqueue("slow")))
    await asyncio.sleep(0.03)
    assert storage.writes == writes + 1, "the write should be in flight"
    assert not pending.done(), "acknowledged before the write returned"
    result = await pending
    assert isinstance(result, EnqueueResult)
    assert [job.id for job in (await stored(storage)).jobs] == result.ids
    await engine.stop()


async def test_per_mutation_errors_stay_with_their_caller() -> None:
    storage = MemoryBackend(latency_ms=5)
    engine = await started(storage)
    writes = storage.writes
    outcomes = await asyncio.gather(
        engine.submit(enqueue("a")),
        engine.submit(Complete("no-such-job", "w1")),
        engine.submit(enqueue("b")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], EnqueueResult) and isinstance(outcomes[2], EnqueueResult)
    assert isinstance(outcomes[1], JobNotFoundError)
    assert storage.writes - writes == 1, "the failing mutation must not split or fail the batch"
    assert len((await stored(storage)).jobs) == 2
    assert engine.stats.mutation_errors == 1
    await engine.stop()


async def test_empty_claims_and_rejections_cost_no_write() -> None:
    storage = MemoryBackend()
    engine = await started(storage)
    writes, seq = storage.writes, engine.commit_seq
    for _ in range(5):
        assert await engine.submit(Claim("idle-worker")) == ClaimResult([])
        with pytest.raises(JobNotFoundError):
            await engine.submit(Complete("no-such-job", "w1"))
        nothing_held = await engine.submit(CompleteMany(["no-such-job", "nor-this"], "w1"))
        assert nothing_held == CompleteManyResult([], ["no-such-job", "nor-this"])
    assert (storage.writes, engine.commit_seq) == (writes, seq)
    # A claim that takes a job is a change, and waits for its write.
    await engine.submit(enqueue("a"))
    claimed = await engine.submit(Claim("w1"))
    assert isinstance(claimed, ClaimResult) and len(claimed.jobs) == 1
    assert storage.writes == writes + 2
    assert (await stored(storage)).jobs[0].worker_id == "w1"
    await engine.stop()


async def test_claim_and_complete_in_one_batch_see_each_other() -> None:
    storage = MemoryBackend()
    engine = await started(storage)
    enqueued = await engine.submit(enqueue("a"))
    assert isinstance(enqueued, EnqueueResult)
    claimed = await engine.submit(Claim("w1"))
    assert isinstance(claimed, ClaimResult) and [job.id for job in claimed.jobs] == enqueued.ids
    assert isinstance(await engine.submit(Complete(enqueued.ids[0], "w1")), CompleteResult)
    state = await stored(storage)
    assert state.jobs == [] and state.completed_total == 1
    await engine.stop()


async def test_minimum_interval_between_writes() -> None:
    storage = MemoryBackend()
    starts: list[float] = []
    engine = await started(
        storage, group_commit_interval_ms=40, on_commit=lambda _: starts.append(time.monotonic())
    )
    for i in range(4):
        await engine.submit(enqueue(str(i)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 3 and min(gaps) >= 0.035, gaps
    await engine.stop()


async def test_max_batch_size_is_honoured() -> None:
    storage = MemoryBackend(latency_ms=2)
    infos: list[CommitInfo] = []
    engine = await started(storage, max_batch_size=10, on_commit=infos.append)
    await asyncio.gather(*(engine.submit(enqueue(str(i))) for i in range(95)))
    assert max(info.mutations for info in infos) == 10
    assert sum(info.mutations for info in infos) == 95
    await engine.stop()


async def test_commit_info_reports_each_commit() -> None:
    storage = MemoryBackend()
    infos: list[CommitInfo] = []
    engine = await started(storage, on_commit=infos.append)
    await engine.submit(enqueue("a"))
    with pytest.raises(JobNotFoundError):
        await engine.submit(Complete("nope", "w"))  # changes nothing: no commit
    await engine.submit(Claim("w"))
    assert [(info.seq, info.mutations, info.errors, info.new_work) for info in infos] == [
        (2, 1, 0, True),
        (3, 1, 0, False),
    ]
    assert infos[-1].size_bytes == len(engine.state_bytes())
    await engine.stop()


async def test_cas_conflict_fails_pending_and_never_overwrites() -> None:
    storage = MemoryBackend(latency_ms=30)
    engine = await started(storage, broker_id="mine")
    in_flight = asyncio.ensure_future(engine.submit(enqueue("in-flight")))
    await asyncio.sleep(0.01)
    foreign = encode_state(QueueState(broker="10.0.0.9:8080", broker_id="theirs", commit_seq=99))
    storage.put(QUEUE_STATE_KEY, foreign)
    buffered = [asyncio.ensure_future(engine.submit(enqueue(str(i)))) for i in range(5)]

    outcomes = await asyncio.gather(in_flight, *buffered, return_exceptions=True)
    assert all(isinstance(outcome, NotLeaderError) for outcome in outcomes), outcomes
    assert all(
        outcome.leader == "10.0.0.9:8080" for outcome in outcomes if isinstance(outcome, NotLeaderError)
    )
    reason = await engine.wait_stopped()
    assert isinstance(reason, NotLeaderError) and reason.retryable
    assert not engine.is_running
    with pytest.raises(NotLeaderError):
        await engine.submit(enqueue("late"))
    await asyncio.sleep(0.1)
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None and current.data == foreign
    await engine.stop()  # a stopped engine stops quietly


async def test_stop_flushes_what_was_submitted() -> None:
    storage = MemoryBackend(latency_ms=20)
    engine = await started(storage)
    first = asyncio.ensure_future(engine.submit(enqueue("in-flight")))
    await asyncio.sleep(0.005)
    buffered = [asyncio.ensure_future(engine.submit(enqueue(str(i)))) for i in range(3)]
    await asyncio.sleep(0)
    await engine.stop()
    results = await asyncio.gather(first, *buffered)
    assert all(isinstance(result, EnqueueResult) for result in results)
    assert len((await stored(storage)).jobs) == 4
    assert await engine.wait_stopped() is None
    with pytest.raises(ShuttingDownError):
        await engine.submit(enqueue("late"))


async def test_abort_answers_pending_with_shutting_down() -> None:
    storage = MemoryBackend(latency_ms=50)
    engine = await started(storage)
    pending = [asyncio.ensure_future(engine.submit(enqueue(str(i)))) for i in range(3)]
    await asyncio.sleep(0.01)
    await engine.abort()
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    assert all(isinstance(outcome, ShuttingDownError) for outcome in outcomes)
    assert not engine.is_running


async def test_cancelled_caller_before_the_cut_is_not_applied() -> None:
    storage = MemoryBackend(latency_ms=20)
    engine = await started(storage)
    first = asyncio.ensure_future(engine.submit(enqueue("in-flight")))
    await asyncio.sleep(0.005)
    withdrawn = asyncio.ensure_future(engine.submit(enqueue("withdrawn")))
    kept = asyncio.ensure_future(engine.submit(enqueue("kept")))
    await asyncio.sleep(0)
    withdrawn.cancel()
    await asyncio.gather(first, kept)
    payloads = [bytes(job.payload) for job in (await stored(storage)).jobs]
    assert payloads == [b'{"tag":"in-flight"}', b'{"tag":"kept"}']
    await engine.stop()


async def test_idle_engine_expires_leases_without_traffic() -> None:
    storage = MemoryBackend()
    engine = await started(storage, heartbeat_timeout_ms=50, expiry_interval_ms=20)
    await engine.submit(enqueue("a"))
    claimed = await engine.submit(Claim("w1"))
    assert isinstance(claimed, ClaimResult) and len(claimed.jobs) == 1
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        jobs = (await stored(storage)).jobs
        if jobs and jobs[0].status == "unclaimed":
            break
        await asyncio.sleep(0.02)
    job = (await stored(storage)).jobs[0]
    assert job.status == "unclaimed" and job.worker_id is None

    # Nothing left to expire: ticks must not spend writes.
    writes = storage.writes
    await asyncio.sleep(0.15)
    assert storage.writes == writes
    await engine.stop()


class WholeWritesOnly:
    """A backend without `write_parts`: the engine must hand it one joined buffer."""

    def __init__(self) -> None:
        self.inner = MemoryBackend()

    async def read(self, key: str) -> ReadResult | None:
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        assert isinstance(data, bytes)
        return await self.inner.write(key, data, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_parts_and_whole_writes_store_the_same_queue_json() -> None:
    """With 1,000 jobs the state spans several cached chunks, which MemoryBackend takes as parts."""
    stores: list[bytes] = []
    for storage in (MemoryBackend(), WholeWritesOnly()):
        engine = GroupCommitEngine(storage, broker_id="b1", clock=lambda: 1_000)
        await engine.start()
        payload = msgspec.Raw(b'{"n":1}')
        await engine.submit(Enqueue([NewJob(payload=payload, type="t") for _ in range(1_000)]))
        claimed = await engine.submit(Claim(worker_id="w", limit=10))
        assert isinstance(claimed, ClaimResult)
        await asyncio.gather(*(engine.submit(Complete(job.id, "w")) for job in claimed.jobs[:5]))
        current = await storage.read(QUEUE_STATE_KEY)
        assert current is not None
        assert current.data == engine.state_bytes() == engine.machine.encode()
        state = decode_state(current.data)
        assert (len(state.jobs), state.completed_total) == (995, 5)
        stores.append(current.data)
        await engine.stop()
    ids = [decode_state(data).jobs[0].id for data in stores]
    assert ids[0] != ids[1]  # fresh ids in each run; everything else about the shape matches
    assert [len(data) for data in stores] == [len(stores[0])] * 2
