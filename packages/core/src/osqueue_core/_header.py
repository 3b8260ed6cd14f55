"""The leadership fields of queue.json, decoded without building the jobs."""

from __future__ import annotations

import time

import msgspec


class StateHeader(msgspec.Struct, rename="camel"):
    broker: str | None = None
    broker_heartbeat: int = 0
    broker_id: str | None = None
    commit_seq: int = 0


_decoder = msgspec.json.Decoder(StateHeader)


def decode_header(data: bytes) -> StateHeader:
    """Who leads and which commit this is; raises msgspec.DecodeError on a corrupt file."""
    try:
        return _decoder.decode(data)
    except UnicodeDecodeError as exc:  # msgspec's report of bad UTF-8 inside a string
        raise msgspec.DecodeError(f"queue state is not valid UTF-8: {exc}") from None


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, the unit of every time in queue.json."""
    return time.time_ns() // 1_000_000
