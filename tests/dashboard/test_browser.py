"""The dashboard in headless Chromium against a real broker: every page, live updates, safety."""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from osqueue_client import OsqueueClient, SyncOsqueueClient
from osqueue_dashboard import create_app
from osqueue_types import JobStatus
from osqueue_worker import Worker
from playwright.sync_api import Browser, Page, expect

from ._servers import LoopThread, UvicornServer
from .conftest import DASHBOARD_TOKEN, POLL_INTERVAL, Tab

pytestmark = pytest.mark.browser
expect.set_options(timeout=10_000)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def live(page: Page) -> None:
    """Wait until the page's live stream is up."""
    expect(page.locator("#connection")).to_have_text("Live")


def make_dead_letter(client: SyncOsqueueClient, job_type: str, error: str, payload: object = None) -> str:
    job_id = client.submit(job_type, payload if payload is not None else {"doomed": True}, max_attempts=1)
    (claimed,) = client.claim("doomed-worker", job_type)
    assert client.fail(claimed.id, "doomed-worker", error) is True
    return job_id


def test_every_page_renders(tab: Tab, client: SyncOsqueueClient) -> None:
    job_type = unique("report:build")
    job_id = client.submit(job_type, {"month": "2024-01", "pages": 12, "to": ["ops@example.com"]}, priority=2)
    for n in range(3):
        client.submit(unique("email:send"), {"to": f"user{n}@example.com"})
    client.submit(job_type, {"month": "2024-02"})
    (busy,) = client.claim("worker-a", job_type)
    make_dead_letter(client, unique("image:resize"), "ValueError: unsupported format 'tiff'")
    pages = [
        ("/", "overview", "Overview"),
        ("/jobs", "jobs", "Jobs"),
        (f"/jobs/{job_id}", "job", "Job"),
        ("/producer", "producer", "Submit a job"),
        ("/workers", "workers", "Workers"),
        ("/dead", "dead", "Dead letters"),
    ]
    for path, name, heading in pages:
        page = tab.goto(path)
        expect(page.locator("h1")).to_contain_text(heading)
        live(page)
        if name == "overview":
            # A few samples on the chart and the leader's heartbeat age.
            expect(page.locator("#chart-depth path.line").first).to_be_visible()
            expect(page.locator("[data-leader-age]")).to_contain_text("ago")
        tab.shot(name)
    client.complete(busy.id, "worker-a")
    assert tab.errors == []
    assert tab.dialogs == []


def test_producer_submits_a_job_that_appears_in_the_jobs_table(tab: Tab, client: SyncOsqueueClient) -> None:
    job_type = unique("email:send")
    client.submit(job_type, {"seen": "before"})  # so the type is suggested
    page = tab.goto("/jobs")
    page = tab.goto("/producer")
    assert job_type in page.locator("#job-types option").evaluate_all("options => options.map(o => o.value)")

    # The browser refuses a payload that is not JSON before anything is sent.
    page.fill("#type", job_type)
    page.fill("#payload", "{not json")
    page.click("#submit-job")
    expect(page.locator("#payload-error")).to_contain_text("Not valid JSON")
    expect(page.locator("#submitted")).to_have_count(0)

    page.fill("#payload", '{"to": "ada@example.com", "subject": "Hello"}')
    page.fill("#max_attempts", "5")
    page.fill("#priority", "7")
    page.click("#submit-job")
    job_id = page.locator("#submitted-id").inner_text()
    tab.shot("producer-submitted")
    job = client.get_job(job_id)
    assert (job.type, job.payload, job.max_attempts, job.priority) == (
        job_type,
        {"to": "ada@example.com", "subject": "Hello"},
        5,
        7,
    )

    page = tab.goto(f"/jobs?type={quote(job_type)}")
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("unclaimed")
    expect(row).to_contain_text("0/5")
    page.locator(f'tr[data-job-id="{job_id}"] a').click()
    expect(page.locator("#payload")).to_contain_text('"subject": "Hello"')


