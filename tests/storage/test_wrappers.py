"""CountingBackend and LatencyBackend wrap any backend."""

from __future__ import annotations

import time
from collections.abc import Callable

import osqueue_storage
import pytest
from osqueue_storage import CountingBackend, LatencyBackend, MemoryBackend, ThrottledBackend
from osqueue_types import (
    CASConflictError,
    PartsWriter,
    ReadResult,
    StorageBackend,
    StorageBackendError,
    Version,
)

KEY = "queue.json"


def test_public_names() -> None:
    public = {name for name in dir(osqueue_storage) if not name.startswith("_")} - {"annotations"}
    assert set(osqueue_storage.__all__) == public


def test_wrappers_are_storage_backends() -> None:
    assert isinstance(CountingBackend(MemoryBackend()), StorageBackend)
    assert isinstance(LatencyBackend(MemoryBackend(), 1), StorageBackend)


async def test_counting_backend_counts_calls_conflicts_and_errors() -> None:
    inner = MemoryBackend()
    counting = CountingBackend(inner)
    v1 = await counting.create_if_not_exists(KEY, b"0")
    await counting.read(KEY)
    await counting.write(KEY, b"1", v1)
    with pytest.raises(CASConflictError):
        await counting.write(KEY, b"2", v1)
    inner.fail_next(op="read")
    with pytest.raises(StorageBackendError):
        await counting.read(KEY)
    assert (counting.reads, counting.writes, counting.conflicts, counting.errors) == (2, 3, 1, 1)
    counting.reset()
    assert (counting.reads, counting.writes, counting.conflicts, counting.errors) == (0, 0, 0, 0)


async def test_latency_backend_delays_each_call() -> None:
    backend = LatencyBackend(MemoryBackend(), latency_ms=15, jitter_ms=5)
    started = time.perf_counter()
    version = await backend.create_if_not_exists(KEY, b"0")
    await backend.write(KEY, b"1", version)
    current = await backend.read(KEY)
    elapsed = time.perf_counter() - started
    assert current is not None and current.data == b"1"
    assert 0.045 <= elapsed < 0.5


def test_latency_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        LatencyBackend(MemoryBackend(), latency_ms=-1)


class JoinedOnly:
    """A backend without `write_parts`: wrappers must hand it one joined buffer."""

    def __init__(self) -> None:
        self.inner = MemoryBackend()
        self.written: list[bytes] = []

    async def read(self, key: str) -> ReadResult | None:
        return await self.inner.read(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        self.written.append(data)
        return await self.inner.write(key, data, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        return await self.inner.create_if_not_exists(key, data)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("wrap", [CountingBackend, lambda inner: LatencyBackend(inner, 0), ThrottledBackend])
async def test_wrappers_pass_parts_through_or_join_them(
    wrap: Callable[[StorageBackend], StorageBackend],
) -> None:
    memory = MemoryBackend()
    wrapper = wrap(memory)
    assert isinstance(wrapper, PartsWriter)
    v1 = await wrapper.create_if_not_exists(KEY, b"0")
    await wrapper.write_parts(KEY, [b"a", b"b", b"c"], v1)
    assert memory.writes == 2
    current = await wrapper.read(KEY)
    assert current is not None and current.data == b"abc"

    plain = JoinedOnly()
    wrapper = wrap(plain)
    assert isinstance(wrapper, PartsWriter)
    v1 = await wrapper.create_if_not_exists(KEY, b"0")
    await wrapper.write_parts(KEY, [b"x", b"y"], v1)
    assert plain.written == [b"xy"]
    with pytest.raises(CASConflictError):
        await wrapper.write_parts(KEY, [b"z"], v1)
