"""Forwarding `write_parts` through wrappers to backends that may or may not support it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from osqueue_types import PartsWriter, StorageBackend, Version

WriteParts = Callable[[str, Sequence[bytes], Version], Awaitable[Version]]


def parts_writer_of(inner: StorageBackend) -> WriteParts:
    """`inner.write_parts` when the backend has it, else a function that joins the parts and
    calls `write`. Looked up once: a runtime protocol check is too slow for every commit."""
    if isinstance(inner, PartsWriter):
        return inner.write_parts

    async def write_joined(key: str, parts: Sequence[bytes], expected: Version) -> Version:
        return await inner.write(key, b"".join(parts), expected)

    return write_joined
