"""Task helpers shared by the engine and the election."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has finished.

    `asyncio.wait` never raises the task's CancelledError, so only a cancellation aimed at
    the caller itself propagates: catching CancelledError around `await task` could not tell
    the two apart and would let a cancelled caller run on. Works in a caller that is already
    cleaning up after its own cancellation.
    """
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.result()  # what the task raised while it was being cancelled, if anything
