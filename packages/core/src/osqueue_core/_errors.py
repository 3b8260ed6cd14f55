"""Errors raised by osqueue-core itself (the wire errors live in osqueue-types)."""

from __future__ import annotations

from osqueue_types import OsqueueError


class CorruptStateError(OsqueueError):
    """The queue state object cannot be decoded; osqueue refuses to start on it or overwrite it."""

    tag = "CorruptStateError"
    http_status = 500
