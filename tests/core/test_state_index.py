"""The lazily-deleted heaps behind the state machine: order, removal, and bounded memory."""

from __future__ import annotations

import itertools

import msgspec
from osqueue_core import QueueStateMachine
from osqueue_core._index import LazyHeap, ReadyIndex
from osqueue_types import Claim, ClaimResult, Complete, Enqueue, Fail, Heartbeat, NewJob

T0 = 1_706_000_000_000


def drain(heap: LazyHeap) -> list[str]:
    items = []
    while (item := heap.pop()) is not None:
        items.append(item)
    return items


def test_lazy_heap_orders_by_key_then_tiebreak() -> None:
    heap = LazyHeap()
    heap.push(2, 0, "c")
    heap.push(1, 5, "b")
    heap.push(1, 1, "a")
    heap.extend([(0, 9, "z"), (3, 0, "d")])
    assert len(heap) == 5
    assert heap.first() is not None and heap.first()[3] == "z"  # type: ignore[index]
    assert drain(heap) == ["z", "a", "b", "c", "d"]
    assert heap.first() is None and len(heap) == 0


def test_lazy_heap_discard_and_re_push() -> None:
    heap = LazyHeap()
    for n, item in enumerate("abcd"):
        heap.push(n, 0, item)
    heap.discard("a")
    heap.discard("missing")
    heap.push(10, 0, "b")  # new key replaces the old one
    assert "a" not in heap and "b" in heap
    assert drain(heap) == ["c", "d", "b"]


def test_lazy_heap_memory_stays_proportional_to_live_items() -> None:
    heap = LazyHeap()
    for n in range(10_000):
        heap.push(n, 0, f"i{n}")
    for n in range(9_990):
        heap.discard(f"i{n}")
    for _ in range(1_000):
        heap.push(5, 0, "i9999")  # re-keying leaves stale entries behind
    assert len(heap) == 10
    assert len(heap._heap) <= 2 * len(heap) + 64


def test_ready_index_merges_types_by_priority_then_seq() -> None:
    ready = ReadyIndex()
    ready.add("a1", "a", 0, 1)
    ready.extend([("b2", "b", 0, 2), ("c3", "c", 0, 3), ("a4", "a", 1, 4)])
    assert ready.has(["c"]) and not ready.has(["x"]) and ready.has(None)
    assert ready.pop(["a", "b"]) == "a4"
    assert ready.pop(["a", "b"]) == "a1"
    assert ready.pop(None) == "b2"
    assert ready.pop(["b"]) is None and not ready.has(["b"])
    assert ready.pop([]) == "c3"
    assert len(ready) == 0 and ready.pop(None) is None


def test_indexes_do_not_grow_with_churn() -> None:
    """Many claim/heartbeat/fail/complete cycles over a steady queue leave no garbage behind."""
    numbers = itertools.count()
    queue = QueueStateMachine(id_factory=lambda: f"j{next(numbers)}", heartbeat_timeout_ms=1_000)

    def new_job(n: int) -> NewJob:
        return NewJob(msgspec.Raw(b"1"), type=f"t{n % 3}", max_attempts=10**6)

    queue.apply(Enqueue([new_job(n) for n in range(100)]), T0)
    now = T0
    for cycle in range(3_000):
        now += 10
        result = queue.apply(Claim("w", [f"t{cycle % 3}"] if cycle % 2 else None, limit=3), now)
        assert isinstance(result, ClaimResult)
        for claimed in result.jobs:
            queue.apply(Heartbeat(claimed.id, "w"), now)
        if result.jobs:
            queue.apply(Fail(result.jobs[0].id, "w"), now)
        for claimed in result.jobs[1:]:
            queue.apply(Complete(claimed.id, "w"), now)
            queue.apply(Enqueue([new_job(cycle)]), now)
        queue.expire(now)
    assert queue.stats(now).total == 100
    for heap in (queue._ready._all, queue._delayed, queue._leases, *queue._ready._by_type.values()):
        assert len(heap._heap) <= 2 * len(heap) + 64
