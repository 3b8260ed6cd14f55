"""Local-directory storage, safe across processes on one machine.

Each key is a plain file under `root_dir` (`queues/x.json` becomes a sub-directory). A write
takes an exclusive `flock` on a per-key lock file, checks the current version, writes a temp
file in the same directory, fsyncs it, renames it over the object with `os.replace` and
fsyncs the directory. A crash therefore leaves the old or the new file, never a torn one.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from osqueue_types import CASConflictError, ReadResult, StorageBackendError, Version

from ._keys import check_key

_P = ParamSpec("_P")
_R = TypeVar("_R")
_TEMP_SUFFIX = ".tmp"
_LOCK_SUFFIX = ".lock"


def _version_of(data: bytes) -> Version:
    return Version(hashlib.blake2b(data, digest_size=16).hexdigest())


class FileBackend:
    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        self.root_dir = Path(root_dir).expanduser()
        # One thread per key waits on the flock; other local callers queue here without a thread.
        self._local_locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"FileBackend({str(self.root_dir)!r})"

    async def read(self, key: str) -> ReadResult | None:
        path = self._path(key)
        return await self._run(key, _read_sync, path)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        path = self._path(key)
        async with self._local_lock(key):
            return await self._run(key, _write_sync, key, path, bytes(data), expected)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        path = self._path(key)
        async with self._local_lock(key):
            return await self._run(key, _write_sync, key, path, bytes(data), None)

    async def aclose(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root_dir.joinpath(*key.split("/"))

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


def _write_sync(key: str, path: Path, data: bytes, expected: Version | None) -> Version:
    _make_dirs(path.parent)
    with _exclusive_lock(path):
        try:
            current: Version | None = _version_of(path.read_bytes())
        except FileNotFoundError:
            current = None
        if expected is None and current is not None:
            raise CASConflictError(f"file storage: key {key} already exists")
        if expected is not None and current != expected:
            raise CASConflictError(f"file storage: version mismatch on key {key}")
        _replace_durably(path, data)
    return _version_of(data)


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
def _exclusive_lock(path: Path) -> Iterator[None]:
    # flock (not lockf) so that two threads of one process also exclude each other.
    fd = os.open(path.with_name(f".{path.name}{_LOCK_SUFFIX}"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace_durably(path: Path, data: bytes) -> None:
    # One fixed temp name per key is enough: only the lock holder writes it, and a file left
    # by a writer that died is simply truncated and reused.
    temp = path.with_name(f".{path.name}{_TEMP_SUFFIX}")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some filesystems cannot fsync a directory
            raise
    finally:
        os.close(fd)
