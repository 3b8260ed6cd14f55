"""An ordered collection whose JSON array is cached in chunks, for cheap repeated encoding.

queue.json is rewritten on every commit, but a commit touches few of its records. Items are
grouped into chunks of consecutive positions (`seq >> CHUNK_BITS`); each chunk keeps its
encoded JSON until an item in it is added, changed or removed, so encoding a 100,000-item
array costs a few re-encoded chunks and one join instead of a full re-encode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import msgspec

CHUNK_BITS = 8  # 256 items per chunk

_T = TypeVar("_T")
_encode = msgspec.json.Encoder().encode


class ChunkedArray(Generic[_T]):
    """Items keyed by id, in order of their `seq` (which callers only ever increase)."""

    def __init__(self) -> None:
        self._seq: dict[str, int] = {}
        # Chunks in seq order: a new chunk id is always the largest, so dict order is seq order.
        self._chunks: dict[int, dict[str, _T]] = {}
        self._json: dict[int, bytes] = {}
        self._dirty: set[int] = set()

    def __len__(self) -> int:
        return len(self._seq)

    def __contains__(self, key: str) -> bool:
        return key in self._seq

    def __iter__(self) -> Iterator[_T]:
        for chunk in self._chunks.values():
            yield from chunk.values()

    def keys(self) -> list[str]:
        return list(self._seq)

    def get(self, key: str) -> _T | None:
        seq = self._seq.get(key)
        return None if seq is None else self._chunks[seq >> CHUNK_BITS][key]

    def append(self, key: str, item: _T, seq: int) -> None:
        """Add an item after every other (its seq must exceed all seqs used before)."""
        chunk_id = seq >> CHUNK_BITS
        chunk = self._chunks.get(chunk_id)
        if chunk is None:
            chunk = self._chunks[chunk_id] = {}
            self._json[chunk_id] = b""
        chunk[key] = item
        self._seq[key] = seq
        self._dirty.add(chunk_id)

    def touch(self, key: str) -> None:
        """Mark an item changed in place, so its chunk is re-encoded."""
        self._dirty.add(self._seq[key] >> CHUNK_BITS)

    def remove(self, key: str) -> _T:
        chunk_id = self._seq.pop(key) >> CHUNK_BITS
        chunk = self._chunks[chunk_id]
        item = chunk.pop(key)
        if chunk:
            self._dirty.add(chunk_id)
        else:
            del self._chunks[chunk_id], self._json[chunk_id]
            self._dirty.discard(chunk_id)
        return item

    def json_pieces(self, out: list[bytes]) -> None:
        """Append the array's elements, comma-separated, to `out` (no brackets)."""
        for chunk_id in self._dirty:
            self._json[chunk_id] = _encode(list(self._chunks[chunk_id].values()))[1:-1]
        self._dirty.clear()
        first = True
        for piece in self._json.values():
            if not first:
                out.append(b",")
            out.append(piece)
            first = False
