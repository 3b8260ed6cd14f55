"""Broker election: leadership lives in the queue state object itself.

The `broker`, `brokerHeartbeat` and `brokerId` fields name the leader. A broker takes over by
writing its own address with CAS when the object is missing, names nobody, names this very
broker (a restart with the same broker id), or carries a heartbeat older than the timeout.
The leader refreshes its heartbeat through the normal group commit; storage's CAS is the only
arbiter, so two brokers can never both have a write accepted on the same version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

import msgspec
from osqueue_types import (
    DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
    DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
    QUEUE_STATE_KEY,
    ConfigError,
    EngineStateError,
    NotLeaderError,
    OsqueueError,
    RegisterBroker,
    StorageBackend,
    StorageBackendError,
)

from ._engine import GroupCommitEngine, new_broker_id
from ._errors import CorruptStateError
from ._header import StateHeader, decode_header, wall_clock_ms
from ._tasks import cancel_and_wait

logger = logging.getLogger("osqueue.core.election")

_T = TypeVar("_T")


class BrokerElection:
    """Keeps one broker either leading a queue (with a running engine) or standing by.

    `engine_factory(broker_id)` builds the engine for each term of leadership; it must use
    this election's storage, key and broker id. `on_leader(engine)` runs when a term starts,
    `on_standby(leader)` when one ends (leadership lost or stepped down).
    """

    def __init__(
        self,
        storage: StorageBackend,
        key: str = QUEUE_STATE_KEY,
        *,
        address: str,
        broker_id: str | None = None,
        heartbeat_interval_ms: int = DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
        heartbeat_timeout_ms: int = DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
        engine_factory: Callable[[str], GroupCommitEngine] | None = None,
        on_leader: Callable[[GroupCommitEngine], None] | None = None,
        on_standby: Callable[[str | None], None] | None = None,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        if heartbeat_interval_ms <= 0 or heartbeat_timeout_ms <= 0:
            raise ConfigError(
                f"broker heartbeat interval ({heartbeat_interval_ms} ms) and timeout"
                f" ({heartbeat_timeout_ms} ms) must be positive"
            )
        if heartbeat_interval_ms * 2 >= heartbeat_timeout_ms:
            raise ConfigError(
                f"broker heartbeat interval ({heartbeat_interval_ms} ms) must be less than half the"
                f" heartbeat timeout ({heartbeat_timeout_ms} ms), or a healthy leader could be taken over"
            )
        self.storage = storage
        self.key = key
        self.address = address
        self.broker_id = broker_id if broker_id is not None else new_broker_id()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self._engine_factory = engine_factory or self._default_engine
        self._on_leader = on_leader
        self._on_standby = on_standby
        self._clock = clock
        self._engine: GroupCommitEngine | None = None
        self._leader: str | None = None
        self._last_heartbeat = 0  # brokerHeartbeat of our last durable refresh
        self._task: asyncio.Task[None] | None = None

    @property
    def engine(self) -> GroupCommitEngine | None:
        """The engine of the current term, None while standing by."""
        return self._engine

    @property
    def is_leader(self) -> bool:
        return self._engine is not None and self._engine.is_running

    def current_leader(self) -> str | None:
        """Address of the leader as last seen (this broker's own while it leads)."""
        return self.address if self.is_leader else self._leader

    def not_leader_error(self) -> NotLeaderError:
        """The error a standby answers requests with, naming the leader so clients can move."""
        leader = self.current_leader()
        return NotLeaderError(f"this broker does not lead {self.key}; the leader is {leader}", leader=leader)

    async def start(self) -> None:
        """Try once to lead, then keep trying in the background.

        A corrupt state object fails here (it is never overwritten); later campaigns only log.
        """
        if self._task is not None:
            raise EngineStateError("the election was already started")
        delay = await self._campaign(first=True)
        self._task = asyncio.get_running_loop().create_task(
            self._run(delay), name=f"osqueue-election:{self.key}"
        )

    async def stop(self) -> None:
        """Stop campaigning; a leader commits what it already accepted, then stops.

        The election itself writes nothing more. The broker hands leadership back after this
        returns: once the engine's last commit is durable it writes `brokerHeartbeat` 0 over it
        (osqueue_broker's `release_lease`), so a standby takes over at its next look. Without
        that write a standby takes over once the heartbeat is older than the timeout.
        """
        engine = await self._halt()
        if engine is not None:
            await engine.stop()

    async def abort(self) -> None:
        """Stop at once, as a crash would: no last commit, pending callers get ShuttingDownError."""
        engine = await self._halt()
        if engine is not None:
            await engine.abort()

    # -- the loop ---------------------------------------------------------------------------

    async def _halt(self) -> GroupCommitEngine | None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)
        engine, self._engine = self._engine, None
        return engine

    async def _run(self, delay: float) -> None:
        while True:
            engine = self._engine
            if engine is not None:
                await self._lead(engine)
                delay = 0.0
                continue
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                delay = await self._campaign(first=False)
            except Exception:
                logger.exception("campaign for %s failed", self.key)
                delay = self.heartbeat_interval_ms / 1000

    async def _campaign(self, *, first: bool) -> float:
        """One standby round: lead if the leader is gone; returns seconds until the next round."""
        interval_s = self.heartbeat_interval_ms / 1000
        try:
            current = await self.storage.read(self.key)
        except StorageBackendError as exc:
            logger.warning("cannot read %s to elect a broker: %s", self.key, exc)
            return interval_s
        if current is not None:
            try:
                header = decode_header(current.data)
            except msgspec.DecodeError as exc:
                error = CorruptStateError(f"{self.key} is not a valid queue state ({exc}); not taking over")
                if first:
                    raise error from exc
                logger.error("%s", error)
                return interval_s
            wait_ms = self._leader_lease_left(header)
            if wait_ms > 0:
                self._leader = header.broker
                return min(self.heartbeat_interval_ms, wait_ms) / 1000

        engine = self._engine_factory(self.broker_id)
        if engine.broker_id != self.broker_id or engine.key != self.key or engine.storage is not self.storage:
            raise ConfigError("engine_factory must build engines on this election's storage, key, broker id")
        try:
            await engine.start(current, register=RegisterBroker(self.address, self.broker_id))
        except NotLeaderError as exc:
            self._leader = exc.leader
            return interval_s
        except CorruptStateError:
            if first:
                raise
            logger.exception("not taking over %s", self.key)
            return interval_s
        except StorageBackendError as exc:
            logger.warning("could not take leadership of %s: %s", self.key, exc)
            return interval_s
        self._engine = engine
        self._leader = self.address
        self._last_heartbeat = engine.machine.broker_heartbeat
        logger.info("broker %s (%s) leads %s", self.address, self.broker_id, self.key)
        if self._on_leader is not None:
            _notify(self._on_leader, engine)
        return 0.0

    def _leader_lease_left(self, header: StateHeader) -> int:
        """Milliseconds before the named leader may be taken over (0: now)."""
        if header.broker is None or header.broker_id == self.broker_id:
            return 0
        return max(0, self.heartbeat_timeout_ms - (self._clock() - header.broker_heartbeat))

    async def _lead(self, engine: GroupCommitEngine) -> None:
        """Refresh the heartbeat every interval until the term ends."""
        stopped = asyncio.ensure_future(engine.wait_stopped())
        refresh: asyncio.Task[None] | None = None
        leader: str | None = None
        try:
            while True:
                await asyncio.wait({stopped}, timeout=self.heartbeat_interval_ms / 1000)
                if stopped.done():
                    reason = stopped.result()
                    leader = reason.leader if isinstance(reason, NotLeaderError) else None
                    logger.warning("broker %s no longer leads %s: %s", self.address, self.key, reason)
                    break
                silent_ms = self._clock() - self._last_heartbeat
                if silent_ms >= self.heartbeat_timeout_ms:
                    # Possibly partitioned from storage: a standby may already have taken over.
                    logger.error("heartbeat of %s not written for %d ms; stepping down", self.key, silent_ms)
                    await engine.abort(NotLeaderError(f"this broker stepped down from {self.key}"))
                    break
                if refresh is None or refresh.done():
                    refresh = asyncio.get_running_loop().create_task(self._refresh(engine))
        finally:
            if refresh is not None:
                refresh.cancel()
            stopped.cancel()
        self._engine = None
        self._leader = leader
        if self._on_standby is not None:
            _notify(self._on_standby, leader)

    async def _refresh(self, engine: GroupCommitEngine) -> None:
        try:
            await engine.submit(RegisterBroker(self.address, self.broker_id))
        except OsqueueError as exc:
            logger.warning("heartbeat refresh of %s failed: %s", self.key, exc)
            return
        self._last_heartbeat = engine.machine.broker_heartbeat

    def _default_engine(self, broker_id: str) -> GroupCommitEngine:
        return GroupCommitEngine(self.storage, self.key, broker_id=broker_id, clock=self._clock)


def _notify(callback: Callable[[_T], None], value: _T) -> None:
    try:
        callback(value)
    except Exception:
        logger.exception("election callback %r failed", callback)
