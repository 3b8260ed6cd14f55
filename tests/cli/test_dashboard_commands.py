"""`osqueue dashboard` and `osqueue demo`: real processes serving real pages."""

from __future__ import annotations

import signal

import httpx

from ..conftest import free_port
from .conftest import Launcher, osqueue, wait_for


def _serves(url: str, text: str) -> bool:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and text in response.text


def test_dashboard_serves_a_running_broker(launcher: Launcher) -> None:
    _, broker_url = launcher.broker()
    job_id = osqueue("submit", "email:send", '{"to": "a@b.c"}', "--broker", broker_url).stdout.strip()
    port = free_port()
    dashboard = launcher.start("dashboard", "--broker", broker_url, "--port", str(port))
    assert f"at http://127.0.0.1:{port}/" in dashboard.next_line()
    wait_for(lambda: _serves(f"http://127.0.0.1:{port}/jobs", job_id[-12:]), timeout=20)
    assert dashboard.interrupt(signal.SIGINT) in (0, 130)  # 130: the shell convention for Ctrl+C


def test_dashboard_token_guards_every_page(launcher: Launcher) -> None:
    _, broker_url = launcher.broker()
    port = free_port()
    launcher.start("dashboard", "--broker", broker_url, "--port", str(port), "--dashboard-token", "s3cret")
    wait_for(lambda: _serves(f"http://127.0.0.1:{port}/login", "token"), timeout=20)
    page = httpx.get(f"http://127.0.0.1:{port}/jobs", follow_redirects=False)
    assert page.status_code in (302, 303, 307, 401)


def test_demo_runs_broker_workers_and_dashboard_in_one_command(launcher: Launcher) -> None:
    port = free_port()
    demo = launcher.start("demo", "--port", str(port), "--jobs-per-second", "20")
    assert f"http://127.0.0.1:{port}" in demo.next_line(timeout=30)
    state_url = f"http://127.0.0.1:{port}/queue.json"

    def demo_jobs_completed() -> bool:
        try:
            state = httpx.get(state_url, timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return False
        return isinstance(state, dict) and state.get("completedTotal", 0) > 0

    wait_for(demo_jobs_completed, timeout=30)
    assert _serves(f"http://127.0.0.1:{port}/", "osqueue")
    assert demo.interrupt(signal.SIGINT) == 0
