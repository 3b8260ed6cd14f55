"""Overview `/` and the raw queue.json proxy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .._context import get_dashboard, render
from .._format import stats_json
from .._monitor import now_ms


async def overview(request: Request) -> Response:
    monitor = get_dashboard(request).monitor
    context = {
        "page": "overview",
        "counters": stats_json(monitor.stats) if monitor.stats else {},
        "leader": monitor.leader_view(),
        "leader_age": monitor.leader_view().age_text(now_ms()),
        "activity": list(reversed(monitor.activity))[:100],
    }
    return render(request, "overview.html", context)


async def queue_json(request: Request) -> Response:
    """The broker's raw queue.json, streamed through (the browser never needs the broker's token)."""
    state = get_dashboard(request).monitor.state
    upstream = await state.open()
    headers = {"content-disposition": 'inline; filename="queue.json"', "cache-control": "no-store"}
    return StreamingResponse(
        state.body(upstream),
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type", "application/json"),
        headers=headers,
    )
