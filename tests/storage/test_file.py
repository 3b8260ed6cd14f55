"""FileBackend: what a crash, a killed writer or a leftover file does to an object (nothing)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from osqueue_storage import FileBackend
from osqueue_types import StorageBackend, StorageBackendError

KEY = "queue.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_is_a_storage_backend(tmp_path: Path) -> None:
    assert isinstance(FileBackend(tmp_path), StorageBackend)


async def test_object_is_a_plain_file_and_subdirectories_are_created(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "state")
    await backend.create_if_not_exists("queues/emails.json", b'{"jobs":[]}')
    assert (tmp_path / "state" / "queues" / "emails.json").read_bytes() == b'{"jobs":[]}'


async def test_version_follows_content_across_instances(tmp_path: Path) -> None:
    v1 = await FileBackend(tmp_path).create_if_not_exists(KEY, b"one")
    other = await FileBackend(tmp_path).read(KEY)
    assert other is not None and other.version == v1


async def test_leftover_temp_and_lock_files_are_harmless(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    v1 = await backend.create_if_not_exists(KEY, b"good")
    # What writers killed between writing their temp file and renaming it leave behind: an old
    # one (from before temp files were named per writer), a stale one and one still fresh.
    old = tmp_path / f".{KEY}.tmp"
    stale = tmp_path / f".{KEY}.4242-0badcafe.tmp"
    fresh = tmp_path / f".{KEY}.4243-00c0ffee.tmp"
    for leftover in (old, stale, fresh):
        leftover.write_bytes(b"half a wri")
    for leftover in (old, stale):
        os.utime(leftover, (time.time() - 120, time.time() - 120))
    current = await backend.read(KEY)
    assert current is not None
    assert (current.data, current.version) == (b"good", v1)
    # A new backend (a restarted process) looks for them on its first write.
    await FileBackend(tmp_path).write(KEY, b"better", v1)
    assert (tmp_path / KEY).read_bytes() == b"better"
    # Only the one a live writer could still rename is left.
    assert sorted(os.listdir(tmp_path)) == sorted([f".{KEY}.lock", KEY, fresh.name])


async def test_write_gives_up_on_a_lock_that_is_not_released(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path, lock_timeout=0.3)
    v1 = await backend.create_if_not_exists(KEY, b"one")
    fd = os.open(tmp_path / f".{KEY}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer frozen inside its critical section
        started = time.monotonic()
        with pytest.raises(StorageBackendError, match=r"key queue.json is still locked after 0.3s"):
            await backend.write(KEY, b"two", v1)
        assert 0.3 <= time.monotonic() - started < 1.5
    finally:
        os.close(fd)
    assert sorted(os.listdir(tmp_path)) == [f".{KEY}.lock", KEY]  # its temp file is gone
    assert await backend.write(KEY, b"two", v1) != v1  # and the lock works once released


async def test_reads_do_not_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    v1 = await backend.create_if_not_exists(KEY, b"one")
    fd = os.open(tmp_path / f".{KEY}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process in the middle of a write
        current = await asyncio.wait_for(backend.read(KEY), timeout=2)
        assert current is not None and current.data == b"one"
        write = asyncio.create_task(backend.write(KEY, b"two", v1))
        await asyncio.sleep(0.2)
        assert not write.done()  # the write waits for the lock
    finally:
        os.close(fd)
    await asyncio.wait_for(write, timeout=5)
    assert (tmp_path / KEY).read_bytes() == b"two"


_WRITER_PROCESS = """
import asyncio, sys
from osqueue_storage import FileBackend

async def main() -> None:
    backend = FileBackend(sys.argv[1])
    current = await backend.read("queue.json")
    print("started", flush=True)
    fill = 1
    while True:  # whole-object rewrites of 8 MB, each filled with one byte value
        version = await backend.write("queue.json", bytes([fill]) * (8 << 20), current.version)
        current = await backend.read("queue.json")
        assert current.version == version
        fill = fill % 250 + 1

asyncio.run(main())
"""


async def test_writer_killed_mid_write_leaves_a_whole_object(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path)
    await backend.create_if_not_exists(KEY, bytes([0]) * (8 << 20))
    for delay in (0.05, 0.13, 0.29, 0.41):
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WRITER_PROCESS,
            str(tmp_path),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert writer.stdout is not None
        assert await writer.stdout.readline() == b"started\n"
        await asyncio.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        await writer.wait()

        current = await backend.read(KEY)
        assert current is not None
        assert len(current.data) == 8 << 20
        assert current.data == current.data[:1] * len(current.data), "torn object"
        # The dead writer's lock is gone and the version matches the content: CAS goes on.
        version = await backend.write(KEY, current.data, current.version)
        assert version == current.version
