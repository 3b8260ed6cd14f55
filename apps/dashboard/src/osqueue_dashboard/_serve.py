"""`serve`: run the dashboard under uvicorn."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from osqueue_client import TransportName
from osqueue_types import DEFAULT_QUEUE
from starlette.applications import Starlette

from ._app import create_app
from ._context import get_dashboard_of
from ._monitor import Monitor

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3001
# Requests still running this long after shutdown began are cancelled.
GRACEFUL_SHUTDOWN_S = 3


class _DashboardServer(uvicorn.Server):
    """uvicorn that ends the dashboard's live streams first when it shuts down."""

    def __init__(self, config: uvicorn.Config, monitor: Monitor) -> None:
        super().__init__(config)
        self._monitor = monitor

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._monitor.close_streams()
        await super().shutdown(sockets)


def make_server(app: Starlette, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for an app made by `create_app`."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    return _DashboardServer(config, get_dashboard_of(app).monitor)


def serve(
    broker_url: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth_token: str | None = None,
    dashboard_token: str | None = None,
    transport: TransportName = "rest",
    poll_interval: float = 1.0,
    queue: str = DEFAULT_QUEUE,
    log_level: str = "info",
) -> None:
    """Serve the dashboard for the broker at `broker_url` until interrupted (blocking)."""
    app = create_app(
        broker_url,
        auth_token=auth_token,
        dashboard_token=dashboard_token,
        transport=transport,
        poll_interval=poll_interval,
        queue=queue,
    )
    asyncio.run(make_server(app, host=host, port=port, log_level=log_level).serve())
