"""One storage contract, checked unchanged against every backend (S3 and GCS on real emulators)."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from osqueue_storage import FileBackend, GCSBackend, MemoryBackend, S3Backend
from osqueue_types import CASConflictError, PartsWriter, StorageBackend, StorageBackendError, Version

KEY = "queue.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Storage:
    """Opens backends that share one underlying store (a directory, a bucket, a dict)."""

    def __init__(self, open_backend: Callable[[str], StorageBackend]) -> None:
        self._open_backend = open_backend
        self._opened: list[StorageBackend] = []

    def open(self, prefix: str = "") -> StorageBackend:
        backend = self._open_backend(prefix)
        self._opened.append(backend)
        return backend

    async def aclose(self) -> None:
        for backend in self._opened:
            await backend.aclose()


@pytest.fixture(params=["memory", "file", "s3", "gcs"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    kind: str = request.param
    if kind == "memory":
        memories: dict[str, MemoryBackend] = {}
        result = Storage(lambda prefix: memories.setdefault(prefix, MemoryBackend()))
    elif kind == "file":
        result = Storage(lambda prefix: FileBackend(tmp_path / prefix))
    elif kind == "s3":
        endpoint = request.getfixturevalue("moto_server")
        bucket = request.getfixturevalue("s3_bucket")
        result = Storage(lambda prefix: S3Backend(bucket, prefix, endpoint_url=endpoint))
    else:
        bucket = request.getfixturevalue("gcs_bucket")
        result = Storage(lambda prefix: GCSBackend(bucket, prefix))
    yield result
    await result.aclose()


@pytest.fixture
def backend(storage: Storage) -> StorageBackend:
    return storage.open("app")


async def test_read_missing_key_is_none(backend: StorageBackend) -> None:
    assert await backend.read(KEY) is None


async def test_create_once_then_conflict(backend: StorageBackend) -> None:
    version = await backend.create_if_not_exists(KEY, b'{"jobs":[]}')
    with pytest.raises(CASConflictError):
        await backend.create_if_not_exists(KEY, b"second")
    current = await backend.read(KEY)
    assert current is not None
    assert current.data == b'{"jobs":[]}'
    assert current.version == version


async def test_write_with_current_version_returns_new_version(backend: StorageBackend) -> None:
    v1 = await backend.create_if_not_exists(KEY, b"one")
    v2 = await backend.write(KEY, b"two", v1)
    assert v2 != v1
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"two", v2)
    v3 = await backend.write(KEY, b"three", v2)
    assert v3 not in (v1, v2)


async def test_stale_version_conflicts_and_leaves_object_unchanged(backend: StorageBackend) -> None:
    v1 = await backend.create_if_not_exists(KEY, b"one")
    v2 = await backend.write(KEY, b"two", v1)
    with pytest.raises(CASConflictError):
        await backend.write(KEY, b"lost", v1)
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"two", v2)


async def test_same_bytes_from_a_stale_version_conflict(storage: Storage) -> None:
    """Two writers that read the same version and store equal bytes: one wins, one conflicts."""
    first, second = storage.open("app"), storage.open("app")
    v1 = await first.create_if_not_exists(KEY, b"one")
    v2 = await first.write(KEY, b"two", v1)
    with pytest.raises(CASConflictError):
        await second.write(KEY, b"two", v1)
    with pytest.raises(CASConflictError):
        await second.create_if_not_exists(KEY, b"two")
    current = await first.read(KEY)
    assert current is not None and (current.data, current.version) == (b"two", v2)


async def test_write_to_missing_key_conflicts(backend: StorageBackend) -> None:
    other = await backend.create_if_not_exists("other.json", b"x")
    with pytest.raises(CASConflictError):
        await backend.write(KEY, b"data", other)
    assert await backend.read(KEY) is None


async def test_keys_with_slashes(backend: StorageBackend) -> None:
    key = "queues/emails.json"
    version = await backend.create_if_not_exists(key, b"{}")
    assert await backend.read("queues/other.json") is None
    current = await backend.read(key)
    assert current is not None
    assert (current.data, current.version) == (b"{}", version)


async def test_empty_object_round_trips(backend: StorageBackend) -> None:
    version = await backend.create_if_not_exists(KEY, b"")
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"", version)


async def test_ten_megabytes_round_trip_byte_exact(backend: StorageBackend) -> None:
    data = os.urandom(10 * 1024 * 1024)
    v1 = await backend.create_if_not_exists(KEY, data)
    current = await backend.read(KEY)
    assert current is not None
    assert current.data == data
    bigger = data + os.urandom(1024)
    await backend.write(KEY, bigger, v1)
    current = await backend.read(KEY)
    assert current is not None
    assert current.data == bigger


@pytest.mark.parametrize("kind", ["memory", "file"])
async def test_parts_write_stores_their_concatenation(kind: str, tmp_path: Path) -> None:
    """The backends with `write_parts` honour the same CAS contract as `write`."""
    backend = MemoryBackend() if kind == "memory" else FileBackend(tmp_path)
    assert isinstance(backend, PartsWriter)
    v1 = await backend.create_if_not_exists(KEY, b"one")
    parts = [b'{"jobs":[', os.urandom(300_000), b",", b"", os.urandom(5), b"]}"]
    v2 = await backend.write_parts(KEY, parts, v1)
    assert v2 != v1
    with pytest.raises(CASConflictError):
        await backend.write_parts(KEY, [b"lost"], v1)
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"".join(parts), v2)
    v3 = await backend.write(KEY, b"three", v2)
    with pytest.raises(CASConflictError):
        await backend.write_parts(KEY, [b"stale", b"again"], v2)
    current = await backend.read(KEY)
    assert current is not None and (current.data, current.version) == (b"three", v3)


async def test_prefixes_do_not_see_each_other(storage: Storage) -> None:
    left, right = storage.open("left"), storage.open("right")
    await left.create_if_not_exists(KEY, b"left")
    assert await right.read(KEY) is None
    await right.create_if_not_exists(KEY, b"right")
    left_now, right_now = await left.read(KEY), await right.read(KEY)
    assert left_now is not None and right_now is not None
    assert (left_now.data, right_now.data) == (b"left", b"right")


async def increment(backend: StorageBackend, times: int) -> int:
    """Read-increment-CAS `times` times, retrying on conflict; returns the conflicts seen."""
    conflicts = 0
    for _ in range(times):
        attempt = 0
        while True:
            current = await backend.read(KEY)
            assert current is not None
            await asyncio.sleep(0)  # let the other writers in between read and write
            try:
                await backend.write(KEY, str(int(current.data) + 1).encode(), current.version)
                break
            except CASConflictError:
                conflicts += 1
                attempt += 1
                # Exponential back-off with full jitter, as real writers do.
                await asyncio.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
    return conflicts


async def test_concurrent_writers_never_lose_an_update(storage: Storage) -> None:
    writers = [storage.open("counter") for _ in range(8)]
    await writers[0].create_if_not_exists(KEY, b"0")
    conflicts = await asyncio.gather(*(increment(writer, 50) for writer in writers))
    final = await writers[0].read(KEY)
    assert final is not None
    assert int(final.data) == 400
    assert sum(conflicts) > 0  # the writers really did race


_COUNTER_PROCESS = """
import asyncio, sys
from osqueue_storage import FileBackend
from tests.storage.test_conformance import increment