def test_a_worker_completing_a_job_moves_the_counters_without_reload(
    tab: Tab, loop_thread: LoopThread, broker_url: str
) -> None:
    job_type = unique("thumbnail")
    worker_id = unique("thumbnailer")

    # The job comes from the producer form, in the browser.
    page = tab.goto("/producer")
    page.fill("#type", job_type)
    page.fill("#payload", '{"image": "cat.png", "width": 128}')
    page.click("#submit-job")
    job_id = page.locator("#submitted-id").inner_text()

    # To the overview by its link; from here on the page is never reloaded.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page.locator("h1")).to_contain_text("Overview")
    live(page)
    page.evaluate("window.notReloaded = true")
    completed = page.locator('[data-stat="completedTotal"]')
    before = int(completed.inner_text().replace(",", ""))
    expect(page.locator("#activity")).to_contain_text("submitted")

    # A real worker in this process, on the same broker. Its handler holds the job until the
    # page has shown the claim, so the dashboard's poll sees the job in progress.
    release = threading.Event()
    handled: list[object] = []

    def make_thumbnail(payload: object) -> dict[str, str]:
        handled.append(payload)
        if not release.wait(15):
            raise TimeoutError("the test never released the job")
        return {"thumbnail": "cat-128.png"}

    async def start_worker() -> Worker:
        client = OsqueueClient(broker_url, transport="rest")
        worker = Worker(
            client, {job_type: make_thumbnail}, worker_id=worker_id, claim_wait=1, heartbeat_interval=1
        )
        worker.start()
        return worker

    async def stop_worker(worker: Worker) -> None:
        try:
            await worker.stop(grace_period=5)
        finally:
            await worker.client.aclose()

    worker = loop_thread.run(start_worker())
    try:
        expect(page.locator("#activity")).to_contain_text(f"{job_type} {job_id[:8]} claimed by {worker_id}")
        expect(page.locator('[data-stat="inProgress"]')).not_to_have_text("0")
        release.set()
        expect(completed).to_have_text(f"{before + 1:,}")
        expect(page.locator("#activity")).to_contain_text(f"{job_type} {job_id[:8]} completed by {worker_id}")
        assert handled == [{"image": "cat.png", "width": 128}]
        assert page.evaluate("window.notReloaded") is True
        tab.shot("overview-live")
    finally:
        release.set()
        loop_thread.run(stop_worker(worker))
    assert tab.errors == []


def test_jobs_and_workers_pages_follow_the_queue_without_reload(tab: Tab, client: SyncOsqueueClient) -> None:
    job_type = unique("video:encode")
    page = tab.goto(f"/jobs?type={quote(job_type)}")
    expect(page.locator("#jobs-table")).to_contain_text("No jobs match")
    page.evaluate("window.notReloaded = true")
    job_id = client.submit(job_type, {"file": "talk.mp4"})
    expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_contain_text("unclaimed")

    client.claim("worker-encoder", job_type)
    expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_contain_text("worker-encoder")
    assert page.evaluate("window.notReloaded") is True

    page = tab.goto("/workers")
    row = page.locator('tr[data-worker-id="worker-encoder"]')
    expect(row).to_contain_text(job_id[:8])
    expect(row).to_contain_text("busy")
    tab.shot("workers")
    client.complete(job_id, "worker-encoder")
    expect(row).to_contain_text("idle")


