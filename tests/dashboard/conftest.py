"""Fixtures for the dashboard tests: a real broker and dashboards under uvicorn, and Chromium.

The servers run on an asyncio loop in a background thread; the browser is driven with
Playwright's synchronous API from the test thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from osqueue_client import SyncOsqueueClient
from osqueue_dashboard import create_app
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from ._servers import LoopThread, UvicornServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Fast polling keeps the live-update tests short.
POLL_INTERVAL = 0.25
DASHBOARD_TOKEN = "let-me-in"


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="session")
def broker_url(loop_thread: LoopThread) -> Iterator[str]:
    from osqueue_broker import BrokerServer
    from osqueue_storage import MemoryBackend

    server = BrokerServer(MemoryBackend(), "127.0.0.1", 0)
    loop_thread.run(server.start())
    yield server.url
    loop_thread.run(server.stop())


@pytest.fixture(scope="session")
def start_dashboard(loop_thread: LoopThread, broker_url: str) -> Iterator[Callable[..., UvicornServer]]:
    """Start a dashboard (for `broker_url` unless told otherwise); all are stopped at the end."""
    started: list[UvicornServer] = []

    def start(*, url: str | None = None, port: int = 0, **options: object) -> UvicornServer:
        app = create_app(url or broker_url, poll_interval=POLL_INTERVAL, **options)  # type: ignore[arg-type]
        server = UvicornServer(app, port=port)
        loop_thread.run(server.start())
        started.append(server)
        return server

    yield start
    for server in started:
        loop_thread.run(server.stop())


@pytest.fixture(scope="session")
def dashboard_url(start_dashboard: Callable[..., UvicornServer]) -> str:
    return start_dashboard().url


@pytest.fixture(scope="session")
def client(broker_url: str) -> Iterator[SyncOsqueueClient]:
    with SyncOsqueueClient(broker_url, transport="rest") as sync_client:
        yield sync_client


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest) -> Path:
    folder = request.config.rootpath / "test-output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Module scope: Playwright's sync API holds an event loop in this thread while it is open, which
# would keep later asyncio tests from running.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A fresh browser page that records dialogs (none should ever fire) and script errors."""

    def __init__(self, page: Page, base_url: str, screenshots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshots = screenshots
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.accept_dialogs = False
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console", lambda message: self.errors.append(message.text) if message.type == "error" else None
        )

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Browser, dashboard_url: str, screenshots: Path) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Tab(page, dashboard_url, screenshots)
    context.close()
