"""`serve`: run the dashboard under uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn
from osqueue_client import TransportName
from starlette.applications import Starlette

from ._app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3001
# Live streams never end by themselves: give them this long to go on shutdown.
GRACEFUL_SHUTDOWN_S = 2


def make_server(app: Starlette, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    return uvicorn.Server(config)


def serve(
    broker_url: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth_token: str | None = None,
    dashboard_token: str | None = None,
    transport: TransportName = "rest",
    poll_interval: float = 1.0,
    log_level: str = "info",
) -> None:
    """Serve the dashboard for the broker at `broker_url` until interrupted (blocking)."""
    app = create_app(
        broker_url,
        auth_token=auth_token,
        dashboard_token=dashboard_token,
        transport=transport,
        poll_interval=poll_interval,
    )
    asyncio.run(make_server(app, host=host, port=port, log_level=log_level).serve())
