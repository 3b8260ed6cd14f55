"""What a handler knows about the job it runs."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class JobContext:
    """The job being run, passed to handlers that accept a second argument.

    `cancelled` is set when the worker gives up on the job (timeout, the broker reassigned it,
    or shutdown after the grace period). Async handlers are cancelled as well; sync handlers
    run in a thread that cannot be interrupted, so they should check `is_cancelled` in long
    loops. `deadline` is a `time.monotonic()` value, or None without a job timeout.
    """

    job_id: str
    type: str
    attempt: int
    max_attempts: int
    worker_id: str
    deadline: float | None = None
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    # Mirrors `cancelled` for code running in worker threads.
    _thread_flag: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def is_cancelled(self) -> bool:
        return self._thread_flag.is_set()

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    def time_remaining(self) -> float | None:
        """Seconds left before the job timeout, or None when there is none."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)

    def cancel(self) -> None:
        self._thread_flag.set()
        self.cancelled.set()
