"""Local-directory storage, safe across processes on one machine.

Each key is a plain file under `root_dir` (`queues/x.json` becomes a sub-directory). A write
first writes and fsyncs a temp file of its own in the same directory, then takes an exclusive
`flock` on a per-key lock file, checks the current version, renames the temp file over the
object with `os.replace` and fsyncs the directory. A crash therefore leaves the old or the new
file, never a torn one, and a write acknowledged is on disk.

The lock covers only the version check and the rename, and is waited for with a deadline
(`lock_timeout`): a writer frozen while holding it (SIGSTOP, a debugger, a paused VM) makes
other writers fail with StorageBackendError, which they retry, instead of waiting for as long
as it is frozen. Temp files left by writers that died are removed once they are a minute old.

The version is a hash of the file's content, so it can never disagree with the content,
even after a crash. As with S3 ETags, writing identical bytes gives an identical version.
Reads take no lock: `os.replace` swaps whole files, so an open file is always complete.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import ParamSpec, TypeVar

from osqueue_types import CASConflictError, ReadResult, StorageBackendError, Version

from ._keys import check_key

_P = ParamSpec("_P")
_R = TypeVar("_R")
_TEMP_SUFFIX = ".tmp"
_LOCK_SUFFIX = ".lock"
# A writer's temp file lives for one write; one this old belongs to a writer that died.
_STALE_TEMP_S = 60.0


def _version_of(*parts: bytes) -> Version:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part)
    return Version(digest.hexdigest())


class FileBackend:
    def __init__(self, root_dir: str | os.PathLike[str], *, lock_timeout: float = 2.0) -> None:
        self.root_dir = Path(root_dir).expanduser()
        self.lock_timeout = lock_timeout
        # One thread per key waits on the flock; other local callers queue here without a thread.
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._last_sweep: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"FileBackend({str(self.root_dir)!r})"

    async def read(self, key: str) -> ReadResult | None:
        path = self._path(key)
        return await self._run(key, _read_sync, path)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self._write(key, (data,), expected)

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version:
        return await self._write(key, parts, expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        return await self._write(key, (data,), None)

    async def aclose(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root_dir.joinpath(*key.split("/"))

    async def _write(self, key: str, parts: Sequence[bytes], expected: Version | None) -> Version:
        path = self._path(key)
        # Look for dead writers' temp files on the first write of a key, then once a minute.
        now = time.monotonic()
        last_sweep = self._last_sweep.get(key)
        sweep = last_sweep is None or now - last_sweep >= _STALE_TEMP_S
        if sweep:
            self._last_sweep[key] = now
        async with self._local_lock(key):
            parts = [bytes(part) for part in parts]
            return await self._run(key, _write_sync, key, path, parts, expected, self.lock_timeout, sweep)

    def _local_lock(self, key: str) -> asyncio.Lock:
        lock = self._local_locks.get(key)
        if lock is None:
            lock = self._local_locks[key] = asyncio.Lock()
        return lock

    async def _run(self, key: str, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except OSError as exc:
            raise StorageBackendError(
                f"file storage: {exc.strerror or exc} (key {key}, directory {self.root_dir})"
            ) from exc


def _read_sync(path: Path) -> ReadResult | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return ReadResult(data, _version_of(data))


def _write_sync(
    key: str, path: Path, parts: list[bytes], expected: Version | None, lock_timeout: float, sweep: bool
) -> Version:
    _make_dirs(path.parent)
    if sweep:
        _remove_stale_temps(path)
    # The slow part (writing and fsyncing the data) happens before the lock, so the lock is
    # held only for a read, a rename and a directory fsync.
    temp = _write_temp(path, parts)
    try:
        with _exclusive_lock(path, key, lock_timeout):
            try:
                current: Version | None = _version_of(path.read_bytes())
            except FileNotFoundError:
                current = None
            if expected is None and current is not None:
                raise CASConflictError(f"file storage: key {key} already exists")
            if expected is not None and current != expected:
                raise CASConflictError(f"file storage: version mismatch on key {key}")
            os.replace(temp, path)
            # Under the lock, so no writer builds on a version that a crash could still undo.
            _fsync_dir(path.parent)
    finally:
        temp.unlink(missing_ok=True)  # gone after the rename; removes it after anything else
    return _version_of(*parts)


def _write_temp(path: Path, parts: list[bytes]) -> Path:
    """`parts`, one after the other, in a new fsynced file next to `path`, named for this writer alone."""
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{_TEMP_SUFFIX}")
    try:
        with open(temp, "xb") as f:
            f.writelines(parts)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _remove_stale_temps(path: Path) -> None:
    """Removes temp files of `path` older than a minute: their writers died (or froze, and
    their rename will now fail, so they report an error rather than write)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}(\.\d+-[0-9a-f]+)?{re.escape(_TEMP_SUFFIX)}")
    cutoff = time.time() - _STALE_TEMP_S
    with os.scandir(path.parent) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with suppress(FileNotFoundError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)


def _make_dirs(directory: Path) -> None:
    """Create missing directories, fsyncing each parent so a new one survives a crash."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent)
    try:
        directory.mkdir()
    except FileExistsError:
        if not directory.is_dir():
            raise
        return
    _fsync_dir(directory.parent)


@contextmanager
def _exclusive_lock(path: Path, key: str, timeout: float) -> Iterator[None]:
    # flock (not lockf) so that two threads of one process also exclude each other.
    lock_path = path.with_name(f".{path.name}{_LOCK_SUFFIX}")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, timeout, f"file storage: key {key} is still locked after {timeout:g}s ({lock_path})")
        yield
    finally:
        os.close(fd)


def _acquire(fd: int, timeout: float, message: str) -> None:
    """flock(LOCK_EX), polled, so a holder that never lets go (frozen, not dead: the kernel
    frees a dead process's locks) costs a StorageBackendError rather than a stuck writer."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise StorageBackendError(message + " (is a process holding it stopped?)")
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.02)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some filesystems cannot fsync a directory
            raise
    finally:
        os.close(fd)