def test_requeue_a_dead_letter(tab: Tab, client: SyncOsqueueClient) -> None:
    job_type = unique("invoice:send")
    job_id = make_dead_letter(client, job_type, "RuntimeError: printer on fire")
    page = tab.goto("/dead")
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("printer on fire")
    tab.shot("dead")

    # Dismissing the confirmation changes nothing.
    row.get_by_role("button", name="Requeue").click()
    assert tab.dialogs[-1] == "confirm: Requeue this job?"
    expect(row).to_be_visible()

    tab.accept_dialogs = True
    row.get_by_role("button", name="Requeue").click()
    expect(page.locator("#notice")).to_have_text("1 dead letter requeued.")
    expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_have_count(0)
    assert client.get_job(job_id).status == JobStatus.UNCLAIMED

    # And delete: the letter is gone for good.
    other = make_dead_letter(client, unique("invoice:send"), "RuntimeError: still on fire")
    page = tab.goto("/dead")
    page.locator(f'tr[data-job-id="{other}"]').get_by_role("button", name="Delete").click()
    expect(page.locator("#notice")).to_have_text("1 dead letter deleted.")
    assert other not in {letter.job.id for letter in client.dead_letters().dead_letters}


def test_script_in_user_data_renders_as_text(tab: Tab, client: SyncOsqueueClient) -> None:
    evil = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
    job_type = unique("<b>evil</b>")
    job_id = client.submit(job_type, {"html": evil})
    dead_id = make_dead_letter(client, job_type + "-dead", evil, {"html": evil})
    page = tab.goto("/")
    live(page)
    (claimed,) = client.claim("<i>worker</i>", job_type)
    expect(page.locator("#activity")).to_contain_text(f"{job_type} {job_id[:8]} claimed by <i>worker</i>")
    client.fail(claimed.id, "<i>worker</i>", evil, retry_delay=0)
    for path in (f"/jobs?type={quote(job_type)}", "/dead", f"/jobs/{dead_id}"):
        tab.goto(path)
        expect(tab.page.locator("main")).to_contain_text("<b>evil</b>")
    tab.goto("/producer")  # the type is suggested in the datalist
    page = tab.goto(f"/jobs/{job_id}")
    expect(page.locator("#payload")).to_contain_text(evil)
    expect(page.locator("h1")).to_contain_text(job_id)
    assert page.locator("img[src=x], main b, main script").count() == 0
    tab.shot("job-escaped")
    assert tab.dialogs == []


def test_a_wrong_dashboard_token_is_refused(
    browser: Browser, start_dashboard: Callable[..., UvicornServer], screenshots: Path
) -> None:
    server = start_dashboard(dashboard_token=DASHBOARD_TOKEN)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.locator("nav")).to_have_count(0)
    page.goto(server.url + "/jobs?status=unclaimed")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong token.")
    page.screenshot(path=str(screenshots / "login-refused.png"), full_page=True)

    page.fill("#token", DASHBOARD_TOKEN)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs\?status=unclaimed$"))
    live(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.url + "/dead")
    expect(page).to_have_url(re.compile(r"/login"))
    context.close()


def test_the_indicator_shows_a_lost_connection_and_reconnects(
    browser: Browser, loop_thread: LoopThread, broker_url: str, start_dashboard: Callable[..., UvicornServer]
) -> None:
    context = browser.new_context()
    page = context.new_page()

    # A broker that is not there.
    down = start_dashboard(url=f"http://127.0.0.1:{free_port()}")
    page.goto(down.url + "/")
    expect(page.locator("#connection")).to_have_text("Broker unreachable")
    expect(page.locator("#broker-error")).to_contain_text("The broker is not answering")

    # The dashboard itself goes away and comes back on the same port.
    port = free_port()
    first = UvicornServer(create_app(broker_url, poll_interval=POLL_INTERVAL), port=port)
    loop_thread.run(first.start())
    page.goto(first.url + "/")
    live(page)
    page.evaluate("window.notReloaded = true")
    loop_thread.run(first.stop())
    expect(page.locator("#connection")).to_contain_text("Dashboard disconnected")
    second = UvicornServer(create_app(broker_url, poll_interval=POLL_INTERVAL), port=port)
    loop_thread.run(second.start())
    try:
        live(page)
        assert page.evaluate("window.notReloaded") is True
    finally:
        context.close()
        loop_thread.run(second.stop())
