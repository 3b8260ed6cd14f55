"""osqueue-worker: run job handlers with concurrency, heartbeats, retries and graceful shutdown."""

from __future__ import annotations

from ._context import JobContext
from ._handler import HandlerFunc
from ._hooks import OnClaimed, OnCompleted, OnDeadLetter, OnFailed
from ._retry import RetryPolicy
from ._worker import Worker

__all__ = [
    "HandlerFunc",
    "JobContext",
    "OnClaimed",
    "OnCompleted",
    "OnDeadLetter",
    "OnFailed",
    "RetryPolicy",
    "Worker",
]
