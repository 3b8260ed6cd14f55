"""The live stream `/events` (Server-Sent Events) that keeps every open page up to date.

The first message carries the whole chart history and the recent activity (`reset`); later
ones only what is new for this connection. EventSource reconnects by itself, and a
reconnection starts again with a full message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .._context import get_dashboard
from .._format import stats_json
from .._monitor import Monitor, now_ms

KEEPALIVE_S = 15.0
RECONNECT_MS = 2000


def _message(monitor: Monitor, *, since_at: int, since_activity: int, reset: bool) -> dict[str, Any]:
    return {
        "reset": reset,
        "ok": monitor.broker_ok,
        "error": monitor.error,
        "version": monitor.version,
        "stats": stats_json(monitor.stats) if monitor.stats else None,
        "leader": monitor.leader_view().as_json(now_ms()),
        "samples": [s.as_json() for s in monitor.history.samples() if s.at > since_at],
        "activity": [a.as_json() for a in monitor.activity_since(since_activity)],
        "workers": len(monitor.workers.workers()),
    }


async def _stream(monitor: Monitor) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    tick = monitor.ticks
    since_at = 0
    since_activity = max(0, monitor.activity_seq - len(monitor.activity))
    reset = True
    while not monitor.closing:
        message = _message(monitor, since_at=since_at, since_activity=since_activity, reset=reset)
        reset = False
        since_activity = monitor.activity_seq
        if message["samples"]:
            since_at = message["samples"][-1]["at"]
        yield f"event: update\ndata: {json.dumps(message, separators=(',', ':'))}\n\n"
        while tick == monitor.ticks:
            await monitor.wait_for_tick(tick, KEEPALIVE_S)
            if tick == monitor.ticks:
                yield ": keepalive\n\n"
        tick = monitor.ticks


async def events(request: Request) -> Response:
    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(
        _stream(get_dashboard(request).monitor), media_type="text/event-stream", headers=headers
    )
