"""How long a failed job waits before its next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: `base * factor ** (attempt - 1)`, capped at `max_delay`.

    `jitter` spreads each delay by up to that fraction either way, so jobs that failed
    together (a dependency went down) do not all come back in the same instant.
    """

    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base < 0 or self.max_delay < 0:
            raise ValueError("retry delays must be >= 0")
        if self.factor < 1:
            raise ValueError("retry factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("retry jitter must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number `attempt` (1-based) failed."""
        exponent = max(attempt - 1, 0)
        try:
            raw = self.base * self.factor**exponent
        except OverflowError:
            raw = self.max_delay
        capped = min(raw, self.max_delay)
        spread = capped * self.jitter * random.uniform(-1.0, 1.0)
        return min(max(capped + spread, 0.0), self.max_delay)
