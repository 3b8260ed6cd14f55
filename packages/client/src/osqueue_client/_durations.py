"""Durations: the public API takes seconds (float) or `timedelta`; the wire speaks milliseconds."""

from __future__ import annotations

import math
from datetime import timedelta

from osqueue_types import InvalidRequestError

Duration = float | timedelta
"""Seconds as a number, or a `datetime.timedelta`."""


def to_seconds(value: Duration) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def to_ms(value: Duration | None, name: str) -> int | None:
    """Whole milliseconds, or None when not given."""
    if value is None:
        return None
    seconds = to_seconds(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidRequestError(f"{name} must be a finite duration >= 0, got {value!r}")
    return round(seconds * 1000)
