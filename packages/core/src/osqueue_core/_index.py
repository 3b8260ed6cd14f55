"""Heaps with O(1) removal: the indexes behind the state machine's O(log n) operations."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence

# A heap entry: (key, tiebreak, token, item). Keys are ints (priority, seq, times); the token
# tells a live entry from a stale one left behind by a removal or a re-push.
Entry = tuple[int, int, int, str]

# Stale entries tolerated beyond the live ones before a rebuild; avoids rebuilding tiny heaps.
_COMPACT_SLACK = 64


class LazyHeap:
    """A min-heap of string items keyed by two ints, with O(1) removal.

    Removing an item only forgets its token: its entry stays in the heap until it reaches the
    top (where it is skipped) or until stale entries outnumber live ones (then the heap is
    rebuilt), so memory stays proportional to the live items. Pushing an item that is already
    present gives it the new key.
    """

    __slots__ = ("_heap", "_live", "_tokens")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._live: dict[str, int] = {}
        self._tokens = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item: str) -> bool:
        return item in self._live

    def __iter__(self) -> Iterator[str]:
        """The live items, in no particular order."""
        return iter(self._live)

    def push(self, key: int, tiebreak: int, item: str) -> None:
        token = next(self._tokens)
        replaced = item in self._live
        self._live[item] = token
        heapq.heappush(self._heap, (key, tiebreak, token, item))
        if replaced:
            self._maybe_compact()

    def extend(self, entries: Iterable[tuple[int, int, str]]) -> None:
        """Add many new (key, tiebreak, item) entries at once, in O(n) rather than O(n log n)."""
        heap, live, tokens = self._heap, self._live, self._tokens
        for key, tiebreak, item in entries:
            token = next(tokens)
            live[item] = token
            heap.append((key, tiebreak, token, item))
        heapq.heapify(heap)

    def discard(self, item: str) -> None:
        if self._live.pop(item, None) is not None:
            self._maybe_compact()

    def first(self) -> Entry | None:
        """The live entry with the smallest key, or None when empty."""
        heap, live = self._heap, self._live
        while heap:
            entry = heap[0]
            if live.get(entry[3]) == entry[2]:
                return entry
            heapq.heappop(heap)
        return None

    def pop(self) -> str | None:
        entry = self.first()
        if entry is None:
            return None
        heapq.heappop(self._heap)
        del self._live[entry[3]]
        return entry[3]

    def _maybe_compact(self) -> None:
        if len(self._heap) > 2 * len(self._live) + _COMPACT_SLACK:
            live = self._live
            self._heap = [entry for entry in self._heap if live.get(entry[3]) == entry[2]]
            heapq.heapify(self._heap)


class ReadyIndex:
    """Jobs that can be claimed now, highest priority first and FIFO within a priority.

    Each job sits in one heap for all types and in one heap for its own type, so a claim with
    or without a type filter pops in O(log n) (times the number of types asked for).
    """

    __slots__ = ("_all", "_by_type", "_type_of")

    def __init__(self) -> None:
        self._all = LazyHeap()
        self._by_type: dict[str | None, LazyHeap] = {}
        self._type_of: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._all)

    def add(self, job_id: str, job_type: str | None, priority: int, seq: int) -> None:
        self._all.push(-priority, seq, job_id)
        heap = self._by_type.get(job_type)
        if heap is None:
            heap = self._by_type[job_type] = LazyHeap()
        heap.push(-priority, seq, job_id)
        self._type_of[job_id] = job_type

    def extend(self, jobs: Iterable[tuple[str, str | None, int, int]]) -> None:
        """Add many (job_id, job_type, priority, seq) at once, as when loading queue.json."""
        by_type: dict[str | None, list[tuple[int, int, str]]] = {}
        for job_id, job_type, priority, seq in jobs:
            by_type.setdefault(job_type, []).append((-priority, seq, job_id))
            self._type_of[job_id] = job_type
        for job_type, entries in by_type.items():
            self._all.extend(entries)
            heap = self._by_type.get(job_type)
            if heap is None:
                heap = self._by_type[job_type] = LazyHeap()
            heap.extend(entries)

    def has(self, types: Sequence[str] | None) -> bool:
        if not types:
            return len(self._all) > 0
        return any(job_type in self._by_type for job_type in types)

    def pop(self, types: Sequence[str] | None) -> str | None:
        """Remove and return the first job of any of `types` (any type when None or empty)."""
        if not types:
            job_id = self._all.pop()
            if job_id is not None:
                self._forget_type(job_id)
            return job_id
        best: Entry | None = None
        for job_type in types:
            heap = self._by_type.get(job_type)
            entry = heap.first() if heap is not None else None
            if entry is not None and (best is None or entry < best):
                best = entry
        if best is None:
            return None
        self._all.discard(best[3])
        self._forget_type(best[3])
        return best[3]

    def _forget_type(self, job_id: str) -> None:
        job_type = self._type_of.pop(job_id)
        heap = self._by_type[job_type]
        heap.discard(job_id)
        # Dropping empty per-type heaps also drops their stale entries and keeps `has` O(1).
        if not heap:
            del self._by_type[job_type]
