"""BrokerElection: taking over, failover under load, stepping down, configuration guard.

Timings are small (heartbeat every 100 ms, timeout 300 ms) so that failovers happen in
well under a second.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import pytest
from osqueue_core import BrokerElection, CorruptStateError, GroupCommitEngine
from osqueue_storage import MemoryBackend
from osqueue_types import (
    QUEUE_STATE_KEY,
    ConfigError,
    Enqueue,
    EnqueueResult,
    NewJob,
    NotLeaderError,
    OsqueueError,
    QueueState,
    ReadResult,
    StorageBackend,
    StorageBackendError,
    Version,
    decode_state,
    encode_state,
)

INTERVAL_MS = 100
TIMEOUT_MS = 300
# Allowance for a busy machine on top of what the protocol itself needs.
SLACK_MS = 400


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def enqueue(tag: str) -> Enqueue:
    return Enqueue([NewJob(payload=msgspec.Raw(msgspec.json.encode(tag)))])


async def stored(storage: MemoryBackend) -> QueueState:
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    return decode_state(current.data)


async def wait_until(condition: Callable[[], bool], timeout_s: float) -> float:
    """Seconds it took for `condition` to hold; fails after `timeout_s`."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < timeout_s, f"condition not met within {timeout_s} s"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


@dataclass
class Ledger:
    """Every acknowledgement moment (commit or takeover) of every broker, in the order they happened."""

    events: list[tuple[int, str, int]] = field(default_factory=list)  # (order, broker id, commit seq)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def record(self, broker_id: str, seq: int) -> None:
        self.events.append((next(self._order), broker_id, seq))

    def election(
        self,
        storage: StorageBackend,
        address: str,
        broker_id: str,
        *,
        clock: Callable[[], int] = now_ms,
        on_standby: Callable[[str | None], None] | None = None,
    ) -> BrokerElection:
        def factory(bid: str) -> GroupCommitEngine:
            return GroupCommitEngine(
                storage, broker_id=bid, clock=clock, on_commit=lambda info: self.record(bid, info.seq)
            )

        return BrokerElection(
            storage,
            address=address,
            broker_id=broker_id,
            heartbeat_interval_ms=INTERVAL_MS,
            heartbeat_timeout_ms=TIMEOUT_MS,
            engine_factory=factory,
            on_leader=lambda engine: self.record(engine.broker_id, engine.commit_seq),
            on_standby=on_standby,
            clock=clock,
        )

    def check_single_writer(self) -> None:
        seqs = [seq for _, _, seq in self.events]
        assert len(seqs) == len(set(seqs)), "a commit seq was acknowledged twice"
        assert seqs == sorted(seqs), "a broker acknowledged a commit older than another broker's"


class Load:
    """Producers that enqueue through whichever broker currently leads, recording acknowledgements."""

    def __init__(self, elections: list[BrokerElection], producers: int = 20) -> None:
        self.elections = elections
        self.acknowledged: dict[str, str] = {}
        self.refused = 0
        self.paused = False
        self._stop = asyncio.Event()
        self._tasks = [asyncio.ensure_future(self._produce(p)) for p in range(producers)]

    async def _produce(self, p: int) -> None:
        for i in itertools.count():
            if self._stop.is_set():
                return
            engine = next((e.engine for e in self.elections if e.is_leader and e.engine), None)
            if engine is None or self.paused:
                await asyncio.sleep(0.005)
                continue
            tag = f"{p}-{i}"
            try:
                result = await engine.submit(enqueue(tag))
            except OsqueueError:
                self.refused += 1
                continue
            assert isinstance(result, EnqueueResult)
            self.acknowledged[tag] = result.ids[0]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def check_all_present(self, state: QueueState) -> None:
        present = {msgspec.json.decode(job.payload, type=str): job.id for job in state.jobs}
        missing = [tag for tag, job_id in self.acknowledged.items() if present.get(tag) != job_id]
        assert not missing, f"{len(missing)} acknowledged jobs missing, e.g. {missing[:3]}"


