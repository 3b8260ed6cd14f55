"""What every page handler needs: the client, the monitor, the templates and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from jinja2 import Environment, PackageLoader, select_autoescape
from osqueue_client import OsqueueClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from . import _format
from ._monitor import Monitor, now_ms
from ._security import csrf_token

NAV = [
    ("overview", "/", "Overview"),
    ("jobs", "/jobs", "Jobs"),
    ("producer", "/producer", "Producer"),
    ("workers", "/workers", "Workers"),
    ("dead", "/dead", "Dead letters"),
]


@dataclass(slots=True)
class Dashboard:
    client: OsqueueClient
    monitor: Monitor
    templates: Jinja2Templates
    broker_url: str
    dashboard_token: str | None
    owns_client: bool


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("osqueue_dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_format.FILTERS)
    env.globals["job_status"] = _format.job_status
    env.globals["age"] = _format.age
    return Jinja2Templates(env=env)


def get_dashboard_of(app: Starlette) -> Dashboard:
    return cast(Dashboard, app.state.dashboard)


def get_dashboard(request: Request) -> Dashboard:
    return get_dashboard_of(request.app)


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    dash = get_dashboard(request)
    monitor = dash.monitor
    base = {
        "nav": NAV,
        "now": now_ms(),
        "csrf_token": csrf_token(request),
        "login_required": dash.dashboard_token is not None,
        "broker_ok": monitor.broker_ok,
        "broker_error": monitor.error,
        "version": monitor.version,
        "poll_ms": int(monitor.poll_interval * 1000),
    }
    return dash.templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
