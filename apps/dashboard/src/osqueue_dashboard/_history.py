"""A rolling window of queue samples for the depth and throughput chart."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from osqueue_client import QueueStats

DEFAULT_WINDOW_MS = 5 * 60_000


@dataclass(frozen=True, slots=True)
class Sample:
    at: int
    depth: int
    in_progress: int
    submitted_per_s: float
    completed_per_s: float

    def as_json(self) -> dict[str, float]:
        return {
            "at": self.at,
            "depth": self.depth,
            "inProgress": self.in_progress,
            "submittedPerS": round(self.submitted_per_s, 3),
            "completedPerS": round(self.completed_per_s, 3),
        }


def make_sample(at: int, stats: QueueStats, *, submitted: int, completed: int, elapsed_ms: int) -> Sample:
    seconds = max(elapsed_ms, 1) / 1000
    return Sample(
        at=at,
        depth=stats.total,
        in_progress=stats.in_progress,
        submitted_per_s=submitted / seconds,
        completed_per_s=completed / seconds,
    )


class History:
    def __init__(self, window_ms: int = DEFAULT_WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._samples: deque[Sample] = deque()

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        horizon = sample.at - self.window_ms
        while self._samples and self._samples[0].at < horizon:
            self._samples.popleft()

    def samples(self) -> list[Sample]:
        return list(self._samples)
