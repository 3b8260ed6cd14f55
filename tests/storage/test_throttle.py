"""ThrottledBackend: a token bucket that delays calls and never rejects them."""

from __future__ import annotations

import asyncio
import time

import pytest
from osqueue_storage import MemoryBackend, ThrottledBackend, ThrottleStats

KEY = "queue.json"


async def test_unlimited_by_default() -> None:
    backend = ThrottledBackend(MemoryBackend())
    started = time.perf_counter()
    version = await backend.create_if_not_exists(KEY, b"0")
    for i in range(50):
        version = await backend.write(KEY, str(i).encode(), version)
        await backend.read(KEY)
    assert time.perf_counter() - started < 0.5
    assert backend.stats() == ThrottleStats(
        total_reads=50, throttled_reads=0, total_writes=51, throttled_writes=0, total_delay_ms=0.0
    )


async def test_writes_are_spaced_to_the_rate() -> None:
    # 1200 a minute = one every 50 ms, after a burst of one second's worth (20).
    backend = ThrottledBackend(MemoryBackend(), max_writes_per_minute=1200, burst=1)
    version = await backend.create_if_not_exists(KEY, b"0")
    started = time.perf_counter()
    for i in range(4):
        version = await backend.write(KEY, str(i).encode(), version)
    elapsed = time.perf_counter() - started
    assert 0.19 <= elapsed < 0.6
    stats = backend.stats()
    assert (stats.total_writes, stats.throttled_writes) == (5, 4)
    assert 190 <= stats.total_delay_ms < 600
    assert (stats.total_reads, stats.throttled_reads) == (0, 0)


async def test_burst_passes_without_delay() -> None:
    backend = ThrottledBackend(MemoryBackend(), max_reads_per_minute=600)  # burst: 10
    started = time.perf_counter()
    for _ in range(10):
        await backend.read(KEY)
    assert time.perf_counter() - started < 0.05
    assert backend.stats().throttled_reads == 0
    await backend.read(KEY)
    assert backend.stats().throttled_reads == 1


async def test_concurrent_callers_all_succeed_in_turn() -> None:
    backend = ThrottledBackend(MemoryBackend(), max_reads_per_minute=6000, burst=1)  # one per 10 ms
    started = time.perf_counter()
    results = await asyncio.gather(*(backend.read(KEY) for _ in range(20)))
    assert results == [None] * 20
    assert time.perf_counter() - started >= 0.18
    stats = backend.stats()
    assert (stats.total_reads, stats.throttled_reads) == (20, 19)


async def test_reads_and_writes_have_separate_budgets() -> None:
    backend = ThrottledBackend(MemoryBackend(), max_reads_per_minute=60, max_writes_per_minute=60)
    await backend.read(KEY)
    started = time.perf_counter()
    await backend.create_if_not_exists(KEY, b"x")  # the write budget is untouched
    assert time.perf_counter() - started < 0.05


def test_negative_rates_are_rejected() -> None:
    with pytest.raises(ValueError):
        ThrottledBackend(MemoryBackend(), max_reads_per_minute=-1)