@pytest.mark.parametrize(("interval", "timeout"), [(150, 300), (200, 300), (0, 300), (100, 0)])
def test_unsafe_heartbeat_configuration_is_refused(interval: int, timeout: int) -> None:
    with pytest.raises(ConfigError, match="heartbeat"):
        BrokerElection(
            MemoryBackend(), address="a:1", heartbeat_interval_ms=interval, heartbeat_timeout_ms=timeout
        )


def test_default_configuration_is_safe() -> None:
    election = BrokerElection(MemoryBackend(), address="a:1")
    assert election.heartbeat_interval_ms * 2 < election.heartbeat_timeout_ms


async def test_first_broker_creates_the_state_and_leads() -> None:
    storage = MemoryBackend()
    leaders: list[GroupCommitEngine] = []
    election = BrokerElection(
        storage,
        address="10.0.0.1:8080",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
        on_leader=leaders.append,
    )
    await election.start()
    assert election.is_leader and election.current_leader() == "10.0.0.1:8080"
    assert leaders == [election.engine]
    state = await stored(storage)
    assert (state.broker, state.broker_id, state.commit_seq) == ("10.0.0.1:8080", "A", 1)

    # The heartbeat is refreshed through the engine while leading.
    first_heartbeat = state.broker_heartbeat
    await asyncio.sleep(0.25)
    assert (await stored(storage)).broker_heartbeat > first_heartbeat
    await election.stop()
    assert not election.is_leader


async def test_standby_names_the_leader_and_waits_while_it_is_alive() -> None:
    storage = MemoryBackend()
    ledger = Ledger()
    a = ledger.election(storage, "a:1", "A")
    b = ledger.election(storage, "b:1", "B")
    await a.start()
    await b.start()
    assert not b.is_leader and b.engine is None
    assert b.current_leader() == "a:1"
    error = b.not_leader_error()
    assert isinstance(error, NotLeaderError) and error.leader == "a:1" and error.retryable
    await asyncio.sleep(3 * TIMEOUT_MS / 1000)
    assert a.is_leader and not b.is_leader, "a standby took over from a live leader"
    await b.stop()
    await a.stop()


async def test_failover_under_load_after_a_crash() -> None:
    storage = MemoryBackend(latency_ms=1)
    ledger = Ledger()
    a = ledger.election(storage, "a:1", "A")
    b = ledger.election(storage, "b:1", "B")
    await a.start()
    await b.start()
    load = Load([a, b])
    await asyncio.sleep(0.4)
    assert a.is_leader and not b.is_leader
    acknowledged_by_a = len(load.acknowledged)
    assert acknowledged_by_a > 0

    await a.abort()  # a crash: no last commit, no hand-over
    takeover_s = await wait_until(lambda: b.is_leader, timeout_s=2)
    assert takeover_s <= (TIMEOUT_MS + SLACK_MS) / 1000, f"standby took {takeover_s:.3f} s to take over"
    assert b.current_leader() == "b:1"

    await asyncio.sleep(0.3)
    await load.stop()
    await b.stop()
    assert len(load.acknowledged) > acknowledged_by_a, "the new leader acknowledged nothing"
    ledger.check_single_writer()
    brokers_in_order = [broker for _, broker, _ in ledger.events]
    assert brokers_in_order == sorted(brokers_in_order), "A acknowledged after B took over"
    load.check_all_present(await stored(storage))


async def test_takeover_by_a_skewed_standby_never_double_acknowledges() -> None:
    # B's clock runs a second ahead, so it takes A's live leadership at once: the split-brain
    # case. Only storage CAS arbitrates; A must notice on its next write and stand by.
    storage = MemoryBackend(latency_ms=1)
    ledger = Ledger()
    standbys: list[str | None] = []
    a = ledger.election(storage, "a:1", "A", on_standby=standbys.append)
    b = ledger.election(storage, "b:1", "B", clock=lambda: now_ms() + 1000)
    await a.start()
    load = Load([a, b])  # producers prefer A for as long as A believes it leads
    await asyncio.sleep(0.2)
    # A's back-to-back commits would win every CAS race against B's takeover: pause briefly.
    load.paused = True
    await asyncio.sleep(0.02)
    await b.start()
    assert b.is_leader
    load.paused = False
    await wait_until(lambda: bool(standbys), timeout_s=1)
    assert standbys == ["b:1"] and not a.is_leader
    assert a.current_leader() == "b:1"
    await asyncio.sleep(0.3)
    assert not a.is_leader, "A took leadership back from a live leader"
    await load.stop()
    await a.stop()
    await b.stop()
    ledger.check_single_writer()
    load.check_all_present(await stored(storage))


