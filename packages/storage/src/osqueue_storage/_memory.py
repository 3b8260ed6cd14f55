"""In-process storage with a version counter, optional latency and fault injection for tests."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from osqueue_types import CASConflictError, ReadResult, StorageBackendError, Version

from ._keys import check_key

FaultKind = Literal["error", "ambiguous"]
FaultOp = Literal["write", "read", "any"]


@dataclass
class _Fault:
    remaining: int
    kind: FaultKind
    op: FaultOp


class MemoryBackend:
    """A dict of objects. Versions come from one counter, so a version is never reused.

    `reads` and `writes` count calls (`writes` includes `create_if_not_exists` and
    `write_parts`); `conflicts` counts CAS failures. `put` and `delete` act as another writer
    would. Parts given to `write_parts` are kept as they are and joined on the first read, so
    a commit costs no copy of the whole object.
    """

    def __init__(self, *, latency_ms: float = 0.0) -> None:
        self.latency_ms = latency_ms
        self.reads = 0
        self.writes = 0
        self.conflicts = 0
        self._objects: dict[str, ReadResult] = {}
        self._unjoined: dict[str, tuple[bytes, ...]] = {}  # key -> parts not yet joined
        self._counter = itertools.count(1)
        self._faults: list[_Fault] = []

    def fail_next(self, n: int = 1, kind: FaultKind = "error", op: FaultOp = "write") -> None:
        """Make the next `n` matching calls fail with StorageBackendError.

        kind="error": nothing is applied. kind="ambiguous": a write is applied, then the error
        is raised, so the caller cannot know it landed (reads just fail).
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        self._faults.append(_Fault(n, kind, op))

    async def read(self, key: str) -> ReadResult | None:
        check_key(key)
        self.reads += 1
        await self._delay()
        fault = self._take_fault("read")
        if fault is not None:
            raise StorageBackendError(f"memory storage: injected read failure (key {key})")
        parts = self._unjoined.pop(key, None)
        if parts is not None:
            self._objects[key] = ReadResult(b"".join(parts), self._objects[key].version)
        return self._objects.get(key)

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self.write_parts(key, (data,), expected)

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version:
        check_key(key)
        self.writes += 1
        await self._delay()
        fault = self._take_fault("write")
        if fault == "error":
            raise StorageBackendError(f"memory storage: injected write failure (key {key})")
        current = self._objects.get(key)
        if current is None or current.version != expected:
            self.conflicts += 1
            raise CASConflictError(f"memory storage: version mismatch on key {key}")
        if len(parts) == 1:
            version = self.put(key, parts[0])
        else:
            version = Version(str(next(self._counter)))
            self._objects[key] = ReadResult(b"", version)  # data comes from _unjoined
            self._unjoined[key] = tuple(parts)
        if fault == "ambiguous":
            raise StorageBackendError(f"memory storage: injected ambiguous write failure (key {key})")
        return version

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        check_key(key)
        self.writes += 1
        await self._delay()
        fault = self._take_fault("write")
        if fault == "error":
            raise StorageBackendError(f"memory storage: injected write failure (key {key})")
        if key in self._objects:
            self.conflicts += 1
            raise CASConflictError(f"memory storage: key {key} already exists")
        version = self.put(key, data)
        if fault == "ambiguous":
            raise StorageBackendError(f"memory storage: injected ambiguous write failure (key {key})")
        return version

    def put(self, key: str, data: bytes) -> Version:
        """Store unconditionally, as a foreign writer would; not counted."""
        check_key(key)
        version = Version(str(next(self._counter)))
        self._objects[key] = ReadResult(bytes(data), version)
        self._unjoined.pop(key, None)
        return version

    def delete(self, key: str) -> None:
        self._objects.pop(key, None)
        self._unjoined.pop(key, None)

    async def aclose(self) -> None:
        return None

    async def _delay(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)

    def _take_fault(self, op: Literal["read", "write"]) -> FaultKind | None:
        for fault in self._faults:
            if fault.op in (op, "any"):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault.kind
        return None
