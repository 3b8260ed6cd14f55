"""CORS, opt-in: browsers on the configured origins may call every door, hot routes included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import StartBroker

ORIGIN = "https://app.example"
PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, connect-protocol-version",
}


@pytest.fixture
async def cors_http(start_broker: StartBroker) -> AsyncIterator[httpx.AsyncClient]:
    broker = await start_broker(cors_origins=[ORIGIN])
    async with httpx.AsyncClient(base_url=broker.url, headers={"origin": ORIGIN}) as http:
        yield http


async def test_no_cors_headers_unless_configured(http: httpx.AsyncClient) -> None:
    submitted = await http.post("/v1/jobs", json={"payload": 1}, headers={"origin": ORIGIN})
    assert submitted.status_code == 200
    preflight = await http.options("/v1/jobs", headers=PREFLIGHT)
    for response in (submitted, preflight):
        assert "access-control-allow-origin" not in response.headers


async def test_preflight_allows_the_headers_clients_send(cors_http: httpx.AsyncClient) -> None:
    for path in ("/v1/jobs/claim", "/v1/jobs/some-id/complete", "/osqueue.v1.QueueService/ClaimJob"):
        response = await cors_http.options(path, headers=PREFLIGHT)
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "POST" in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "connect-protocol-version"} <= set(allowed.split(", "))


async def test_every_door_answers_an_allowed_origin(cors_http: httpx.AsyncClient) -> None:
    answers = []
    # The hot routes, served without Starlette's middleware stack, and an error from one.
    submitted = await cors_http.post("/v1/jobs", json={"payload": 1})
    job_id = submitted.json()["jobId"]
    answers += [
        submitted,
        await cors_http.post("/v1/jobs/claim", json={"workerId": "w"}),
        await cors_http.post(f"/v1/jobs/{job_id}/complete", json={"workerId": "w"}),
        await cors_http.post(f"/v1/jobs/{job_id}/complete", json={"workerId": "w"}),  # 404
        await cors_http.get("/v1/stats"),
        await cors_http.get("/healthz"),
        await cors_http.post(
            "/osqueue.v1.QueueService/GetStats", json={}, headers={"connect-protocol-version": "1"}
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 204, 404, 200, 200, 200]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == ORIGIN, answer.request.url


async def test_other_origins_are_not_allowed(cors_http: httpx.AsyncClient) -> None:
    other = {"origin": "https://evil.example"}
    response = await cors_http.post("/v1/jobs", json={"payload": 1}, headers=other)
    assert response.status_code == 200  # a browser, not the broker, withholds the answer
    assert "access-control-allow-origin" not in response.headers
    preflight = await cors_http.options("/v1/jobs", headers={**PREFLIGHT, **other})
    assert preflight.status_code == 400


async def test_any_origin(start_broker: StartBroker) -> None:
    broker = await start_broker(cors_origins=["*"])
    async with httpx.AsyncClient(base_url=broker.url) as http:
        response = await http.post("/v1/jobs", json={"payload": 1}, headers={"origin": "https://x.example"})
        assert response.headers["access-control-allow-origin"] == "*"
