"""Wrappers for measuring and simulating: call counting and added latency."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from osqueue_types import CASConflictError, ReadResult, StorageBackend, Version

from ._parts import parts_writer_of


class CountingBackend:
    """Counts calls to any backend: `reads`, `writes` (including creates), `conflicts`, `errors`."""

    def __init__(self, inner: StorageBackend) -> None:
        self.inner = inner
        self._write_parts = parts_writer_of(inner)
        self.reads = 0
        self.writes = 0
        self.conflicts = 0
        self.errors = 0

    def __repr__(self) -> str:
        return f"CountingBackend({self.inner!r})"

    def reset(self) -> None:
        self.reads = self.writes = self.conflicts = self.errors = 0

    async def read(self, key: str) -> ReadResult | None:
        self.reads += 1
        try:
            return await self.inner.read(key)
        except Exception:
            self.errors += 1
            raise

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self.write_parts(key, (data,), expected)

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version:
        self.writes += 1
        try:
            return await self._write_parts(key, parts, expected)
        except CASConflictError:
            self.conflicts += 1
            raise
        except Exception:
            self.errors += 1
            raise

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        self.writes += 1
        try:
            return await self.inner.create_if_not_exists(key, data)
        except CASConflictError:
            self.conflicts += 1
            raise
        except Exception:
            self.errors += 1
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


class LatencyBackend:
    """Adds `latency_ms` (plus up to `jitter_ms` at random) before every call, like a network hop."""

    def __init__(self, inner: StorageBackend, latency_ms: float, *, jitter_ms: float = 0.0) -> None:
        if latency_ms < 0 or jitter_ms < 0:
            raise ValueError("latency_ms and jitter_ms must be >= 0")
        self.inner = inner
        self._write_parts = parts_writer_of(inner)
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms

    def __repr__(self) -> str:
        return f"LatencyBackend({self.inner!r}, latency_ms={self.latency_ms})"

    async def read(self, key: str) -> ReadResult | None:
        await self._delay()
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self.write_parts(key, (data,), expected)

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version:
        await self._delay()
        return await self._write_parts(key, parts, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        await self._delay()
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def _delay(self) -> None:
        delay_ms = self.latency_ms + (random.uniform(0.0, self.jitter_ms) if self.jitter_ms else 0.0)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
