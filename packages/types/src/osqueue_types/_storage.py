"""The storage contract: a key-value object store with compare-and-swap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec


class Version(msgspec.Struct, frozen=True):
    """Opaque version token (ETag, GCS generation, counter)."""

    token: str


class ReadResult(msgspec.Struct, frozen=True):
    data: bytes
    version: Version


@runtime_checkable
class StorageBackend(Protocol):
    async def read(self, key: str) -> ReadResult | None:
        """Current object and version, or None when the key does not exist."""
        ...

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        """Replace the object if its version is still `expected`; else raise CASConflictError."""
        ...

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        """Create the object; raise CASConflictError if it already exists."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class PartsWriter(Protocol):
    """Optional capability of a backend: replace an object given as consecutive parts.

    The object's content is the concatenation of `parts`. A backend that can store or send
    the parts as they are spares the caller joining a large object into one new buffer on
    every write; otherwise it behaves exactly like `StorageBackend.write`.
    """

    async def write_parts(self, key: str, parts: Sequence[bytes], expected: Version) -> Version: ...
