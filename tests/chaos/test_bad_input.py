"""Bad input: nothing a client sends makes the broker answer 5xx, crash or lose its typing.

One broker process with an auth token. Schemathesis generates a few hundred requests (valid
and invalid) from the broker's own /openapi.json; every answer must be below 500, and every
error a `{"_tag", "message"}` body. Hand-written cases then cover what generators rarely
reach: malformed and non-UTF-8 JSON, wrong types, 10 MB and 20 MB bodies, deep nesting,
unknown routes, WebSocket garbage frames, corrupt Connect protobuf, missing or wrong tokens.
Last, the broker must still be serving, with no uncaught exception in its log.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from osqueue_broker import build_openapi
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .._brokers import BrokerProcess
from .conftest import write_report

pytestmark = pytest.mark.slow

TOKEN = "chaos-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES_PER_OPERATION = 25  # x 17 operations
MB = 1024 * 1024
CONNECT = "/osqueue.v1.QueueService"
PROTO = {"content-type": "application/proto", "connect-protocol-version": "1"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    env = {
        "STORAGE_URL": "memory://",
        "OSQUEUE_AUTH_TOKEN": TOKEN,
        # Generated claims may ask for a long poll; keep each one short.
        "MAX_WAIT_MS": "50",
    }
    process = BrokerProcess("broker", env, tmp_path_factory.mktemp("bad-input"))
    process.start()
    try:
        asyncio.run(process.wait_serving())
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Status of every generated request, reported when the module is done."""
    seen: Counter[str] = Counter()
    yield seen
    write_report(request.config, "bad_input", {"generated_requests": seen.total(), "by_status": dict(seen)})


# Built in-process so that pytest can make one test per operation at collection time;
# `test_the_served_schema_is_the_one_fuzzed` checks the broker serves exactly this document.
OPENAPI = build_openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


def assert_typed_error(response: httpx.Response | Any) -> None:
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("_tag"), str) and body["_tag"], body
    assert isinstance(body.get("message"), str), body


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_get_5xx(
    case: schemathesis.Case[Any], broker: BrokerProcess, outcomes: Counter[str]
) -> None:
    response = case.call(base_url=broker.url, headers=AUTH, timeout=10)
    outcomes[str(response.status_code)] += 1
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
    if response.status_code >= 400:
        assert_typed_error(response)


async def test_the_served_schema_is_the_one_fuzzed(broker: BrokerProcess) -> None:
    async with httpx.AsyncClient(base_url=broker.url, headers=AUTH, timeout=10) as http:
        served = (await http.get("/openapi.json")).json()
    assert served == json.loads(json.dumps(OPENAPI))


# -- REST ------------------------------------------------------------------------------------

REST_CASES: list[tuple[str, str, bytes | None, int, str]] = [
    # (method, path, body, expected status, expected _tag)
    ("POST", "/v1/jobs", b'{"payload": ', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"\xff\xfe{}", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"[1, 2, 3]", 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": 1, "maxAttempts": "three"}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": 1, "maxAttempts": 0}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": 1, "maxAttempts": 1e309}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": 1, "delayMs": -5}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b'{"payload": 1, "priority": 99999999999999999999999}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs", b"[" * 100_000 + b"]" * 100_000, 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/batch", b'{"jobs": "many"}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", b'{"workerId": 5}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", b'{"workerId": "w", "limit": 0}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", b'{"workerId": "w", "limit": 5000}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/claim", b'{"workerId": "w", "waitMs": -1}', 400, "InvalidRequestError"),
    ("POST", "/v1/jobs/not-a-job/complete", b'{"workerId": "w"}', 404, "JobNotFoundError"),
    ("POST", "/v1/jobs/not-a-job/heartbeat", b"{}", 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?limit=abc", None, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?offset=-1", None, 400, "InvalidRequestError"),
    ("GET", "/v1/jobs?status=exploded", None, 400, "InvalidRequestError"),
    ("GET", "/v1/stats?queue=other", None, 400, "InvalidRequestError"),
    ("GET", "/nope", None, 404, "InvalidRequestError"),
    ("DELETE", "/v1/jobs", None, 405, "InvalidRequestError"),
    ("POST", "/v1/dead-letters/requeue", b'{"all": "yes"}', 400, "InvalidRequestError"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "tag"), REST_CASES)
