"""Workers `/workers`: who holds jobs now, and who did a few minutes ago."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._context import get_dashboard, render
from .._format import duration
from .._monitor import MAX_TRACKED_IN_PROGRESS


async def workers(request: Request) -> Response:
    monitor = get_dashboard(request).monitor
    stats = monitor.stats
    context = {
        "page": "workers",
        "workers": monitor.workers.workers(),
        "remember": duration(monitor.workers.remember_ms),
        "truncated": stats is not None and stats.in_progress > MAX_TRACKED_IN_PROGRESS,
        "tracked": MAX_TRACKED_IN_PROGRESS,
    }
    return render(request, "workers.html", context)
