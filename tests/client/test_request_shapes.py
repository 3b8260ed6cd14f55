"""What the client puts on the wire and how it reads answers, checked without a broker.

Only the request shapes and the error decoding are tested here (httpx.MockTransport); the
behaviour of the operations is tested against a real broker in test_client_against_broker.py.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import msgspec
import pytest
from osqueue_client import (
    ConnectTransport,
    OsqueueClient,
    RestTransport,
    SyncOsqueueClient,
    WebSocketTransport,
)
from osqueue_proto.v1 import queue_pb2 as pb
from osqueue_types import (
    AuthError,
    ConfigError,
    InvalidRequestError,
    JobNotFoundError,
    NotLeaderError,
    PayloadValidationError,
    TransportConfigError,
    TransportConnectionError,
    TransportRequestError,
)

Handler = Callable[[httpx.Request], httpx.Response]
BROKER = "http://broker.test:8080"


class Email(msgspec.Struct):
    to: str
    subject: str = ""


def mock_http(handler: Handler) -> httpx.AsyncClient:
    """An httpx client whose broker is `handler`; the health check of connect() always passes."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok", "leader": True, "brokerAddress": "b"})
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(route))


def connect_client(handler: Handler, **options: object) -> OsqueueClient:
    http = mock_http(handler)
    transport = ConnectTransport(auth_token="s3cret", http=http)
    return OsqueueClient(BROKER, transport=transport, failover_deadline=0, **options)  # type: ignore[arg-type]


def rest_client(handler: Handler, **options: object) -> OsqueueClient:
    http = mock_http(handler)
    return OsqueueClient(BROKER, transport=RestTransport(http=http), failover_deadline=0, **options)  # type: ignore[arg-type]


def connect_error(code: str, message: str, tag: str | None, leader: str | None = None) -> bytes:
    details = []
    if tag is not None:
        info = pb.ErrorInfo(tag=tag, leader=leader).SerializeToString()
        # Connect leaves out the base64 padding.
        details.append({"type": "osqueue.v1.ErrorInfo", "value": base64.b64encode(info).decode().rstrip("=")})
    return json.dumps({"code": code, "message": message, "details": details}).encode()


async def test_connect_submit_is_a_binary_unary_call_with_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=pb.SubmitJobResponse(job_id="j-1").SerializeToString())

    async with connect_client(handler, registry={"email": Email}, queue="mail") as client:
        job_id = await client.submit(
            "email", {"to": "a@example.com"}, delay=timedelta(seconds=1.5), priority=7
        )

    assert job_id == "j-1"
    (request,) = seen
    assert request.method == "POST"
    assert request.url == BROKER + "/osqueue.v1.QueueService/SubmitJob"
    assert request.headers["content-type"] == "application/proto"
    assert request.headers["connect-protocol-version"] == "1"
    assert request.headers["authorization"] == "Bearer s3cret"
    sent = pb.SubmitJobRequest.FromString(request.content)
    assert json.loads(sent.payload) == {"to": "a@example.com", "subject": ""}
    assert (sent.type, sent.delay_ms, sent.priority, sent.queue) == ("email", 1500, 7, "mail")
    assert not sent.HasField("max_attempts")
    assert len(sent.idempotency_key) == 36


async def test_connect_claim_always_asks_for_the_batch_shape() -> None:
    seen: list[pb.ClaimJobRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(pb.ClaimJobRequest.FromString(request.content))
        job = pb.ClaimedJob(job_id="j", payload=b'{"n": 1}', type="t", attempt=1, max_attempts=3)
        return httpx.Response(200, content=pb.ClaimJobResponse(jobs=[job]).SerializeToString())

    async with connect_client(handler) as client:
        (job,) = await client.claim("w1", "t", wait=0.25)

    assert (seen[0].worker_id, list(seen[0].types), seen[0].wait_ms, seen[0].limit) == ("w1", ["t"], 250, 1)
    assert (job.id, job.type, job.payload, job.raw_payload, job.attempt) == (
        "j",
        "t",
        {"n": 1},
        b'{"n": 1}',
        1,
    )


async def test_connect_complete_many_is_one_call() -> None:
    seen: list[tuple[str, pb.CompleteJobsRequest]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, pb.CompleteJobsRequest.FromString(request.content)))
        answer = pb.CompleteJobsResponse(completed=["a"], not_found=["b"])
        return httpx.Response(200, content=answer.SerializeToString())

    async with connect_client(handler, queue="q1") as client:
        result = await client.complete_many(["a", "b"], "w1")

    ((path, request),) = seen
    assert path == "/osqueue.v1.QueueService/CompleteJobs"
    assert (request.worker_id, list(request.job_ids), request.queue) == ("w1", ["a", "b"], "q1")
    assert (result.completed, result.not_found) == (["a"], ["b"])


