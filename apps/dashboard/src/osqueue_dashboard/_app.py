"""`create_app`: the dashboard as a Starlette application."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from osqueue_client import OsqueueClient, TransportName
from osqueue_types import DEFAULT_QUEUE, JobNotFoundError, OsqueueError, TransportConnectionError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ._context import Dashboard, make_templates, render
from ._monitor import Monitor
from ._pages import dead, events, jobs, login, overview, producer, workers
from ._security import LoginGate, SecurityHeaders
from ._session import SessionSigner, SignedSessionMiddleware

log = logging.getLogger("osqueue_dashboard")

# The dashboard's own calls give up quickly, so a dead broker shows as such within seconds
# (a worker's client keeps retrying much longer to ride out a failover).
CLIENT_TIMEOUT_S = 5.0
CLIENT_FAILOVER_DEADLINE_S = 3.0
# Start-up waits this long for the first answer from the broker, no longer.
FIRST_POLL_TIMEOUT_S = 2.0


def _session_secret(dashboard_token: str | None) -> bytes:
    """Derived from the dashboard token, sessions survive a restart; without one, they need not."""
    if dashboard_token is None:
        return secrets.token_bytes(32)
    return hashlib.sha256(b"osqueue-dashboard-session\x00" + dashboard_token.encode()).digest()


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _routes() -> list[Route | Mount]:
    return [
        Route("/", overview.overview, name="overview"),
        Route("/queue.json", overview.queue_json, name="queue_json"),
        Route("/jobs", jobs.jobs, name="jobs"),
        Route("/jobs/{job_id}", jobs.job_detail, name="job"),
        Route("/producer", producer.producer, name="producer"),
        Route("/producer", producer.submit, methods=["POST"], name="submit"),
        Route("/workers", workers.workers, name="workers"),
        Route("/dead", dead.dead_letters, name="dead"),
        Route("/dead/requeue", dead.requeue, methods=["POST"], name="requeue"),
        Route("/dead/delete", dead.delete, methods=["POST"], name="delete"),
        Route("/events", events.events, name="events"),
        Route("/login", login.login_form, name="login_form"),
        Route("/login", login.login, methods=["POST"], name="login"),
        Route("/logout", login.logout, methods=["POST"], name="logout"),
        Route("/healthz", _healthz, name="healthz"),
        Mount("/static", StaticFiles(packages=[("osqueue_dashboard", "static")]), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
    context = {"page": "", "title": titles.get(exc.status_code, "Error"), "message": exc.detail}
    return render(request, "error.html", context, status_code=exc.status_code)


async def _broker_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OsqueueError)
    status = 404 if isinstance(exc, JobNotFoundError) else 502
    if isinstance(exc, TransportConnectionError):
        message = f"The broker cannot be reached: {exc.message}"
    else:
        message = (
            f"The broker answered {exc.tag}: {exc.message}"
            if exc.message
            else f"The broker answered {exc.tag}."
        )
    context = {"page": "", "title": "Broker error", "message": message}
    return render(request, "error.html", context, status_code=status)


def create_app(
    broker_url: str,
    *,
    auth_token: str | None = None,
    dashboard_token: str | None = None,
    client: OsqueueClient | None = None,
    transport: TransportName = "rest",
    poll_interval: float = 1.0,
    queue: str = DEFAULT_QUEUE,
) -> Starlette:
    """The dashboard for the broker at `broker_url`.

    `auth_token` is the broker's token (kept on the server, never sent to browsers);
    `dashboard_token`, when given, is what people type on the login page. `client` replaces the
    OsqueueClient the dashboard would build (it is then not closed by the dashboard).
    `transport` is the client's ("rest", "connect" or "ws"); `poll_interval` is how often (in
    seconds) the dashboard asks the broker for the queue's state; `queue` names the queue.
    """
    if poll_interval <= 0:
        raise ValueError("poll_interval must be > 0")
    if dashboard_token is not None and not dashboard_token:
        raise ValueError("dashboard_token must not be empty")
    owns_client = client is None
    if client is None:
        client = OsqueueClient(
            broker_url,
            transport=transport,
            auth_token=auth_token,
            timeout=CLIENT_TIMEOUT_S,
            failover_deadline=CLIENT_FAILOVER_DEADLINE_S,
            queue=queue,
        )
    dashboard = Dashboard(
        client=client,
        monitor=Monitor(client, poll_interval=poll_interval),
        templates=make_templates(),
        broker_url=broker_url,
        dashboard_token=dashboard_token,
        owns_client=owns_client,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dashboard.monitor.start(first_poll_timeout=FIRST_POLL_TIMEOUT_S)
        try:
            yield
        finally:
            await dashboard.monitor.stop()
            if dashboard.owns_client:
                await dashboard.client.aclose()

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SignedSessionMiddleware, signer=SessionSigner(_session_secret(dashboard_token))),
        Middleware(LoginGate, enabled=dashboard_token is not None),
    ]
    app = Starlette(
        routes=_routes(),
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, OsqueueError: _broker_error},
        lifespan=lifespan,
    )
    app.state.dashboard = dashboard
    return app
