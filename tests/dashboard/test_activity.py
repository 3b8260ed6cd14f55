"""The activity log derived from two snapshots."""

from __future__ import annotations

from osqueue_client import DeadLetterInfo, JobInfo, QueueStats
from osqueue_dashboard._activity import Activity, Fate, Snapshot, diff, estimate_submitted, vanished
from osqueue_types import JobStatus

NOW = 1_700_000_000_000


def stats(total: int = 0, in_progress: int = 0, completed: int = 0, dead: int = 0) -> QueueStats:
    return QueueStats(
        total=total,
        unclaimed=total - in_progress,
        in_progress=in_progress,
        completed_total=completed,
        broker_address="127.0.0.1:8080",
        dead_letters=dead,
    )


def job(
    job_id: str, *, status: JobStatus = JobStatus.IN_PROGRESS, attempts: int = 1, **fields: object
) -> JobInfo:
    values: dict[str, object] = {
        "type": "email",
        "worker_id": "w1" if status == JobStatus.IN_PROGRESS else None,
        "created_at": NOW - 5000,
        "max_attempts": 3,
        "heartbeat": NOW - 1000,
        **fields,
    }
    return JobInfo(id=job_id, status=status, payload={}, attempts=attempts, **values)  # type: ignore[arg-type]


def snapshot(s: QueueStats, *jobs: JobInfo) -> Snapshot:
    return Snapshot(s, {j.id: j for j in jobs})


def kinds(events: list[Activity]) -> list[str]:
    return [e.kind for e in events]


def test_submissions_are_counted_from_the_counters() -> None:
    assert estimate_submitted(stats(total=2), stats(total=5)) == 3
    # Two completed and one new: the total only grew by... minus one.
    assert estimate_submitted(stats(total=5), stats(total=4, completed=2)) == 1
    # A requeue moves letters back without any submission.
    assert estimate_submitted(stats(total=0, dead=3), stats(total=3, dead=0)) == 0
    # Deleted dead letters leave both counts; the dashboard knows how many it deleted.
    assert estimate_submitted(stats(dead=3), stats(dead=0), deleted=3) == 0


def test_claimed_then_completed() -> None:
    before = snapshot(stats(total=1))
    claimed = snapshot(stats(total=1, in_progress=1), job("a"))
    events = diff(before, claimed, {}, at=NOW)
    assert kinds(events) == ["claimed"]
    assert "claimed by w1" in events[0].text and events[0].job_id == "a"

    done = snapshot(stats(total=0, completed=1))
    assert vanished(claimed, done) == ["a"]
    events = diff(claimed, done, {"a": None}, at=NOW)
    assert kinds(events) == ["completed"]
    assert events[0].text.endswith("completed by w1")


def test_failed_expired_and_dead_lettered() -> None:
    prev = snapshot(stats(total=3, in_progress=3), job("f"), job("e", heartbeat=NOW - 40_000), job("d"))
    cur = snapshot(stats(total=2, dead=1))
    fates: dict[str, Fate] = {
        "f": job("f", status=JobStatus.UNCLAIMED, last_error="ValueError: nope"),
        "e": job("e", status=JobStatus.UNCLAIMED),
        "d": DeadLetterInfo(job=job("d", attempts=3), reason="boom", dead_at=NOW),
    }
    events = diff(prev, cur, fates, at=NOW)
    assert kinds(events) == ["failed", "expired", "dead"]
    assert "ValueError: nope" in events[0].text
    assert "boom" in events[2].text


def test_jobs_that_came_and_went_between_polls_show_in_totals() -> None:
    events = diff(snapshot(stats()), snapshot(stats(completed=4)), {}, at=NOW)
    assert [(e.kind, e.text) for e in events] == [
        ("submitted", "4 jobs submitted"),
        ("completed", "4 jobs completed"),
    ]


def test_truncated_snapshots_keep_to_counters() -> None:
    prev = Snapshot(stats(total=5000, in_progress=2000), {"a": job("a")}, truncated=True)
    cur = Snapshot(stats(total=4999, in_progress=1999, completed=1), {}, truncated=True)
    assert vanished(prev, cur) == []
    assert kinds(diff(prev, cur, {}, at=NOW)) == ["completed"]
