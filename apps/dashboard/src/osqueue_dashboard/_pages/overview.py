"""Overview `/` and the raw queue.json proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

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


class _Proxied(StreamingResponse):
    """A streamed answer that closes its upstream once sent, or once the browser has left."""

    def __init__(
        self, chunks: AsyncIterator[bytes], upstream: AsyncExitStack, headers: dict[str, str]
    ) -> None:
        super().__init__(chunks, media_type="application/json", headers=headers)
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


async def queue_json(request: Request) -> Response:
    """The broker's raw queue.json, streamed through (the browser never needs the broker's token).

    The broker's answer is open before the response starts, so an error (broker away, wrong
    token) becomes the usual error page."""
    upstream = AsyncExitStack()
    chunks = await upstream.enter_async_context(get_dashboard(request).client.stream_state())
    headers = {"content-disposition": 'inline; filename="queue.json"', "cache-control": "no-store"}
    return _Proxied(chunks, upstream, headers)