async def test_rest_rejects_bad_input_with_a_typed_error(
    broker: BrokerProcess, method: str, path: str, body: bytes | None, status: int, tag: str
) -> None:
    async with httpx.AsyncClient(base_url=broker.url, headers=AUTH, timeout=10) as http:
        response = await http.request(
            method, path, content=body, headers={"content-type": "application/json"} if body else {}
        )
    assert (response.status_code, response.json().get("_tag")) == (status, tag), response.text[:500]
    assert_typed_error(response)


@pytest.mark.parametrize("size_mb", [10, 20])
async def test_rest_refuses_huge_bodies(broker: BrokerProcess, size_mb: int) -> None:
    body = json.dumps({"payload": "x" * (size_mb * MB)}).encode()
    async with httpx.AsyncClient(base_url=broker.url, headers=AUTH, timeout=30) as http:
        response = await http.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["_tag"] == "PayloadTooLargeError"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer"}, {"Authorization": f"Basic {TOKEN}"}],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/stats"), ("POST", "/v1/jobs"), ("GET", "/state")])
async def test_rest_without_the_right_token_is_401(
    broker: BrokerProcess, headers: dict[str, str], method: str, path: str
) -> None:
    async with httpx.AsyncClient(base_url=broker.url, timeout=10) as http:
        response = await http.request(
            method, path, headers=headers, json={"payload": 1} if method == "POST" else None
        )
        health = await http.get("/healthz", headers=headers)
    assert response.status_code == 401
    assert response.json()["_tag"] == "AuthError"
    assert health.status_code == 200  # the only route open without a token


# -- WebSocket -------------------------------------------------------------------------------


async def test_ws_garbage_frames_get_protocol_errors_and_the_socket_survives(broker: BrokerProcess) -> None:
    async with connect(broker.url.replace("http", "ws") + "/v1/ws", additional_headers=AUTH) as ws:
        for garbage in (
            "not json",
            "[1, 2]",
            "123",
            '{"id": [], "method": 5}',
            "\ud800".encode("utf-8", "surrogatepass"),
        ):
            await ws.send(garbage)
            answer = json.loads(await ws.recv())
            assert answer["ok"] is False and answer["id"] is None, answer
            assert answer["error"]["_tag"] == "BrokerProtocolError"
        await ws.send(b"\x00\xff\xfe binary junk")
        answer = json.loads(await ws.recv())
        assert answer["ok"] is False and answer["error"]["_tag"] == "BrokerProtocolError"

        await ws.send(json.dumps({"id": "m", "method": "explode", "params": {}}))
        answer = json.loads(await ws.recv())
        assert (answer["id"], answer["ok"]) == ("m", False) and isinstance(answer["error"]["_tag"], str)
        await ws.send(
            json.dumps({"id": "t", "method": "submitJob", "params": {"payload": 1, "maxAttempts": "x"}})
        )
        answer = json.loads(await ws.recv())
        assert (answer["id"], answer["ok"]) == ("t", False)
        assert answer["error"]["_tag"] == "InvalidRequestError"

        await ws.send(json.dumps({"id": "s", "method": "getStats", "params": {}}))
        answer = json.loads(await ws.recv())
        assert (answer["id"], answer["ok"]) == ("s", True)


