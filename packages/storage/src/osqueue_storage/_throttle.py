"""Rate limiting in front of any backend: a token bucket that delays calls, never rejects them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from osqueue_types import ReadResult, StorageBackend, Version

from ._parts import parts_writer_of


@dataclass(frozen=True)
class ThrottleStats:
    total_reads: int
    throttled_reads: int
    total_writes: int
    throttled_writes: int
    total_delay_ms: float


class _TokenBucket:
    """`per_minute` tokens a minute, up to `burst` saved up (default: one second's worth)."""

    def __init__(self, per_minute: int, burst: int | None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst) if burst else max(1.0, self.rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.calls = 0
        self.throttled = 0
        # Held while sleeping, so waiters are served in arrival order.
        self._lock = asyncio.Lock()

    async def take(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        self.calls += 1
        async with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            wait = (1.0 - self.tokens) / self.rate
            self.throttled += 1
            await asyncio.sleep(wait)
            # The token that accrued while sleeping is spent right away.
            self.tokens = 0.0
            self.updated = now + wait
            return time.monotonic() - now


class ThrottledBackend:
    """Caps reads and writes per minute (0 = unlimited), e.g. to bound an S3 bill."""

    def __init__(
        self,
        inner: StorageBackend,
        max_reads_per_minute: int = 0,
        max_writes_per_minute: int = 0,
        *,
        burst: int | None = None,
    ) -> None:
        if max_reads_per_minute < 0 or max_writes_per_minute < 0:
            raise ValueError("rates must be >= 0")
        self.inner = inner
        self._write_parts = parts_writer_of(inner)
        self._reads = _TokenBucket(max_reads_per_minute, burst) if max_reads_per_minute else None
        self._writes = _TokenBucket(max_writes_per_minute, burst) if max_writes_per_minute else None
        self._total_reads = 0
        self._total_writes = 0
        self._delay_s = 0.0

    def __repr__(self) -> str:
        return f"ThrottledBackend({self.inner!r})"

    async def read(self, key: str) -> ReadResult | None:
        self._total_reads += 1
        await self._take(self._reads)
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self.write_parts(key, (data,), expected)

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version:
        self._total_writes += 1
        await self._take(self._writes)
        return await self._write_parts(key, parts, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        self._total_writes += 1
        await self._take(self._writes)
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def stats(self) -> ThrottleStats:
        return ThrottleStats(
            total_reads=self._total_reads,
            throttled_reads=self._reads.throttled if self._reads else 0,
            total_writes=self._total_writes,
            throttled_writes=self._writes.throttled if self._writes else 0,
            total_delay_ms=self._delay_s * 1000.0,
        )

    async def _take(self, bucket: _TokenBucket | None) -> None:
        if bucket is not None:
            self._delay_s += await bucket.take()
