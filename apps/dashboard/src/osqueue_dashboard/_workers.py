"""Workers as the dashboard sees them: the `workerId`s of in-progress jobs, remembered a while.

The broker keeps no worker registry (queue.json has none), so a worker is visible while it holds
a job and for `remember_ms` after its last heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from osqueue_client import JobInfo

DEFAULT_REMEMBER_MS = 5 * 60_000


@dataclass(slots=True)
class WorkerView:
    worker_id: str
    last_seen: int
    jobs: list[JobInfo] = field(default_factory=list)

    def age_ms(self, now_ms: int) -> int:
        return max(0, now_ms - self.last_seen)


class WorkerRegistry:
    def __init__(self, remember_ms: int = DEFAULT_REMEMBER_MS) -> None:
        self.remember_ms = remember_ms
        self._workers: dict[str, WorkerView] = {}

    def observe(self, in_progress: Iterable[JobInfo], now_ms: int) -> None:
        for worker in self._workers.values():
            worker.jobs = []
        for job in in_progress:
            if not job.worker_id:
                continue
            seen = job.heartbeat or now_ms
            worker = self._workers.setdefault(job.worker_id, WorkerView(job.worker_id, seen))
            worker.last_seen = max(worker.last_seen, seen)
            worker.jobs.append(job)
        horizon = now_ms - self.remember_ms
        for worker_id in [
            w.worker_id for w in self._workers.values() if w.last_seen < horizon and not w.jobs
        ]:
            del self._workers[worker_id]

    def workers(self) -> list[WorkerView]:
        return sorted(self._workers.values(), key=lambda w: (not w.jobs, w.worker_id))
