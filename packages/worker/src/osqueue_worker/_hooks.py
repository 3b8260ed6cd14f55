"""Lifecycle hooks: optional callbacks (sync or async) the worker calls around each job."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._context import JobContext

logger = logging.getLogger("osqueue.worker")

OnClaimed = Callable[[JobContext], Any]
OnCompleted = Callable[[JobContext, Any], Any]
"""Called with the job's context and the handler's return value."""
OnFailed = Callable[[JobContext, BaseException], Any]
"""Called when a failed job was given back for another attempt (not for a job released at shutdown)."""
OnDeadLetter = Callable[[JobContext, BaseException], Any]
"""Called when the broker moved the job to the dead letters (attempts exhausted or bad payload)."""


@dataclass(frozen=True, slots=True)
class Hooks:
    on_claimed: OnClaimed | None = None
    on_completed: OnCompleted | None = None
    on_failed: OnFailed | None = None
    on_dead_letter: OnDeadLetter | None = None


async def call_hook(hook: Callable[..., Any] | None, *args: Any) -> None:
    """Run a hook; a hook that raises is logged and never breaks the job's processing."""
    if hook is None:
        return
    try:
        result = hook(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("osqueue worker hook %s raised", getattr(hook, "__qualname__", hook))
