"""One poller per dashboard: it asks the broker for the queue's state every `poll_interval`,
keeps the chart history, the activity log and the worker list, and wakes the live streams.

However many browser tabs are open, the broker sees one stats call (plus one listing of the
in-progress jobs) per interval. The stats also name the leader and its lease heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable

from osqueue_client import DeadLetterInfo, JobInfo, OsqueueClient, QueueStats
from osqueue_types import JobNotFoundError, OsqueueError, TransportRequestError

from ._activity import Activity, Fate, Snapshot, diff, estimate_submitted, vanished
from ._history import History, make_sample
from ._leader import Leader
from ._workers import WorkerRegistry

log = logging.getLogger("osqueue_dashboard")

# In-progress jobs listed per poll; above this the activity log keeps to counters.
MAX_TRACKED_IN_PROGRESS = 1000
# Jobs that left in_progress whose fate is looked up per poll (one get_job call each).
MAX_FATE_LOOKUPS = 25
ACTIVITY_KEPT = 200
MAX_TYPES_SEEN = 200


def now_ms() -> int:
    return int(time.time() * 1000)


class Monitor:
    def __init__(self, client: OsqueueClient, *, poll_interval: float) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.history = History()
        self.workers = WorkerRegistry()
        self.activity: deque[Activity] = deque(maxlen=ACTIVITY_KEPT)
        self.activity_seq = 0  # number of activities ever recorded (ids for the live stream)
        self.stats: QueueStats | None = None
        self.polled_at = 0
        self.error: str | None = None
        # Bumped whenever what the pages show may have changed; pages reload their live parts.
        self.version = 0
        self.ticks = 0  # bumped after every poll and every recorded action: wakes the streams
        self._snapshot: Snapshot | None = None
        self._requeued = 0
        self._deleted = 0
        self._types: dict[str, None] = {}
        self._updated = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Set when the server shuts down: live streams end instead of holding the shutdown up.
        self.closing = False

    @property
    def broker_ok(self) -> bool:
        return self.error is None and self.stats is not None

    def leader_view(self) -> Leader:
        """The leader and its lease heartbeat as of the last poll that reached the broker."""
        return Leader.of(self.stats)

    def types_seen(self) -> list[str]:
        return sorted(self._types)

    def note_types(self, jobs: Iterable[JobInfo]) -> None:
        for job in jobs:
            if job.type and job.type not in self._types:
                self._types[job.type] = None
                while len(self._types) > MAX_TYPES_SEEN:
                    del self._types[next(iter(self._types))]

    def note_type(self, job_type: str | None) -> None:
        if job_type:
            self._types.setdefault(job_type, None)

    def record(self, kind: str, text: str, job_id: str | None = None) -> None:
        self._add_activity([Activity(now_ms(), kind, text, job_id)])
        self._wake()

    def note_dead_letters(self, *, requeued: int = 0, deleted: int = 0) -> None:
        """Dead letters this dashboard requeued or deleted: keeps the derived counts honest."""
        self._requeued += requeued
        self._deleted += deleted

    def activity_since(self, seq: int) -> list[Activity]:
        new = min(self.activity_seq - seq, len(self.activity))
        return list(self.activity)[len(self.activity) - new :] if new > 0 else []

    async def wait_for_tick(self, tick: int, timeout: float) -> None:
        """Return once `self.ticks` has moved past `tick` (or on timeout)."""
        event = self._updated
        if self.ticks != tick:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def close_streams(self) -> None:
        self.closing = True
        self._wake()

    async def start(self, *, first_poll_timeout: float) -> None:
        """Start polling; wait (a little) for the first poll, so the first page shows numbers."""
        self._task = asyncio.create_task(self._run(), name="osqueue-dashboard-monitor")
        first = self._updated
        try:
            await asyncio.wait_for(first.wait(), first_poll_timeout)
        except TimeoutError:
            pass  # the broker is slow or away: the pages say so until it answers

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Not `await self._task`: its CancelledError would be indistinguishable from ours.
            await asyncio.wait({self._task})
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await self.poll_once()
            await asyncio.sleep(max(0.05, self.poll_interval - (time.monotonic() - started)))

    async def poll_once(self) -> None:
        try:
            await self._poll()
        except OsqueueError as exc:
            self._set_error(f"{exc.tag}: {exc.message}" if exc.message else exc.tag)
        except Exception as exc:  # keep polling whatever the broker answered
            log.exception("dashboard poll failed")
            self._set_error(f"{type(exc).__name__}: {exc}")

    def _set_error(self, message: str) -> None:
        if self.error != message:
            self.error = message
            self.version += 1
        self._wake()

    async def _poll(self) -> None:
        stats = await self.client.stats()
        at = now_ms()
        truncated = stats.in_progress > MAX_TRACKED_IN_PROGRESS
        listing = await self.client.list_jobs(status="in_progress", limit=MAX_TRACKED_IN_PROGRESS)
        current = Snapshot(stats, {job.id: job for job in listing.jobs}, truncated)
        self.note_types(listing.jobs)
        self.workers.observe(listing.jobs, at)
        previous = self._snapshot
        if previous is not None:
            fates = await self._fates(vanished(previous, current)[:MAX_FATE_LOOKUPS], previous.stats, stats)
            requeued, deleted, self._requeued, self._deleted = self._requeued, self._deleted, 0, 0
            self._add_activity(diff(previous, current, fates, at=at, requeued=requeued, deleted=deleted))
            submitted = estimate_submitted(previous.stats, stats, deleted=deleted)
            completed = max(0, stats.completed_total - previous.stats.completed_total)
            self.history.add(
                make_sample(
                    at, stats, submitted=submitted, completed=completed, elapsed_ms=at - self.polled_at
                )
            )
        if previous is None or self.error is not None or self._changed(previous, current):
            self.version += 1
        self._snapshot = current
        self.stats = stats
        self.polled_at = at
        self.error = None
        self._wake()

    @staticmethod
    def _changed(previous: Snapshot, current: Snapshot) -> bool:
        return previous.stats != current.stats or previous.in_progress.keys() != current.in_progress.keys()

    async def _fates(self, job_ids: list[str], before: QueueStats, after: QueueStats) -> dict[str, Fate]:
        fates: dict[str, Fate] = {}
        if not job_ids:
            return fates
        dead: dict[str, DeadLetterInfo] = {}
        if after.dead_letters > before.dead_letters:
            # New dead letters are appended: the tail of the list holds them.
            window = min(after.dead_letters, MAX_FATE_LOOKUPS * 4)
            page = await self.client.dead_letters(offset=after.dead_letters - window, limit=window)
            dead = {letter.job.id: letter for letter in page.dead_letters}
        for job_id in job_ids:
            if job_id in dead:
                fates[job_id] = dead[job_id]
                continue
            try:
                fates[job_id] = await self.client.get_job(job_id)
            except JobNotFoundError:
                fates[job_id] = None
            except TransportRequestError:
                continue  # an answer this client cannot read (e.g. a newer status): fate unknown
        return fates

    def _add_activity(self, events: list[Activity]) -> None:
        self.activity.extend(events)
        self.activity_seq += len(events)

    def _wake(self) -> None:
        self.ticks += 1
        event, self._updated = self._updated, asyncio.Event()
        event.set()
