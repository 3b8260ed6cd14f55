"""The REST front door over real HTTP (httpx against uvicorn): shapes, errors, limits, auth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate
from osqueue_broker import BrokerServer
from osqueue_storage import MemoryBackend, ThrottledBackend
from osqueue_types import StorageBackend

from .conftest import TOKEN, StartBroker, claim, submit


async def test_job_lifecycle_matches_the_typescript_shapes(
    start_broker: StartBroker, storage: StorageBackend
) -> None:
    broker = await start_broker(storage)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        response = await http.post("/v1/jobs", json={"payload": {"to": "a@b.c"}, "type": "email"})
        assert response.status_code == 200
        job_id = response.json()["jobId"]
        assert list(response.json()) == ["jobId"]

        # GET with a content-type header and no body, as the TypeScript client sends it.
        stats = await http.get("/v1/stats", headers={"content-type": "application/json"})
        counters = stats.json()
        assert counters.pop("brokerHeartbeat") > 0  # additive; see test_health_and_state
        assert counters == {
            "total": 1,
            "unclaimed": 1,
            "inProgress": 0,
            "completedTotal": 0,
            "brokerAddress": broker.address,
            "delayed": 0,
            "deadLetters": 0,
        }
        listing = (await http.get("/v1/jobs", headers={"content-type": "application/json"})).json()
        (job,) = listing["jobs"]
        assert job["id"] == job_id and job["payload"] == {"to": "a@b.c"} and job["status"] == "unclaimed"
        assert isinstance(job["createdAt"], int) and job["heartbeat"] == 0 and job["workerId"] is None

        claimed = await claim(http, "w1")
        assert claimed == {
            "jobId": job_id,
            "payload": {"to": "a@b.c"},
            "type": "email",
            "attempt": 1,
            "maxAttempts": 3,
        }
        assert await claim(http, "w2") == {}

        beat = await http.post(f"/v1/jobs/{job_id}/heartbeat", json={"workerId": "w1"})
        assert (beat.status_code, beat.content) == (204, b"")
        job = (await http.get(f"/v1/jobs/{job_id}")).json()
        assert (
            job["status"] == "in_progress" and job["workerId"] == "w1" and isinstance(job["heartbeat"], int)
        )
        assert job["heartbeat"] > 0

        done = await http.post(f"/v1/jobs/{job_id}/complete", json={"workerId": "w1"})
        assert (done.status_code, done.content) == (204, b"")
        stats = (await http.get("/v1/stats")).json()
        assert (stats["total"], stats["completedTotal"]) == (0, 1)

        # Acknowledged means written: the stored queue.json already has it.
        stored = await storage.read("queue.json")
        assert stored is not None and json.loads(stored.data)["completedTotal"] == 1
        assert (await http.get("/state")).content == stored.data


async def test_payload_bytes_are_kept_as_sent(http: httpx.AsyncClient) -> None:
    raw = b'{"payload": {"b": [1, 2.50, "\\u00e9"],   "a": null}, "type": "t"}'
    job_id = (await http.post("/v1/jobs", content=raw, headers={"content-type": "application/json"})).json()[
        "jobId"
    ]
    response = await http.post("/v1/jobs/claim", json={"workerId": "w"})
    assert b'"payload":{"b": [1, 2.50, "\\u00e9"],   "a": null}' in response.content
    assert response.json()["jobId"] == job_id


async def test_chunked_request_body(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"payload": {"x"'
        yield b": 1}}"

    response = await http.post("/v1/jobs", content=chunks())
    assert response.status_code == 200
    assert (await claim(http))["payload"] == {"x": 1}


async def test_batch_submit_is_one_commit(start_broker: StartBroker) -> None:
    storage = MemoryBackend()
    broker = await start_broker(storage)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        writes = storage.writes
        jobs = [{"payload": i, "type": "n"} for i in range(100)]
        response = await http.post("/v1/jobs/batch", json={"jobs": jobs})
        assert response.status_code == 200
        ids = response.json()["jobIds"]
        assert len(set(ids)) == 100
        assert storage.writes == writes + 1
        assert (await http.post("/v1/jobs/batch", json={"jobs": []})).json() == {"jobIds": []}

        batch = await claim(http, limit=30)
        assert [job["jobId"] for job in batch["jobs"]] == ids[:30]
        assert [job["payload"] for job in batch["jobs"]] == list(range(30))
        assert (await claim(http, limit=1000))["jobs"][-1]["jobId"] == ids[-1]
        assert await claim(http, limit=5) == {"jobs": []}


async def test_fail_retry_and_dead_letters(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, {"n": 1}, maxAttempts=2)
    await claim(http)
    response = await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "error": "boom"})
    assert response.json() == {"deadLettered": False}
    job = (await http.get(f"/v1/jobs/{job_id}")).json()
    assert (job["status"], job["lastError"], job["attempts"]) == ("unclaimed", "boom", 1)

    assert (await claim(http))["attempt"] == 2
    response = await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "error": "again"})
    assert response.json() == {"deadLettered": True}
    dead = (await http.get(f"/v1/jobs/{job_id}")).json()
    assert (dead["status"], dead["deadReason"], dead["lastError"]) == (
        "dead_letter",
        "max attempts reached",
        "again",
    )
    assert dead["deadAt"] >= dead["createdAt"]

    other = await submit(http, 2)
    await claim(http)
    response = await http.post(f"/v1/jobs/{other}/fail", json={"workerId": "w1", "deadLetter": True})
    assert response.json() == {"deadLettered": True}

    page = (await http.get("/v1/dead-letters")).json()
    assert page["total"] == 2
    assert [d["job"]["id"] for d in page["deadLetters"]] == [job_id, other]
    assert page["deadLetters"][0]["reason"] and page["deadLetters"][0]["deadAt"] == dead["deadAt"]
    # The listing carries reason and time beside the job, not inside it.
    assert "deadReason" not in page["deadLetters"][0]["job"]
    assert len((await http.get("/v1/dead-letters?offset=1&limit=5")).json()["deadLetters"]) == 1
    assert (await http.get("/v1/stats")).json()["deadLetters"] == 2

    response = await http.post("/v1/dead-letters/requeue", json={"jobIds": [job_id]})
    assert response.json() == {"count": 1}
    assert (await claim(http))["jobId"] == job_id
    live = (await http.get(f"/v1/jobs/{job_id}")).json()
    assert live["status"] == "in_progress" and "deadReason" not in live and "deadAt" not in live
    response = await http.post("/v1/dead-letters/delete", json={"all": True})
    assert response.json() == {"count": 1}
    assert (await http.get("/v1/dead-letters")).json() == {"deadLetters": [], "total": 0}


async def test_fail_with_retry_delay_hides_the_job(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)
    await claim(http)
    await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "retryDelayMs": 60_000})
    assert await claim(http) == {}
    stats = (await http.get("/v1/stats")).json()
    assert (stats["unclaimed"], stats["delayed"]) == (1, 1)


async def test_delay_priority_and_list_filters(http: httpx.AsyncClient) -> None:
    later = await submit(http, "later", type="a", delayMs=60_000)
    low = await submit(http, "low", type="a")
    high = await submit(http, "high", type="b", priority=10)
    listing = (await http.get("/v1/jobs")).json()
    assert (listing["total"], listing["unclaimed"], listing["delayed"]) == (3, 3, 1)
    by_id = {job["id"]: job for job in listing["jobs"]}
    assert by_id[later]["runAt"] > by_id[later]["createdAt"]
    assert by_id[high]["priority"] == 10 and "runAt" not in by_id[low]

    assert (await claim(http))["jobId"] == high
    assert [j["id"] for j in (await http.get("/v1/jobs?type=a")).json()["jobs"]] == [later, low]
    assert [j["id"] for j in (await http.get("/v1/jobs?status=in_progress")).json()["jobs"]] == [high]
    assert len((await http.get("/v1/jobs?offset=1&limit=1")).json()["jobs"]) == 1
    assert (await claim(http, types=["b"])) == {}
    assert (await claim(http, types=["a", "b"]))["jobId"] == low
    assert await claim(http) == {}


async def test_the_delayed_filter_pages_through_jobs_not_due_yet(http: httpx.AsyncClient) -> None:
    ready = await submit(http, 0, type="a")
    later = [await submit(http, n, type="a" if n % 2 else "b", delayMs=60_000) for n in range(5)]
    soon = await submit(http, "soon", type="a", delayMs=1)
    retried = await submit(http, "retried", type="b")
    await claim(http, types=["b"])
    await http.post(f"/v1/jobs/{retried}/fail", json={"workerId": "w1", "retryDelayMs": 60_000})

    def ids(listing: dict[str, Any]) -> list[str]:
        return [job["id"] for job in listing["jobs"]]

    listing = (await http.get("/v1/jobs?status=delayed")).json()
    # Queue order; the job whose delay has run out is unclaimed but no longer delayed.
    assert ids(listing) == [*later, retried]
    assert (listing["total"], listing["unclaimed"], listing["delayed"]) == (8, 8, 6)
    assert all(job["status"] == "unclaimed" and job["runAt"] > job["createdAt"] for job in listing["jobs"])
    assert ids((await http.get("/v1/jobs?status=delayed&offset=2&limit=3")).json()) == later[2:5]
    assert ids((await http.get("/v1/jobs?status=delayed&type=a")).json()) == [later[1], later[3]]
    assert ids((await http.get("/v1/jobs?status=delayed&type=b&offset=1&limit=1")).json()) == [later[2]]
    assert ids((await http.get("/v1/jobs?status=delayed&type=none")).json()) == []
    assert ready in ids((await http.get("/v1/jobs?status=unclaimed")).json())
    assert soon in ids((await http.get("/v1/jobs?status=unclaimed&type=a")).json())
    bad = await http.get("/v1/jobs?status=dead")
    assert (bad.status_code, bad.json()["_tag"]) == (400, "InvalidRequestError")
    assert "delayed" in bad.json()["message"]


async def test_idempotent_retry_returns_the_first_id(http: httpx.AsyncClient) -> None:
    first = await submit(http, {"order": 7}, idempotencyKey="order-7")
    again = await submit(http, {"order": 7}, idempotencyKey="order-7")
    batch = await http.post("/v1/jobs/batch", json={"jobs": [{"payload": 1, "idempotencyKey": "order-7"}]})
    assert first == again == batch.json()["jobIds"][0]
    assert (await http.get("/v1/stats")).json()["total"] == 1


DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_REQUESTS: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/v1/jobs", b'{"payload": {', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"not json", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": nul}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"[1, 2]", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": "\xff"}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": ' + DEEP + b"}", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "maxAttempts": 2**40}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"type": "no payload"}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "maxAttempts": -1}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "maxAttempts": 0}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "maxAttempts": "3"}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "delayMs": -5}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "type": 5}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", {"payload": 1, "queue": "other"}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs?queue=other", {"payload": 1}, 400, "InvalidRequestError"),
    (
        "POST",
        "/v1/jobs/batch",
        {"jobs": [{"payload": 1}, {"payload": 2, "maxAttempts": 0}]},
        400,
        "InvalidRequestError",
    ),
    ("POST", "/v1/jobs/batch", {"jobs": {"payload": 1}}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": ""}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": "w", "limit": 0}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": "w", "limit": 1001}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": "w", "waitMs": -1}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": "w", "waitMs": 60_001}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", {"workerId": "w", "types": "a"}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/nope/heartbeat", {"workerId": "w"}, 404, "JobNotFoundError"),
    ("POST", "/v1/jobs/nope/complete", {"workerId": "w"}, 404, "JobNotFoundError"),
    ("POST", "/v1/jobs/nope/complete", {}, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/nope/fail", {"workerId": "w"}, 404, "JobNotFoundError"),
    ("POST", "/v1/jobs/nope/fail", {"workerId": "w", "retryDelayMs": -1}, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs/nope", None, 404, "JobNotFoundError"),
    ("GET", "/v1/jobs?status=done", None, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?limit=-1", None, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?offset=99999999999999999999", None, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?limit=" + "9" * 5000, None, 400, "InvalidRequestError"),
    ("GET", "/v1/dead-letters?offset=x", None, 400, "InvalidRequestError"),
    ("POST", "/v1/dead-letters/requeue", {}, 400, "InvalidRequestError"),
    ("POST", "/v1/dead-letters/delete", {"jobIds": ["a"], "all": True}, 400, "InvalidRequestError"),
    ("GET", "/v1/nothing-here", None, 404, "InvalidRequestError"),
    ("POST", "/v1/jobs//complete", {"workerId": "w"}, 404, "InvalidRequestError"),
    ("POST", "/v1/jobs/x/complete/more", {"workerId": "w"}, 404, "InvalidRequestError"),
    ("DELETE", "/v1/jobs", None, 405, "InvalidRequestError"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "tag"), BAD_REQUESTS)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    http: httpx.AsyncClient, method: str, path: str, body: Any, status: int, tag: str
) -> None:
    kept = await submit(http, "kept")
    before = await _queue_contents(http)
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    response = await http.request(method, path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()
    assert error["_tag"] == tag and error["message"]
    assert await _queue_contents(http) == before
    assert (await http.get(f"/v1/jobs/{kept}")).status_code == 200


async def _queue_contents(http: httpx.AsyncClient) -> dict[str, Any]:
    """queue.json without the commit bookkeeping (a rejected mutation may still ride a commit)."""
    state: dict[str, Any] = (await http.get("/state")).json()
    return {key: value for key, value in state.items() if key not in ("commitSeq", "brokerHeartbeat")}


async def test_wrong_worker_cannot_complete(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)
    await claim(http, "w1")
    response = await http.post(f"/v1/jobs/{job_id}/complete", json={"workerId": "w2"})
    assert (response.status_code, response.json()["_tag"]) == (404, "JobNotFoundError")


async def test_size_limits(start_broker: StartBroker) -> None:
    broker = await start_broker(max_payload_bytes=1000, max_request_bytes=5000)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        big = {"payload": "x" * 1000}
        response = await http.post("/v1/jobs", json=big)
        assert (response.status_code, response.json()["_tag"]) == (413, "PayloadTooLargeError")
        response = await http.post("/v1/jobs/batch", json={"jobs": [{"payload": "x" * 900}] * 6})
        assert (response.status_code, response.json()["_tag"]) == (413, "PayloadTooLargeError")

        async def endless() -> AsyncIterator[bytes]:
            yield b'{"payload": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        response = await http.post("/v1/jobs", content=endless())
        assert (response.status_code, response.json()["_tag"]) == (413, "PayloadTooLargeError")
        assert (await http.post("/v1/jobs", json={"payload": "x" * 900})).status_code == 200
        assert (await http.get("/v1/stats")).json()["total"] == 1


async def test_auth(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        assert (await http.get("/healthz")).json()["status"] == "ok"
        for method, path in [
            ("GET", "/v1/stats"),
            ("POST", "/v1/jobs"),
            ("GET", "/metrics"),
            ("GET", "/state"),
        ]:
            for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
                response = await http.request(method, path, headers=headers, json={"payload": 1})
                assert (response.status_code, response.json()["_tag"]) == (401, "AuthError")
        good = {"authorization": f"Bearer {TOKEN}"}
        assert (await http.post("/v1/jobs", json={"payload": 1}, headers=good)).status_code == 200
        assert (await http.get("/openapi.json", headers=good)).status_code == 200
        assert (await http.get("/v1/stats", headers=good)).json()["total"] == 1


async def test_health_and_state(broker: BrokerServer, http: httpx.AsyncClient) -> None:
    health = (await http.get("/healthz")).json()
    await submit(http, {"k": "v"})
    state = (await http.get("/state")).json()
    assert state["broker"] == broker.address and state["jobs"][0]["payload"] == {"k": "v"}
    # The leader's lease heartbeat, so a dashboard need not download /state to show it.
    heartbeat = state["brokerHeartbeat"]
    assert health == {
        "status": "ok",
        "leader": True,
        "brokerAddress": broker.address,
        "brokerHeartbeat": heartbeat,
    }
    assert (await http.get("/v1/stats")).json()["brokerHeartbeat"] == heartbeat
    assert (await http.get("/v1/jobs")).json()["brokerHeartbeat"] == heartbeat


async def test_throttle_stats(start_broker: StartBroker, http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/throttle-stats")).json() == {"enabled": False}
    throttled = await start_broker(ThrottledBackend(MemoryBackend(), 6000, 6000))
    async with httpx.AsyncClient(base_url=throttled.url) as other:
        await submit(other, 1)
        stats = (await other.get("/v1/throttle-stats")).json()
    assert stats["enabled"] is True and stats["totalWrites"] >= 2 and stats["totalReads"] >= 1
    assert set(stats) == {
        "enabled",
        "totalReads",
        "throttledReads",
        "totalWrites",
        "throttledWrites",
        "totalDelayMs",
    }


async def test_metrics(http: httpx.AsyncClient) -> None:
    job_id = await submit(http, 1)
    await submit(http, 2, delayMs=60_000)
    await claim(http)
    await http.post(f"/v1/jobs/{job_id}/complete", json={"workerId": "w1"})
    text = (await http.get("/metrics")).text
    for line in [
        "osqueue_jobs_submitted_total 2.0",
        "osqueue_jobs_claimed_total 1.0",
        "osqueue_jobs_completed_total 1.0",
        "osqueue_jobs_failed_total 0.0",
        "osqueue_jobs_expired_total 0.0",
        'osqueue_queue_jobs{status="delayed"} 1.0',
        'osqueue_queue_jobs{status="ready"} 0.0',
        "osqueue_broker_leader 1.0",
        "osqueue_storage_errors_total 0.0",
    ]:
        assert line in text
    assert "osqueue_commit_latency_seconds_bucket" in text and "osqueue_commit_batch_size_count" in text


async def test_metrics_count_expired_jobs(start_broker: StartBroker) -> None:
    broker = await start_broker(job_heartbeat_timeout_ms=50)
    async with httpx.AsyncClient(base_url=broker.url) as http:
        job_id = await submit(http, 1)
        await claim(http)
        # Leases are checked about once a second; the long poll returns when the job is back.
        again = await claim(http, "w2", waitMs=5000)
        assert again["jobId"] == job_id and again["attempt"] == 2
        assert "osqueue_jobs_expired_total 1.0" in (await http.get("/metrics")).text


async def test_openapi_document_is_valid(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    validate(document)
    assert {"/v1/jobs", "/v1/jobs/claim", "/v1/jobs/{id}/complete", "/v1/dead-letters/requeue"} <= set(
        document["paths"]
    )
    schemas = document["components"]["schemas"]
    assert schemas["SubmitJobBody"]["properties"]["maxAttempts"]["anyOf"][0]["minimum"] == 1
    (status,) = [p for p in document["paths"]["/v1/jobs"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["enum"] == ["unclaimed", "in_progress", "delayed"]
    job = schemas["JobReply"]["properties"]
    assert job["deadReason"] == {"type": "string"} and job["deadAt"] == {"type": "integer"}
    assert "brokerHeartbeat" in schemas["StatsReply"]["required"]
    msgspec.json.decode(msgspec.json.encode(document))


async def test_the_starlette_app_alone_serves_the_same_api(broker: BrokerServer) -> None:
    """`server.app` (without the served hot-path shortcut) answers every route the same way."""
    transport = httpx.ASGITransport(app=broker.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://broker") as http:
        job_id = await submit(http, {"via": "asgi"})
        assert (await claim(http))["jobId"] == job_id
        beat = await http.post(f"/v1/jobs/{job_id}/heartbeat", json={"workerId": "w1"})
        assert beat.status_code == 204
        failed = await http.post(f"/v1/jobs/{job_id}/fail", json={"workerId": "w1", "deadLetter": True})
        assert failed.json() == {"deadLettered": True}
        missing = await http.post("/v1/jobs/nope/complete", json={"workerId": "w1"})
        assert (missing.status_code, missing.json()["_tag"]) == (404, "JobNotFoundError")
        assert (await http.post("/v1/jobs/x/unknown-action", json={})).status_code == 404