async def main() -> None:
    writers = [FileBackend(sys.argv[1]) for _ in range(2)]
    await asyncio.gather(*(increment(writer, 50) for writer in writers))

asyncio.run(main())
"""


async def test_file_backend_counter_across_processes(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    await backend.create_if_not_exists(KEY, b"0")
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _COUNTER_PROCESS, str(tmp_path), cwd=REPO_ROOT
        )
        for _ in range(4)
    ]
    codes = await asyncio.gather(*(process.wait() for process in processes))
    assert codes == [0, 0, 0, 0]
    final = await backend.read(KEY)
    assert final is not None
    assert int(final.data) == 400


@pytest.mark.parametrize("kind", ["s3", "gcs"])
async def test_missing_bucket_names_the_bucket(request: pytest.FixtureRequest, kind: str) -> None:
    backend: StorageBackend
    if kind == "s3":
        backend = S3Backend("no-such-bucket", "pfx", endpoint_url=request.getfixturevalue("moto_server"))
    else:
        request.getfixturevalue("fake_gcs_server")
        backend = GCSBackend("no-such-bucket", "pfx")
    try:
        for operation in (
            lambda: backend.read(KEY),
            lambda: backend.create_if_not_exists(KEY, b"x"),
            lambda: backend.write(KEY, b"x", Version("1")),
        ):
            with pytest.raises(StorageBackendError) as caught:
                await operation()
            message = str(caught.value)
            assert message.startswith(f"{kind.upper()} "), message  # names the backend: S3 / GCS
            assert "bucket 'no-such-bucket' does not exist" in message
            assert "pfx/queue.json" in message
    finally:
        await backend.aclose()


async def test_file_backend_unusable_directory_is_a_storage_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_bytes(b"")
    backend = FileBackend(not_a_dir)
    with pytest.raises(StorageBackendError, match=r"queue\.json"):
        await backend.create_if_not_exists(KEY, b"x")
    with pytest.raises(StorageBackendError, match=r"queue\.json"):
        await backend.read(KEY)
