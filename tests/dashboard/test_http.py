"""The dashboard over plain HTTP against a real broker: CSRF, validation, login, proxying, headers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from osqueue_client import JobSpec, SyncOsqueueClient

from ._servers import LoopThread, UvicornServer
from .conftest import DASHBOARD_TOKEN

HTML = {"accept": "text/html"}


def csrf_of(http: httpx.Client, path: str = "/producer") -> str:
    page = http.get(path, headers=HTML)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def first_update(http: httpx.Client) -> dict[str, object]:
    with http.stream("GET", "/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                message: dict[str, object] = json.loads(line.removeprefix("data: "))
                return message
    raise AssertionError("the stream ended without an update")


@pytest.fixture
def http(dashboard_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dashboard_url, timeout=10) as session:
        yield session


def test_forms_need_the_session_csrf_token(http: httpx.Client, client: SyncOsqueueClient) -> None:
    fields = {"type": "csrf-check", "payload": '{"n": 1}'}
    assert http.post("/producer", data=fields).status_code == 403
    assert http.post("/producer", data={**fields, "csrf_token": "forged"}).status_code == 403
    token = csrf_of(http)
    answer = http.post("/producer", data={**fields, "csrf_token": token})
    assert answer.status_code == 303
    job_id = re.search(r"submitted=([0-9a-f-]+)", answer.headers["location"])
    assert job_id is not None
    assert client.get_job(job_id.group(1)).payload == {"n": 1}
    # Another browser (another session) cannot reuse this session's token.
    with httpx.Client(base_url=str(http.base_url)) as other:
        assert other.post("/dead/delete", data={"all": "1", "csrf_token": token}).status_code == 403


def test_the_server_validates_the_producer_form(http: httpx.Client) -> None:
    token = csrf_of(http)
    bad = http.post(
        "/producer",
        data={"csrf_token": token, "type": "x", "payload": "{nope", "max_attempts": "0", "delay": "-1"},
    )
    assert bad.status_code == 400
    assert "Not valid JSON" in bad.text
    assert "Must be between 1 and 1,000." in bad.text
    assert "{nope" in bad.text  # the form keeps what was typed


def test_queue_json_is_the_brokers_state(http: httpx.Client, client: SyncOsqueueClient) -> None:
    job_id = client.submit("state-check", {"k": "v"})
    answer = http.get("/queue.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    state = answer.json()
    assert job_id in {job["id"] for job in state["jobs"]}
    assert state["broker"] and state["brokerHeartbeat"] > 0


def test_pages_carry_security_headers_and_the_stream_starts_with_everything(http: httpx.Client) -> None:
    page = http.get("/", headers=HTML)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    message = first_update(http)
    assert message["reset"] is True and message["ok"] is True
    assert isinstance(message["stats"], dict) and "completedTotal" in message["stats"]
    assert isinstance(message["samples"], list)
    # The leader and its lease heartbeat come from the stats of every poll.
    leader = message["leader"]
    assert isinstance(leader, dict) and leader["address"] == message["stats"]["brokerAddress"]
    assert isinstance(leader["heartbeatAgeMs"], int) and leader["heartbeatAge"].endswith(" ago")
    assert http.get("/jobs/not-a-job", headers=HTML).status_code == 404


def test_login_guards_every_route(start_dashboard: Callable[..., UvicornServer]) -> None:
    server = start_dashboard(dashboard_token=DASHBOARD_TOKEN)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/", headers=HTML).headers["location"] == "/login?next=/"
        for path in ("/events", "/queue.json", "/jobs"):
            assert http.get(path).status_code == 401
        assert http.post("/dead/delete", data={"all": "1"}).status_code == 401
        token = csrf_of(http, "/login")
        refused = http.post("/login", data={"csrf_token": token, "token": "wrong", "next": "/"})
        assert refused.status_code == 401
        assert http.get("/queue.json").status_code == 401
        accepted = http.post("/login", data={"csrf_token": token, "token": DASHBOARD_TOKEN, "next": "/dead"})
        assert (accepted.status_code, accepted.headers["location"]) == (303, "/dead")
        assert http.get("/queue.json").status_code == 200
        assert first_update(http)["ok"] is True


def test_a_broker_token_stays_on_the_server(
    loop_thread: LoopThread, start_dashboard: Callable[..., UvicornServer]
) -> None:
    from osqueue_broker import BrokerServer
    from osqueue_storage import MemoryBackend

    broker = BrokerServer(MemoryBackend(), "127.0.0.1", 0, auth_token="broker-secret")
    loop_thread.run(broker.start())
    try:
        with SyncOsqueueClient(broker.url, transport="rest", auth_token="broker-secret") as client:
            client.submit("secret-check", {"n": 1})
        good = start_dashboard(url=broker.url, auth_token="broker-secret")
        with httpx.Client(base_url=good.url, timeout=10) as http:
            page = http.get("/jobs", headers=HTML)
            assert page.status_code == 200 and "secret-check" in page.text
            assert "broker-secret" not in page.text
            assert http.get("/queue.json").json()["jobs"][0]["type"] == "secret-check"
            assert first_update(http)["ok"] is True
        tokenless = start_dashboard(url=broker.url)
        with httpx.Client(base_url=tokenless.url, timeout=10) as http:
            message = first_update(http)
            assert message["ok"] is False and "AuthError" in str(message["error"])
            assert http.get("/jobs", headers=HTML).status_code == 502
            refused = http.get("/queue.json", headers=HTML)
            assert refused.status_code == 502 and "AuthError" in refused.text
    finally:
        loop_thread.run(broker.stop())


def test_the_delayed_filter_pages_through_jobs_not_due_yet(
    loop_thread: LoopThread, start_dashboard: Callable[..., UvicornServer]
) -> None:
    from osqueue_broker import BrokerServer
    from osqueue_storage import MemoryBackend

    # A broker of its own, so the counters are this test's; ready jobs ahead of the delayed ones.
    broker = BrokerServer(MemoryBackend(), "127.0.0.1", 0)
    loop_thread.run(broker.start())
    try:
        with SyncOsqueueClient(broker.url, transport="rest") as client:
            client.submit_many(JobSpec("bulk", {"n": n}) for n in range(200))
            later = client.submit_many(JobSpec("bulk", {"n": n}, delay=3600) for n in range(60))
            other = client.submit("other", {"n": 0}, delay=3600)
            client.claim("busy-worker", "bulk")
        server = start_dashboard(url=broker.url)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            form = http.get("/jobs", headers=HTML).text
            assert '<option value="delayed">Delayed</option>' in form

            def rows(path: str) -> tuple[list[str], str]:
                page = http.get(path, headers=HTML)
                assert page.status_code == 200
                ids = re.findall(r'<tr data-job-id="([^"]+)">', page.text)
                assert page.text.count("badge badge-delayed") == len(ids)
                return ids, page.text

            first, text = rows("/jobs?status=delayed")
            assert first == [*later, other][:50]
            assert "Showing 1\u201350 of 61" in text and "Page 1 of 2" in text and 'rel="next"' in text
            second, text = rows("/jobs?status=delayed&page=2")
            assert second == [*later, other][50:]
            assert 'rel="next"' not in text

            typed, text = rows("/jobs?status=delayed&type=bulk&page=2")
            assert typed == later[50:]
            assert "Showing 51\u201360" in text and 'rel="next"' not in text
            assert rows("/jobs?status=delayed&type=nothing-of-this")[0] == []
    finally:
        loop_thread.run(broker.stop())


def test_a_dead_letters_detail_page_says_why_and_since_when(
    http: httpx.Client, client: SyncOsqueueClient
) -> None:
    job_id = client.submit("detail-check", {"n": 1}, max_attempts=1)
    (claimed,) = client.claim("detail-worker", "detail-check")
    client.fail(claimed.id, "detail-worker", "KeyError: 'n'")
    dead = client.get_job(job_id)
    assert dead.dead_at is not None
    page = http.get(f"/jobs/{job_id}", headers=HTML)
    assert page.status_code == 200
    assert "badge badge-dead" in page.text and "KeyError: &#39;n&#39;" in page.text
    assert "Reason: max attempts reached" in page.text
    since = datetime.fromtimestamp(dead.dead_at / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(rf"<dt>Dead since</dt><dd><time [^>]*>{since} UTC</time> \([^)]* ago\)</dd>", page.text)
    assert 'action="/dead/requeue"' in page.text and 'action="/dead/delete"' in page.text
    # A live job shows neither.
    live = http.get(f"/jobs/{client.submit('detail-check', {'n': 2})}", headers=HTML).text
    assert "Dead since" not in live and "Reason:" not in live
    client.delete_dead_letters([job_id])
    assert http.get(f"/jobs/{job_id}", headers=HTML).status_code == 404
