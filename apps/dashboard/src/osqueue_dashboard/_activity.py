"""The activity log, derived from two successive snapshots of the queue.

The broker publishes no event stream, so the dashboard compares what it polled last time with
what it polls now: counter deltas (submitted, completed, dead-lettered) and the set of in-progress
jobs (claimed; and for jobs that left it, their fate looked up by id). Jobs that came and went
between two polls only show up in the counters, so the log is a faithful summary, not a full trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from osqueue_client import DeadLetterInfo, JobInfo, QueueStats
from osqueue_types import JobStatus

# A job whose heartbeat is this old when it leaves in_progress without an error has expired.
EXPIRY_HINT_MS = 30_000


@dataclass(frozen=True, slots=True)
class Activity:
    at: int
    kind: str  # submitted | claimed | completed | failed | expired | dead | action
    text: str
    job_id: str | None = None

    def as_json(self) -> dict[str, str | int | None]:
        return {"at": self.at, "kind": self.kind, "text": self.text, "jobId": self.job_id}


@dataclass(frozen=True, slots=True)
class Snapshot:
    stats: QueueStats
    in_progress: Mapping[str, JobInfo] = field(default_factory=dict)
    # True when there were more in-progress jobs than the dashboard lists per poll.
    truncated: bool = False


# What became of a job that left in_progress: its current row, its dead letter, or None (gone).
Fate = JobInfo | DeadLetterInfo | None


def estimate_submitted(prev: QueueStats, cur: QueueStats, *, deleted: int = 0) -> int:
    """Jobs that entered the queue: total grows by submissions and shrinks by completions and
    dead-lettering; requeued dead letters move between the two counts and cancel out, deleted
    ones (known when this dashboard deleted them) leave both."""
    delta = (cur.total - prev.total) + (cur.completed_total - prev.completed_total)
    delta += (cur.dead_letters - prev.dead_letters) + deleted
    return max(0, delta)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _job_label(job: JobInfo) -> str:
    return f"{job.type or 'untyped'} {job.id[:8]}"


def _attempts(job: JobInfo) -> str:
    return f"{job.attempts}/{job.max_attempts}" if job.max_attempts else str(job.attempts)


def _left_in_progress(prev: JobInfo, fate: Fate, at: int) -> Activity | None:
    """The event for a job that was in progress and no longer is (None: counted as completed)."""
    if fate is None:
        return None
    if isinstance(fate, DeadLetterInfo):
        return Activity(at, "dead", f"{_job_label(prev)} moved to dead letters: {fate.reason}", prev.id)
    error = fate.last_error or ""
    stale = prev.heartbeat > 0 and at - prev.heartbeat >= EXPIRY_HINT_MS
    if "expire" in error.lower() or "heartbeat" in error.lower() or (not error and stale):
        text = f"{_job_label(prev)} expired (no heartbeat from {prev.worker_id})"
        return Activity(at, "expired", text, prev.id)
    detail = f": {error}" if error else ""
    return Activity(
        at, "failed", f"{_job_label(prev)} failed on {prev.worker_id}, will retry{detail}", prev.id
    )


def diff(
    prev: Snapshot, cur: Snapshot, fates: Mapping[str, Fate], *, at: int, requeued: int = 0, deleted: int = 0
) -> list[Activity]:
    """Events between two snapshots. `fates` holds what became of (some of) the jobs that left
    in_progress; `requeued` and `deleted` count dead letters this dashboard requeued or deleted."""
    events: list[Activity] = []
    submitted = estimate_submitted(prev.stats, cur.stats, deleted=deleted)
    if submitted:
        events.append(Activity(at, "submitted", f"{_plural(submitted, 'job')} submitted"))
    completed = max(0, cur.stats.completed_total - prev.stats.completed_total)
    dead = max(0, cur.stats.dead_letters - prev.stats.dead_letters + requeued + deleted)
    if not (prev.truncated or cur.truncated):
        for job_id, fate in fates.items():
            before = prev.in_progress.get(job_id)
            if before is None:
                continue
            event = _left_in_progress(before, fate, at)
            if event is None:
                if completed:
                    completed -= 1
                    text = f"{_job_label(before)} completed by {before.worker_id}"
                    events.append(Activity(at, "completed", text, job_id))
                else:
                    text = f"{_job_label(before)} dropped after its last attempt"
                    events.append(Activity(at, "expired", text, job_id))
                continue
            if event.kind == "dead":
                dead = max(0, dead - 1)
            events.append(event)
        for job in cur.in_progress.values():
            before = prev.in_progress.get(job.id)
            if before is None or before.attempts != job.attempts:
                text = f"{_job_label(job)} claimed by {job.worker_id} (attempt {_attempts(job)})"
                events.append(Activity(at, "claimed", text, job.id))
    if completed:
        events.append(Activity(at, "completed", f"{_plural(completed, 'job')} completed"))
    if dead:
        events.append(Activity(at, "dead", f"{_plural(dead, 'job')} moved to dead letters"))
    return events


def vanished(prev: Snapshot, cur: Snapshot) -> list[str]:
    """Ids of jobs that were in progress before and are not (or were re-claimed) now."""
    if prev.truncated or cur.truncated:
        return []
    gone = []
    for job_id, job in prev.in_progress.items():
        now = cur.in_progress.get(job_id)
        if now is None or now.attempts != job.attempts or now.status != JobStatus.IN_PROGRESS:
            gone.append(job_id)
    return gone
