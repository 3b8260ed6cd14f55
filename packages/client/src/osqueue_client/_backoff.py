"""Capped exponential backoff with jitter, for retries after a failover."""

from __future__ import annotations

import random


class Backoff:
    """Delays of base * 2**n capped at `cap`, each drawn from its upper half so that many
    clients losing the same broker do not come back in lockstep."""

    def __init__(self, base: float = 0.05, cap: float = 2.0) -> None:
        self._base = base
        self._cap = cap
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self._cap, self._base * 2**self._attempt)
        self._attempt += 1
        return random.uniform(ceiling / 2, ceiling)
