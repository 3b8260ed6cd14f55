"""Long-poll claims parked until a job they could take is claimable.

After every commit the broker calls `wake`: parked claims are woken in arrival order, only those
whose type filter matches a claimable job, and no more of them than there are claimable jobs,
so one new job does not send every idle worker to claim it. A woken claim that leaves without
claiming (its client went away) hands its turn on by re-running `wake`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Waiter:
    __slots__ = ("future", "types", "woken")

    def __init__(self, types: list[str] | None, future: asyncio.Future[None]) -> None:
        self.types = types
        self.future = future
        self.woken = False


# has_claimable(types), read from the leader's cached state.
HasClaimable = Callable[[list[str] | None], bool]


class ClaimWaiters:
    def __init__(self) -> None:
        self._parked: dict[Waiter, None] = {}  # insertion-ordered set: FIFO
        self._check: tuple[HasClaimable, Callable[[], int]] | None = None

    def __len__(self) -> int:
        return len(self._parked)

    def bind(self, has_claimable: HasClaimable, claimable_count: Callable[[], int]) -> None:
        """Attach the readers of the leader's state (`unbind` while not leading)."""
        self._check = (has_claimable, claimable_count)

    def unbind(self) -> None:
        self._check = None

    def park(self, types: list[str] | None) -> Waiter:
        waiter = Waiter(types, asyncio.get_running_loop().create_future())
        self._parked[waiter] = None
        return waiter

    def leave(self, waiter: Waiter, *, claimed: bool) -> None:
        """The claim is answered; a woken one that took nothing passes its turn on."""
        self._parked.pop(waiter, None)
        if waiter.woken and not claimed:
            self.wake()

    def wake(self) -> None:
        if not self._parked or self._check is None:
            return
        has_claimable, claimable_count = self._check
        budget = claimable_count()
        if budget <= 0:
            return
        for waiter in list(self._parked):
            if budget <= 0:
                break
            if waiter.woken or not has_claimable(waiter.types):
                continue
            self._wake(waiter)
            budget -= 1

    def wake_all(self) -> None:
        """Leadership lost or shutting down: every parked claim re-checks and gets its answer."""
        for waiter in list(self._parked):
            self._wake(waiter)

    def _wake(self, waiter: Waiter) -> None:
        waiter.woken = True
        del self._parked[waiter]
        if not waiter.future.done():
            waiter.future.set_result(None)
