"""Bounded exponential backoff with jitter for storage retries."""

from __future__ import annotations

import random
from collections.abc import Iterator


class Backoff:
    """Delays of base, 2*base, 4*base ... capped at `max_ms`; each drawn from [d/2, d].

    The jitter keeps brokers that failed together from retrying in lockstep; the lower half
    is kept so a retry never comes back instantly.
    """

    def __init__(self, base_ms: float, max_ms: float, *, rng: random.Random | None = None) -> None:
        self.base_ms = base_ms
        self.max_ms = max_ms
        self._rng = rng if rng is not None else random.Random()

    def delays(self) -> Iterator[float]:
        """Seconds to sleep before each successive retry (endless; the caller bounds it)."""
        ceiling = self.base_ms
        while True:
            capped = min(ceiling, self.max_ms)
            yield self._rng.uniform(capped / 2, capped) / 1000
            ceiling *= 2
