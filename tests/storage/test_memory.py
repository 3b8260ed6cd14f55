"""MemoryBackend: counters, foreign writes, latency and fault injection for upper-layer tests."""

from __future__ import annotations

import time

import pytest
from osqueue_storage import MemoryBackend
from osqueue_types import CASConflictError, StorageBackend, StorageBackendError

KEY = "queue.json"


def test_is_a_storage_backend() -> None:
    assert isinstance(MemoryBackend(), StorageBackend)


async def test_counts_reads_writes_and_conflicts() -> None:
    backend = MemoryBackend()
    v1 = await backend.create_if_not_exists(KEY, b"1")
    await backend.read(KEY)
    await backend.write(KEY, b"2", v1)
    with pytest.raises(CASConflictError):
        await backend.write(KEY, b"3", v1)
    assert (backend.reads, backend.writes, backend.conflicts) == (1, 3, 1)


async def test_put_acts_as_another_writer() -> None:
    backend = MemoryBackend()
    mine = await backend.create_if_not_exists(KEY, b"mine")
    theirs = backend.put(KEY, b"theirs")
    with pytest.raises(CASConflictError):
        await backend.write(KEY, b"mine again", mine)
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"theirs", theirs)
    backend.delete(KEY)
    assert await backend.read(KEY) is None


async def test_versions_are_never_reused_even_for_equal_content() -> None:
    backend = MemoryBackend()
    v1 = await backend.create_if_not_exists(KEY, b"same")
    v2 = await backend.write(KEY, b"same", v1)
    assert v1 != v2


async def test_error_fault_fails_without_applying() -> None:
    backend = MemoryBackend()
    v1 = await backend.create_if_not_exists(KEY, b"before")
    backend.fail_next(2, kind="error")
    for _ in range(2):
        with pytest.raises(StorageBackendError, match="injected"):
            await backend.write(KEY, b"after", v1)
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"before", v1)
    await backend.write(KEY, b"after", v1)  # the faults are used up


async def test_ambiguous_fault_applies_the_write_then_fails() -> None:
    backend = MemoryBackend()
    v1 = await backend.create_if_not_exists(KEY, b"before")
    backend.fail_next(kind="ambiguous")
    with pytest.raises(StorageBackendError):
        await backend.write(KEY, b"after", v1)
    current = await backend.read(KEY)
    assert current is not None
    assert current.data == b"after"
    assert current.version != v1


async def test_ambiguous_fault_on_create() -> None:
    backend = MemoryBackend()
    backend.fail_next(kind="ambiguous")
    with pytest.raises(StorageBackendError):
        await backend.create_if_not_exists(KEY, b"x")
    with pytest.raises(CASConflictError):
        await backend.create_if_not_exists(KEY, b"x")


async def test_fault_op_selects_reads_writes_or_any() -> None:
    backend = MemoryBackend()
    backend.fail_next(op="read")
    v1 = await backend.create_if_not_exists(KEY, b"x")  # a write: not affected
    with pytest.raises(StorageBackendError):
        await backend.read(KEY)
    assert await backend.read(KEY) is not None

    backend.fail_next(2, op="any")
    with pytest.raises(StorageBackendError):
        await backend.read(KEY)
    with pytest.raises(StorageBackendError):
        await backend.write(KEY, b"y", v1)
    await backend.write(KEY, b"y", v1)


async def test_faults_queue_in_order() -> None:
    backend = MemoryBackend()
    v1 = await backend.create_if_not_exists(KEY, b"0")
    backend.fail_next(kind="error")
    backend.fail_next(kind="ambiguous")
    with pytest.raises(StorageBackendError):
        await backend.write(KEY, b"1", v1)
    unchanged = await backend.read(KEY)
    assert unchanged is not None and unchanged.data == b"0"
    with pytest.raises(StorageBackendError):
        await backend.write(KEY, b"1", v1)
    current = await backend.read(KEY)
    assert current is not None and current.data == b"1"


def test_fail_next_rejects_non_positive_count() -> None:
    with pytest.raises(ValueError):
        MemoryBackend().fail_next(0)


async def test_latency_delays_every_call() -> None:
    backend = MemoryBackend(latency_ms=20)
    started = time.perf_counter()
    await backend.create_if_not_exists(KEY, b"x")
    await backend.read(KEY)
    assert time.perf_counter() - started >= 0.04


async def test_rejects_keys_that_other_backends_cannot_store() -> None:
    backend = MemoryBackend()
    for key in ("", "/abs", "a//b", "../up", ".hidden", "dir/.x"):
        with pytest.raises(ValueError):
            await backend.read(key)
