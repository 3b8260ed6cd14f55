"""Task helpers shared by the engine and the election."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has finished.

    The task's own CancelledError is swallowed, but a cancellation aimed at the caller is
    re-raised: swallowing it would let a cancelled caller run on and never finish.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