async def test_ws_needs_the_token(broker: BrokerProcess) -> None:
    async with connect(broker.url.replace("http", "ws") + "/v1/ws") as ws:
        await ws.send(json.dumps({"id": "1", "method": "getStats", "params": {}}))
        assert json.loads(await ws.recv())["error"]["_tag"] == "AuthError"
        await ws.send(json.dumps({"id": "2", "method": "auth", "params": {"token": "wrong"}}))
        assert json.loads(await ws.recv())["error"]["_tag"] == "AuthError"
        await ws.send(json.dumps({"id": "3", "method": "auth", "params": {"token": TOKEN}}))
        assert json.loads(await ws.recv())["ok"] is True
        await ws.send(json.dumps({"id": "4", "method": "getStats", "params": {}}))
        assert json.loads(await ws.recv())["ok"] is True


async def test_ws_oversized_frame_closes_only_that_socket(broker: BrokerProcess) -> None:
    async with connect(
        broker.url.replace("http", "ws") + "/v1/ws", additional_headers=AUTH, max_size=None
    ) as ws:
        await ws.send(
            json.dumps({"id": "big", "method": "submitJob", "params": {"payload": "x" * (20 * MB)}})
        )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=30)
    assert await broker.health() is not None


# -- Connect ---------------------------------------------------------------------------------

CONNECT_CASES: list[tuple[str, dict[str, str], bytes, str]] = [
    # (method, extra headers, body, expected Connect code)
    ("SubmitJob", PROTO, b"\xff\xff\xff\xff\x0f garbage", "invalid_argument"),
    ("ClaimJob", PROTO, b"\x0a\xff\xff\xff\xff", "invalid_argument"),
    ("SubmitJob", {"content-type": "application/json"}, b'{"payload": ', "invalid_argument"),
    ("SubmitJob", {"content-type": "application/json"}, b'{"payload": 5}', "invalid_argument"),
    ("SubmitJob", {**PROTO, "content-encoding": "gzip"}, b"not gzip at all", "invalid_argument"),
]


@pytest.mark.parametrize(("method", "headers", "body", "code"), CONNECT_CASES)
async def test_connect_rejects_corrupt_messages(
    broker: BrokerProcess, method: str, headers: dict[str, str], body: bytes, code: str
) -> None:
    async with httpx.AsyncClient(base_url=broker.url, headers=AUTH, timeout=10) as http:
        response = await http.post(f"{CONNECT}/{method}", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["code"] == code, response.text[:300]


async def test_connect_unknown_method_is_404(broker: BrokerProcess) -> None:
    # Connect clients read a bare 404 as `unimplemented`.
    async with httpx.AsyncClient(base_url=broker.url, headers=AUTH, timeout=10) as http:
        response = await http.post(f"{CONNECT}/Explode", content=b"", headers=PROTO)
    assert response.status_code == 404


async def test_connect_refuses_huge_and_unauthenticated_requests(broker: BrokerProcess) -> None:
    payload = json.dumps({"payload": "x" * (10 * MB)}).encode()
    async with httpx.AsyncClient(base_url=broker.url, timeout=30) as http:
        huge = await http.post(
            f"{CONNECT}/SubmitJob", content=payload, headers={**AUTH, "content-type": "application/json"}
        )
        huge_gzip = await http.post(
            f"{CONNECT}/SubmitJob",
            content=gzip.compress(b"\x0a" + b"\xff" * 5 + b"x" * (20 * MB)),
            headers={**AUTH, **PROTO, "content-encoding": "gzip"},
        )
        anonymous = await http.post(f"{CONNECT}/GetStats", content=b"", headers=PROTO)
    # Connect's HTTP status for resource_exhausted is 429.
    assert (huge.status_code, huge.json()["code"]) == (429, "resource_exhausted"), huge.text[:300]
    assert 400 <= huge_gzip.status_code < 500, huge_gzip.text[:300]
    assert huge_gzip.json()["code"] in ("resource_exhausted", "invalid_argument"), huge_gzip.text[:300]
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")


# -- afterwards --------------------------------------------------------------------------------


async def test_broker_survived_everything(broker: BrokerProcess) -> None:
    health = await broker.health()
    assert health is not None and health["leader"] is True
    log = broker.log_tail(chars=10_000_000)
    assert "Traceback" not in log, log[-5000:]