@pytest.mark.parametrize(
    ("status", "code", "tag", "expected"),
    [
        (404, "not_found", "JobNotFoundError", JobNotFoundError),
        (401, "unauthenticated", "AuthError", AuthError),
        (400, "invalid_argument", "InvalidRequestError", InvalidRequestError),
    ],
)
async def test_connect_errors_are_rebuilt_from_their_error_info(
    status: int, code: str, tag: str, expected: type[Exception]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=connect_error(code, "nope", tag))

    async with connect_client(handler) as client:
        with pytest.raises(expected, match="nope"):
            await client.complete("j", "w")


async def test_connect_error_without_detail_is_a_transport_request_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=connect_error("internal", "boom", None))

    async with connect_client(handler) as client:
        with pytest.raises(TransportRequestError) as caught:
            await client.stats()
    error = caught.value
    assert (error.method, error.path, error.status, error.remote_tag) == (
        "POST",
        "/osqueue.v1.QueueService/GetStats",
        500,
        "internal",
    )


async def test_not_leader_is_followed_to_the_leader_it_names() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "broker.test":
            return httpx.Response(
                503, content=connect_error("unavailable", "not me", "NotLeaderError", "leader.test:9")
            )
        return httpx.Response(200, content=pb.SubmitJobResponse(job_id="j").SerializeToString())

    async with connect_client(handler) as client:
        assert await client.submit("t", 1) == "j"
        assert client.broker_url == "http://leader.test:9"
    assert hosts == ["broker.test", "leader.test"]


async def test_not_leader_without_a_leader_is_raised_once_the_deadline_passed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=connect_error("unavailable", "electing", "NotLeaderError"))

    async with connect_client(handler) as client:
        with pytest.raises(NotLeaderError) as caught:
            await client.stats()
    assert caught.value.leader is None


async def test_registry_mismatch_sends_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    async with connect_client(handler, registry={"email": Email}) as client:
        with pytest.raises(PayloadValidationError, match="email"):
            await client.submit("email", {"to": 5})
        with pytest.raises(PayloadValidationError):
            await client.submit("other", object())
        with pytest.raises(InvalidRequestError, match="delay"):
            await client.submit("other", 1, delay=-1)


async def test_rest_routes_and_bodies() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url).removeprefix(BROKER), request.content))
        if request.url.path == "/v1/jobs/complete":
            return httpx.Response(200, json={"completed": ["a"], "notFound": ["b"]})
        if request.url.path.endswith(("/heartbeat", "/complete")):
            return httpx.Response(204)
        if request.url.path.endswith("/fail"):
            return httpx.Response(200, json={"deadLettered": True})
        if request.url.path == "/v1/dead-letters/requeue":
            return httpx.Response(200, json={"count": 2})
        stats = {"total": 0, "unclaimed": 0, "inProgress": 0, "completedTotal": 0, "brokerAddress": "b"}
        return httpx.Response(200, json={**stats, "delayed": 0, "deadLetters": 0, "jobs": []})

    async with rest_client(handler, queue="q1") as client:
        await client.heartbeat("a/b", "w")
        await client.complete("j", "w")
        done = await client.complete_many(("a", "b"), "w")
        assert (done.completed, done.not_found) == (["a"], ["b"])
        assert await client.fail("j", "w", ValueError("bad"), retry_delay=2, dead_letter=True)
        assert (await client.list_jobs("unclaimed", "email", offset=5, limit=10)).jobs == []
        assert await client.requeue_dead_letters("all") == 2

    assert seen == [
        ("POST", "/v1/jobs/a%2Fb/heartbeat", b'{"queue":"q1","workerId":"w"}'),
        ("POST", "/v1/jobs/j/complete", b'{"queue":"q1","workerId":"w"}'),
        ("POST", "/v1/jobs/complete", b'{"queue":"q1","workerId":"w","jobIds":["a","b"]}'),
        (
            "POST",
            "/v1/jobs/j/fail",
            b'{"queue":"q1","workerId":"w","error":"ValueError: bad","retryDelayMs":2000,"deadLetter":true}',
        ),
        ("GET", "/v1/jobs?status=unclaimed&type=email&offset=5&limit=10&queue=q1", b""),
        ("POST", "/v1/dead-letters/requeue", b'{"queue":"q1","all":true}'),
    ]


async def test_fail_release_is_sent_by_rest_and_connect() -> None:
    bodies: list[bytes] = []
    requests: list[pb.FailJobRequest] = []

    def rest(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"deadLettered": False})

    def connect(request: httpx.Request) -> httpx.Response:
        requests.append(pb.FailJobRequest.FromString(request.content))
        return httpx.Response(200, content=pb.FailJobResponse().SerializeToString())

    async with rest_client(rest) as client:
        assert not await client.fail("j", "w", "worker shutting down", release=True)
        assert not await client.fail("j", "w")
    async with connect_client(connect) as client:
        assert not await client.fail("j", "w", release=True)
        assert not await client.fail("j", "w")

    assert bodies == [
        b'{"workerId":"w","error":"worker shutting down","release":true}',
        b'{"workerId":"w"}',  # release=False is left out, as the broker defaults it
    ]
    assert [(r.job_id, r.release, r.dead_letter) for r in requests] == [
        ("j", True, False),
        ("j", False, False),
    ]


