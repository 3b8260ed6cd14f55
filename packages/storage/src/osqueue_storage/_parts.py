"""Forwarding `write_parts` through wrappers to backends that may or may not support it."""

from __future__ import annotations

from collections.abc import Sequence

from osqueue_types import PartsWriter, StorageBackend, Version


async def write_parts_to(
    inner: StorageBackend, key: str, parts: Sequence[bytes], expected: Version
) -> Version:
    """`inner.write_parts` when the backend has it, else one `write` of the joined parts."""
    if isinstance(inner, PartsWriter):
        return await inner.write_parts(key, parts, expected)
    return await inner.write(key, b"".join(parts), expected)
