"""Telling the broker how a job ended, through failovers.

A finished job's outcome must not be dropped: while the broker is unreachable, not the
leader, or shutting down, the report is retried with backoff until it lands or the broker
answers that this worker no longer holds the job.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from osqueue_types import AuthError, ConfigError, InvalidRequestError, JobNotFoundError, TransportConfigError

T = TypeVar("T")
logger = logging.getLogger("osqueue.worker")

# Errors that retrying cannot fix: a wrong token, a bad request, a misconfigured client.
FATAL_ERRORS: tuple[type[Exception], ...] = (
    AuthError,
    ConfigError,
    TransportConfigError,
    InvalidRequestError,
)


class RetryBackoff:
    """Capped exponential delays with jitter for calls retried through a failover."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self._base = base
        self._cap = cap
        self._failures = 0

    def next_delay(self) -> float:
        ceiling = min(self._cap, self._base * 2**self._failures)
        self._failures = min(self._failures + 1, 32)
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._failures = 0


class JobLost(Exception):
    """The broker no longer has this job in progress for this worker (it expired and moved on)."""


async def report(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run `call` until it succeeds; JobNotFoundError becomes JobLost, fatal errors propagate."""
    backoff = RetryBackoff()
    while True:
        try:
            return await call()
        except JobNotFoundError as exc:
            raise JobLost(str(exc)) from exc
        except FATAL_ERRORS:
            raise
        except Exception as exc:
            delay = backoff.next_delay()
            logger.warning("osqueue worker: %s failed (%s); retrying in %.2fs", what, _describe(exc), delay)
            await asyncio.sleep(delay)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