@pytest.mark.parametrize("make_client", [rest_client, connect_client])
async def test_an_undecodable_answer_body_is_a_transport_request_error(
    make_client: Callable[[Handler], OsqueueClient],
) -> None:
    """httpx.DecodingError (a Content-Encoding that is not what the body is) is typed, not raw."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip at all", headers={"content-encoding": "gzip"})

    async with make_client(handler) as client:
        with pytest.raises(TransportRequestError, match="malformed answer") as caught:
            await client.stats()
    assert caught.value.method in ("GET", "POST")
    assert caught.value.path in ("/v1/stats", "/osqueue.v1.QueueService/GetStats")
    assert isinstance(caught.value.__cause__, httpx.DecodingError)


async def test_state_is_a_get_of_state_with_the_token_and_the_queue() -> None:
    seen: list[tuple[str, str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.headers.get("authorization")))
        return httpx.Response(200, content=b'{"jobs":[]}')

    async with connect_client(handler, queue="emails") as client:
        assert await client.state() == b'{"jobs":[]}'
    assert seen == [("GET", f"{BROKER}/state?queue=emails", "Bearer s3cret")]


async def test_websocket_transport_fetches_the_state_through_the_callers_http_client() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        return httpx.Response(200, content=b'{"jobs":[]}')

    http = mock_http(handler)
    client = OsqueueClient(BROKER, transport=WebSocketTransport(auth_token="s3cret", http=http))
    assert await client.state() == b'{"jobs":[]}'  # no socket needed for GET /state
    await client.aclose()
    assert seen == [(f"{BROKER}/state", "Bearer s3cret")]
    assert http.is_closed  # closed with the transport, as HttpTransport does


class _BrokenBody(httpx.AsyncByteStream):
    """A body that breaks off after its first chunk."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"jobs":['
        raise httpx.ReadError("connection reset")


async def test_state_that_breaks_off_mid_body_is_a_connection_error_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, stream=_BrokenBody())

    transport = RestTransport(http=mock_http(handler))
    client = OsqueueClient(BROKER, transport=transport, failover_deadline=5)
    async with client, client.stream_state() as chunks:
        assert await anext(chunks) == b'{"jobs":['
        with pytest.raises(TransportConnectionError, match="ReadError"):
            await anext(chunks)
    assert calls == 1


async def test_state_error_answers_are_typed_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"_tag": "AuthError", "message": "missing token"})

    async with rest_client(handler) as client:
        with pytest.raises(AuthError, match="missing token"):
            await client.state()


def test_sync_client_calls_after_close_raise_a_typed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"deadLettered": False})

    client = SyncOsqueueClient(BROKER, transport=RestTransport(http=mock_http(handler)), failover_deadline=0)
    assert not client.fail("j", "w", release=True)
    client.close()
    client.close()  # a second close is a no-op
    with pytest.raises(TransportConnectionError, match="closed"):
        client.fail("j", "w")
    with pytest.raises(TransportConnectionError, match="closed"):
        client.stats()
    with pytest.raises(TransportConnectionError, match="closed"), client:
        pass


async def test_rest_error_that_is_not_an_osqueue_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    async with rest_client(handler) as client:
        with pytest.raises(TransportRequestError) as caught:
            await client.get_job("j1")
    error = caught.value
    assert (error.method, error.path, error.status, error.remote_tag) == ("GET", "/v1/jobs/j1", 502, None)
    assert "bad gateway" in error.message


async def test_rest_typed_error_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"_tag": "JobNotFoundError", "message": "no job j1"})

    async with rest_client(handler) as client:
        with pytest.raises(JobNotFoundError, match="no job j1"):
            await client.get_job("j1")


def test_configuration_errors() -> None:
    with pytest.raises(TransportConfigError, match="unknown transport"):
        OsqueueClient(BROKER, transport="grpc")  # type: ignore[arg-type]
    with pytest.raises(TransportConfigError, match="bad broker URL"):
        OsqueueClient("ftp://example.com")
    with pytest.raises(TransportConfigError, match="auth_token"):
        OsqueueClient(BROKER, transport=RestTransport(), auth_token="x")


def test_storage_url_without_the_discovery_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes `import osqueue_storage` fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "osqueue_storage", None)
    with pytest.raises(ConfigError, match=r"osqueue-client\[discovery\]"):
        OsqueueClient(storage="file://./data")