class PartitionableStorage:
    """Wraps a backend; while `down`, every call fails like an unreachable network."""

    def __init__(self, inner: StorageBackend) -> None:
        self.inner = inner
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StorageBackendError("partitioned from storage")

    async def read(self, key: str) -> ReadResult | None:
        self._check()
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        self._check()
        return await self.inner.write(key, data, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        self._check()
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_leader_steps_down_when_its_heartbeat_cannot_be_written() -> None:
    storage = PartitionableStorage(MemoryBackend())
    standbys: list[str | None] = []

    def factory(broker_id: str) -> GroupCommitEngine:
        return GroupCommitEngine(
            storage, broker_id=broker_id, storage_retry_attempts=2, storage_retry_base_ms=10
        )

    election = BrokerElection(
        storage,
        address="a:1",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
        engine_factory=factory,
        on_standby=standbys.append,
    )
    await election.start()
    try:
        engine = election.engine
        assert engine is not None
        storage.down = True
        step_down_s = await wait_until(lambda: not election.is_leader, timeout_s=2)
        # Stale after the timeout, noticed at the next interval tick.
        assert step_down_s <= (TIMEOUT_MS + INTERVAL_MS + SLACK_MS) / 1000, (
            f"stepped down after {step_down_s:.3f} s"
        )
        # The engine stops first; the standby callback follows once the term is wound up.
        await wait_until(lambda: bool(standbys), timeout_s=1)
        assert standbys == [None]
        with pytest.raises(NotLeaderError):
            await engine.submit(enqueue("late"))

        # Back online, the file still names this broker: it takes over again without waiting.
        storage.down = False
        await wait_until(lambda: election.is_leader, timeout_s=(INTERVAL_MS + SLACK_MS) / 1000)
        assert election.engine is not engine
    finally:
        await election.stop()


async def test_restart_with_the_same_broker_id_takes_over_at_once() -> None:
    storage = MemoryBackend()
    first = BrokerElection(
        storage,
        address="a:1",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
    )
    await first.start()
    await first.stop()
    again = BrokerElection(
        storage,
        address="a:2",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
    )
    await again.start()
    assert again.is_leader
    assert (await stored(storage)).broker == "a:2"
    await again.stop()


async def test_corrupt_state_stops_the_start_and_is_left_alone() -> None:
    storage = MemoryBackend()
    storage.put(QUEUE_STATE_KEY, b"\x00garbage")
    election = BrokerElection(
        storage, address="a:1", heartbeat_interval_ms=INTERVAL_MS, heartbeat_timeout_ms=TIMEOUT_MS
    )
    with pytest.raises(CorruptStateError):
        await election.start()
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None and current.data == b"\x00garbage"


async def test_engine_factory_must_match_the_election() -> None:
    storage = MemoryBackend()
    election = BrokerElection(
        storage,
        address="a:1",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
        engine_factory=lambda _: GroupCommitEngine(storage, broker_id="someone-else"),
    )
    with pytest.raises(ConfigError, match="engine_factory"):
        await election.start()


async def test_stale_leader_in_the_file_is_taken_over() -> None:
    storage = MemoryBackend()
    stale = QueueState(
        broker="gone:1", broker_id="G", broker_heartbeat=now_ms() - 10 * TIMEOUT_MS, commit_seq=5
    )
    storage.put(QUEUE_STATE_KEY, encode_state(stale))
    election = BrokerElection(
        storage,
        address="a:1",
        broker_id="A",
        heartbeat_interval_ms=INTERVAL_MS,
        heartbeat_timeout_ms=TIMEOUT_MS,
    )
    await election.start()
    assert election.is_leader
    state = await stored(storage)
    assert (state.broker, state.broker_id, state.commit_seq) == ("a:1", "A", 6)
    await election.stop()
