"""cancel_and_wait must never swallow a cancellation aimed at its caller."""

from __future__ import annotations

import asyncio

import pytest
from osqueue_core._tasks import cancel_and_wait


async def slow_to_cancel(release: asyncio.Event) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await release.wait()  # cleanup that takes a while, like an in-flight write
        raise


async def test_the_cancelled_task_is_awaited_and_its_cancellation_swallowed() -> None:
    release = asyncio.Event()
    release.set()
    task = asyncio.create_task(slow_to_cancel(release))
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_a_cancellation_of_the_caller_while_waiting_propagates() -> None:
    release = asyncio.Event()
    inner = asyncio.create_task(slow_to_cancel(release))
    await asyncio.sleep(0)
    after_wait: list[str] = []

    async def caller() -> None:
        await cancel_and_wait(inner)
        after_wait.append("ran on")  # must not happen: the caller itself was cancelled

    outer = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    outer.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert after_wait == []
    assert inner.cancelled()


async def test_a_caller_cleaning_up_after_its_own_cancellation_still_waits() -> None:
    """The pattern of a shutdown in `finally` after Ctrl+C: the wait must not be cut short."""
    release = asyncio.Event()
    inner = asyncio.create_task(slow_to_cancel(release))
    await asyncio.sleep(0)
    waited: list[bool] = []

    async def caller() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await cancel_and_wait(inner)
            waited.append(inner.done())

    outer = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    outer.cancel()
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert waited == [True]
