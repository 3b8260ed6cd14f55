"""The client against a real broker (uvicorn on a free port), once per transport."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest
from osqueue_broker import BrokerServer
from osqueue_client import (
    Call,
    ClaimJobs,
    GetStats,
    JobSpec,
    OsqueueClient,
    RestTransport,
    SyncOsqueueClient,
    Transport,
    TransportName,
    WebSocketTransport,
)
from osqueue_storage import FileBackend
from osqueue_types import (
    DEFAULT_QUEUE,
    AuthError,
    CompleteManyResult,
    InvalidRequestError,
    JobNotFoundError,
    JobStatus,
    PayloadTooLargeError,
    PayloadValidationError,
    TransportConfigError,
    TransportConnectionError,
)
from websockets.asyncio.server import ServerConnection, serve

from .conftest import MakeClient, StartBroker
from .proxy import TcpProxy

R = TypeVar("R")


class Email(msgspec.Struct):
    to: str
    subject: str = ""


async def test_submit_claim_heartbeat_complete(client: OsqueueClient) -> None:
    job_id = await client.submit("email", {"to": "a@example.com"}, max_attempts=5)
    stats = await client.stats()
    assert (stats.total, stats.unclaimed, stats.in_progress) == (1, 1, 0)

    (job,) = await client.claim("w1")
    assert (job.id, job.type, job.payload, job.attempt, job.max_attempts) == (
        job_id,
        "email",
        {"to": "a@example.com"},
        1,
        5,
    )
    assert job.payload_error is None
    assert await client.claim("w2") == []

    await client.heartbeat(job.id, "w1")
    info = await client.get_job(job.id)
    assert (info.status, info.worker_id, info.attempts) == (JobStatus.IN_PROGRESS, "w1", 1)
    assert info.heartbeat > 0

    await client.complete(job.id, "w1")
    stats = await client.stats()
    assert (stats.total, stats.completed_total) == (0, 1)
    with pytest.raises(JobNotFoundError):
        await client.get_job(job.id)


async def test_complete_many_completes_a_claimed_batch(client: OsqueueClient) -> None:
    ids = await client.submit_many([JobSpec("t", n) for n in range(5)])
    batch = [job.id for job in await client.claim("w1", limit=4)]
    (other,) = await client.claim("w2")
    assert (batch, other.id) == (ids[:4], ids[4])
    unknown = str(uuid.uuid4())
    result = await client.complete_many([batch[1], other.id, unknown, batch[0], batch[1]], "w1")
    assert result == CompleteManyResult([batch[1], batch[0]], not_found=[other.id, unknown, batch[1]])
    stats = await client.stats()
    assert (stats.total, stats.in_progress, stats.completed_total) == (3, 3, 2)
    assert await client.complete_many(batch[2:], "w1") == CompleteManyResult(batch[2:], [])
    assert (await client.get_job(other.id)).worker_id == "w2"
    for bad in ([], [unknown] * 1001):
        with pytest.raises(InvalidRequestError):
            await client.complete_many(bad, "w1")
    assert (await client.stats()).completed_total == 4


async def test_submit_many_list_and_filters(client: OsqueueClient) -> None:
    ids = await client.submit_many(
        [
            JobSpec("a", {"n": 1}),
            JobSpec("b", [1, 2], priority=5),
            JobSpec("a", "three", delay=timedelta(minutes=5)),
        ]
    )
    assert len(set(ids)) == 3
    assert await client.submit_many([]) == []

    listing = await client.list_jobs()
    assert (listing.total, listing.unclaimed, listing.delayed) == (3, 3, 1)
    assert {job.id: job.payload for job in listing.jobs} == {
        ids[0]: {"n": 1},
        ids[1]: [1, 2],
        ids[2]: "three",
    }
    assert [job.id for job in (await client.list_jobs(type="a")).jobs] == [ids[0], ids[2]]
    assert len((await client.list_jobs(limit=1)).jobs) == 1
    by_id = {job.id: job for job in listing.jobs}
    assert by_id[ids[1]].priority == 5
    run_at = by_id[ids[2]].run_at
    assert run_at is not None and run_at > time.time() * 1000
    assert by_id[ids[0]].heartbeat == 0 and by_id[ids[0]].worker_id is None

    # Higher priority first; the delayed job is not claimable yet.
    claimed = await client.claim("w", limit=10)
    assert [job.id for job in claimed] == [ids[1], ids[0]]
    assert len((await client.list_jobs(status=JobStatus.IN_PROGRESS)).jobs) == 2


async def test_the_delayed_filter(client: OsqueueClient) -> None:
    ready = await client.submit("a", 0)
    later = await client.submit_many([JobSpec("a" if n % 2 else "b", n, delay=3600) for n in range(5)])
    retried = await client.submit("b", "retried")
    await client.claim("w", "b")
    await client.fail(retried, "w", "later", retry_delay=3600)

    listing = await client.list_jobs(status="delayed")
    assert [job.id for job in listing.jobs] == [*later, retried]  # queue order
    assert (listing.total, listing.unclaimed, listing.delayed) == (7, 7, 6)
    assert all(job.status == JobStatus.UNCLAIMED and job.run_at for job in listing.jobs)
    paged = await client.list_jobs(status="delayed", offset=1, limit=2)
    assert [job.id for job in paged.jobs] == later[1:3]
    typed = await client.list_jobs(status="delayed", type="b", offset=1)
    assert [job.id for job in typed.jobs] == [later[2], later[4], retried]
    assert (await client.list_jobs(status="delayed", type="c")).jobs == []
    assert ready in [job.id for job in (await client.list_jobs(status=JobStatus.UNCLAIMED)).jobs]
    with pytest.raises(InvalidRequestError, match="delayed"):
        await client.list_jobs(status="dead_letter")  # type: ignore[arg-type]  # the broker refuses it too


async def test_a_dead_letter_read_by_id_says_why_and_when(client: OsqueueClient) -> None:
    job_id = await client.submit("t", {"x": 1}, max_attempts=1)
    (job,) = await client.claim("w")
    live = await client.get_job(job_id)
    assert (live.dead_reason, live.dead_at) == (None, None)
    before = int(time.time() * 1000)
    assert await client.fail(job.id, "w", "boom")
    dead = await client.get_job(job_id)
    (letter,) = (await client.dead_letters()).dead_letters
    assert (dead.status, dead.dead_reason, dead.dead_at, dead.last_error) == (
        "dead_letter",
        "max attempts reached",
        letter.dead_at,
        "boom",
    )
    assert dead.dead_at is not None and before <= dead.dead_at <= time.time() * 1000
    # The listing's jobs leave them out: the letter carries reason and time itself.
    assert (letter.reason, letter.job.dead_reason, letter.job.dead_at) == ("max attempts reached", None, None)


async def test_stats_carry_the_leaders_heartbeat_and_state_is_queue_json(
    client: OsqueueClient, broker: BrokerServer
) -> None:
    job_id = await client.submit("t", {"k": "v"})
    stats = await client.stats()
    state = msgspec.json.decode(await client.state())
    assert stats.broker_address == broker.address == state["broker"]
    assert 0 < stats.broker_heartbeat <= state["brokerHeartbeat"] <= time.time() * 1000
    assert (await client.list_jobs()).broker_heartbeat >= stats.broker_heartbeat
    assert [job["id"] for job in state["jobs"]] == [job_id]
    async with client.stream_state() as chunks:
        streamed = b"".join([chunk async for chunk in chunks])
    assert msgspec.json.decode(streamed)["jobs"] == state["jobs"]


async def test_the_raw_state_of_a_large_queue_streams_in_chunks(client: OsqueueClient) -> None:
    await client.submit_many([JobSpec("t", {"n": n, "pad": "x" * 200}) for n in range(1000)])
    sizes = []
    async with client.stream_state() as chunks:
        async for chunk in chunks:
            sizes.append(len(chunk))
    assert sum(sizes) > 200_000 and len(sizes) > 1


async def test_state_follows_a_standby_to_the_leader(
    start_broker: StartBroker, transport: TransportName
) -> None:
    leader = await start_broker()
    standby = await start_broker(storage=leader.storage)
    async with OsqueueClient(standby.url, transport=transport) as client:
        assert msgspec.json.decode(await client.state())["broker"] == leader.address
        assert client.broker_url == leader.url


async def test_every_call_after_aclose_raises(make_client: MakeClient, transport: TransportName) -> None:
    client = make_client()
    await client.submit("t", 1)
    await client.aclose()
    await client.aclose()  # a second aclose is a no-op
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.submit("t", 2),
        lambda: client.claim("w"),
        client.stats,
        client.list_jobs,
        client.connect,
        client.reconnect,
        client.state,
    ]
    for call in calls:
        with pytest.raises(TransportConnectionError, match="this OsqueueClient is closed; create a new one"):
            await call()
    with pytest.raises(TransportConnectionError, match="this OsqueueClient is closed"):
        async with client.stream_state():
            pass
    if transport == "ws":
        # No socket was opened again behind the closed client's back.
        assert isinstance(client._transport, WebSocketTransport) and client._transport._session is None


async def test_a_call_in_flight_when_the_client_closes_raises(
    make_client: MakeClient, transport: TransportName
) -> None:
    client = make_client()
    await client.connect()
    parked = asyncio.create_task(client.claim("w", wait=5))
    await asyncio.sleep(0.2)
    await client.aclose()
    with pytest.raises(TransportConnectionError, match="this OsqueueClient is closed"):
        await asyncio.wait_for(parked, 10)


async def test_claim_by_type(client: OsqueueClient) -> None:
    await client.submit("a", 1)
    b = await client.submit("b", 2)
    (job,) = await client.claim("w", ["b", "c"])
    assert job.id == b


async def test_fail_retry_and_dead_letters(client: OsqueueClient) -> None:
    job_id = await client.submit("t", {"x": 1}, max_attempts=2)
    (job,) = await client.claim("w")
    assert not await client.fail(job.id, "w", "boom")
    (again,) = await client.claim("w")
    assert (again.id, again.attempt) == (job_id, 2)
    assert await client.fail(again.id, "w", RuntimeError("boom twice"))

    letters = await client.dead_letters()
    assert letters.total == 1
    (letter,) = letters.dead_letters
    assert (letter.job.id, letter.job.payload) == (job_id, {"x": 1})
    assert letter.job.last_error == "RuntimeError: boom twice"
    assert (await client.stats()).dead_letters == 1
    dead = await client.get_job(job_id)
    assert (dead.status, dead.last_error) == ("dead_letter", "RuntimeError: boom twice")

    assert await client.requeue_dead_letters([job_id]) == 1
    (requeued,) = await client.claim("w")
    assert await client.fail(requeued.id, "w", "undecodable", dead_letter=True)
    assert await client.delete_dead_letters("all") == 1
    assert (await client.dead_letters()).total == 0
    assert await client.requeue_dead_letters("all") == 0


async def test_fail_with_retry_delay(client: OsqueueClient) -> None:
    await client.submit("t", 1)
    (job,) = await client.claim("w")
    await client.fail(job.id, "w", "later", retry_delay=timedelta(minutes=1))
    assert await client.claim("w") == []
    info = await client.get_job(job.id)
    assert info.last_error == "later"
    assert info.run_at is not None and info.run_at > time.time() * 1000 + 30_000


async def test_typed_registry(make_client: MakeClient) -> None:
    async with make_client(registry={"email": Email}) as typed, make_client() as plain:
        await typed.submit("email", Email(to="a@example.com", subject="hi"))
        await typed.submit("email", {"to": "b@example.com"})
        with pytest.raises(PayloadValidationError):
            await typed.submit("email", {"subject": "no recipient"})
        # A producer without the registry can still send a payload the type rejects.
        bad = await plain.submit("email", {"to": 42})

        first, second, third = await typed.claim("w", limit=3)
        assert first.payload == Email(to="a@example.com", subject="hi")
        assert second.payload == Email(to="b@example.com")
        assert (third.id, third.payload, third.raw_payload) == (bad, None, b'{"to":42}')
        assert isinstance(third.payload_error, PayloadValidationError)
        assert await typed.fail(third.id, "w", third.payload_error, dead_letter=True)


async def test_errors(client: OsqueueClient, make_client: MakeClient) -> None:
    with pytest.raises(JobNotFoundError):
        await client.complete(str(uuid.uuid4()), "w")
    with pytest.raises(JobNotFoundError):
        await client.heartbeat(str(uuid.uuid4()), "w")
    job_id = await client.submit("t", 1)
    (job,) = await client.claim("w1")
    with pytest.raises(JobNotFoundError):
        await client.complete(job.id, "someone-else")
    with pytest.raises(InvalidRequestError):
        await client.submit("t", 1, max_attempts=0)
    with pytest.raises(InvalidRequestError):
        await client.claim("w", limit=0)
    with pytest.raises(InvalidRequestError):
        await client.claim("", limit=1)
    with pytest.raises(PayloadTooLargeError):
        await client.submit("t", "x" * (1024 * 1024 + 1))
    async with make_client(queue="elsewhere") as other:
        with pytest.raises(InvalidRequestError):
            await other.stats()
    assert (await client.get_job(job_id)).status == JobStatus.IN_PROGRESS


async def test_auth(start_broker: StartBroker, transport: TransportName) -> None:
    broker = await start_broker(auth_token="s3cret")
    async with OsqueueClient(broker.url, transport=transport, auth_token="s3cret") as good:
        await good.submit("t", 1)
        (job,) = await good.claim("w")
        for token in (None, "wrong"):
            with pytest.raises(AuthError):
                async with OsqueueClient(broker.url, transport=transport, auth_token=token) as bad:
                    await bad.complete_many([job.id], "w")
        assert (await good.complete_many([job.id], "w")).completed == [job.id]
        assert msgspec.json.decode(await good.state())["completedTotal"] == 1
        async with OsqueueClient(broker.url, transport=transport, auth_token="wrong") as bad:
            with pytest.raises(AuthError):
                await bad.state()


async def test_idempotency_key(client: OsqueueClient) -> None:
    first = await client.submit("t", 1, idempotency_key="order-17")
    assert await client.submit("t", 1, idempotency_key="order-17") == first
    assert (await client.stats()).total == 1


async def test_long_poll_claim(client: OsqueueClient) -> None:
    started = time.monotonic()
    assert await client.claim("w", wait=0.3) == []
    assert time.monotonic() - started >= 0.25

    async def submit_later() -> str:
        await asyncio.sleep(0.2)
        return await client.submit("t", "late")

    started = time.monotonic()
    claimed, job_id = await asyncio.gather(client.claim("w", wait=10), submit_later())
    assert [job.id for job in claimed] == [job_id]
    assert time.monotonic() - started < 3


async def test_many_requests_in_flight(client: OsqueueClient) -> None:
    ids = await asyncio.gather(*(client.submit("t", n) for n in range(100)))
    assert len(set(ids)) == 100
    assert (await client.stats()).total == 100


async def test_retry_after_a_lost_answer_does_not_duplicate(
    broker: BrokerServer, transport: TransportName
) -> None:
    proxy = TcpProxy(broker.url)
    await proxy.start()
    try:
        async with OsqueueClient(proxy.url, transport=transport, failover_deadline=10) as client:
            await client.stats()  # the WebSocket is open before its answers start getting lost
            proxy.lose_next_answer()
            job_id = await client.submit("t", "once")
            listing = await client.list_jobs()
            assert [job.id for job in listing.jobs] == [job_id]
    finally:
        await proxy.aclose()


async def test_reconnects_after_the_connection_drops(broker: BrokerServer, transport: TransportName) -> None:
    proxy = TcpProxy(broker.url)
    await proxy.start()
    try:
        async with OsqueueClient(proxy.url, transport=transport, failover_deadline=10) as client:
            await client.submit("t", 1)
            proxy.drop_all()
            await client.submit("t", 2)
            proxy.drop_all()
            (job,) = await client.claim("w")
            await client.complete(job.id, "w")
            assert (await client.stats()).total == 1
        assert proxy.connections >= 2
    finally:
        await proxy.aclose()


async def test_reconnect_keeps_the_client_working(broker: BrokerServer, transport: TransportName) -> None:
    proxy = TcpProxy(broker.url)
    await proxy.start()
    try:
        async with OsqueueClient(proxy.url, transport=transport, failover_deadline=10) as client:
            first = await client.submit("t", 1)
            await client.reconnect()
            assert client.broker_url == proxy.url
            (job,) = await client.claim("w")
            await client.complete(job.id, "w")
            assert job.id == first

            # A long poll in flight across a reconnect still gets its job: over HTTP it keeps
            # its own connection; over WebSocket it fails with the old socket and is retried.
            traffic = asyncio.create_task(proxy.wait_for_traffic())
            await asyncio.sleep(0)
            waiting = asyncio.create_task(client.claim("w", wait=10))
            await traffic
            sockets = proxy.connections
            await client.reconnect()
            if transport == "ws":
                assert proxy.connections == sockets + 1  # one fresh socket, shared by all calls
            second = await client.submit("t", 2)
            assert [job.id for job in await asyncio.wait_for(waiting, timeout=5)] == [second]
            await client.complete(second, "w")
            await client.reconnect()
            await client.reconnect()
            stats = await client.stats()
            assert (stats.total, stats.completed_total) == (0, 2)
    finally:
        await proxy.aclose()


async def test_reconnect_finds_the_new_leader_in_storage(
    start_broker: StartBroker, transport: TransportName, tmp_path: Path
) -> None:
    fast = {"heartbeat_interval_ms": 100, "heartbeat_timeout_ms": 500}
    leader = await start_broker(FileBackend(tmp_path), **fast)
    standby = await start_broker(FileBackend(tmp_path), **fast)
    async with OsqueueClient(
        storage=f"file://{tmp_path}", transport=transport, failover_deadline=10
    ) as client:
        first = await client.submit("t", 1)
        await leader.stop()
        deadline = time.monotonic() + 10
        while not standby.is_leader:
            assert time.monotonic() < deadline, "the standby did not take over"
            await asyncio.sleep(0.05)
        # No call failed yet: reconnect() alone reads the new leader's address from storage.
        assert client.broker_url == leader.url
        await client.reconnect()
        assert client.broker_url == standby.url
        second = await client.submit("t", 2)
        assert [job.id for job in await client.claim("w", limit=5)] == [first, second]


async def test_websocket_request_without_an_answer_times_out() -> None:
    async def never_answer(connection: ServerConnection) -> None:
        async for _ in connection:
            pass

    async with serve(never_answer, "127.0.0.1", 0) as server:
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with OsqueueClient(url, transport="ws", timeout=0.2, failover_deadline=0) as client:
            started = time.monotonic()
            with pytest.raises(TransportConnectionError, match=r"no answer to getStats within 0\.2s"):
                await client.stats()
            assert 0.15 < time.monotonic() - started < 2
        # With a failover deadline the timed-out request is retried until the deadline, then raised.
        async with OsqueueClient(url, transport="ws", timeout=0.2, failover_deadline=0.6) as client:
            started = time.monotonic()
            with pytest.raises(TransportConnectionError, match=r"no answer to submitJob .* of failover"):
                await client.submit("t", 1)
            assert 0.55 < time.monotonic() - started < 3


async def test_websocket_timeout_leaves_the_socket_usable(broker: BrokerServer) -> None:
    proxy = TcpProxy(broker.url)
    await proxy.start()
    transport = WebSocketTransport()
    try:
        # The broker holds this long poll for 1 s; the caller waits 0.2 s for it.
        claim = ClaimJobs(worker_id="w", types=None, wait_ms=1000, limit=1, queue=DEFAULT_QUEUE)
        with pytest.raises(TransportConnectionError, match=r"no answer to claimJob within 0\.2s"):
            await transport.call(proxy.url, claim, 0.2)
        await asyncio.sleep(1.0)  # the late, empty answer arrives for a request nobody waits for
        stats = await transport.call(proxy.url, GetStats(queue=DEFAULT_QUEUE), 5)
        assert (stats.total, stats.in_progress) == (0, 0)
        assert proxy.connections == 1
    finally:
        await transport.aclose()
        await proxy.aclose()


async def test_gives_up_after_the_failover_deadline(transport: TransportName, unused_url: str) -> None:
    client = OsqueueClient(unused_url, transport=transport, failover_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(TransportConnectionError, match="failover"):
        async with client:
            pass
    assert 0.45 < time.monotonic() - started < 5

    # Without connect(): the first call fails the same way, at once with no failover deadline.
    client = OsqueueClient(unused_url, transport=transport, failover_deadline=0)
    try:
        with pytest.raises(TransportConnectionError):
            await client.submit("t", 1)
    finally:
        await client.aclose()


async def test_discovery_from_storage(broker: BrokerServer, transport: TransportName) -> None:
    async with OsqueueClient(storage=broker.storage, transport=transport) as client:
        assert client.broker_url == broker.url
        await client.submit("t", 1)
        assert (await client.stats()).total == 1


async def test_follows_not_leader_to_the_leader(start_broker: StartBroker, transport: TransportName) -> None:
    leader = await start_broker()
    standby = await start_broker(storage=leader.storage)
    assert leader.is_leader and not standby.is_leader
    async with OsqueueClient(standby.url, transport=transport) as client:
        job_id = await client.submit("t", 1)
        assert client.broker_url == leader.url
        (job,) = await client.claim("w")
        assert job.id == job_id


async def test_fails_over_to_the_standby_when_the_leader_stops(
    start_broker: StartBroker, transport: TransportName, tmp_path: Path
) -> None:
    fast = {"heartbeat_interval_ms": 100, "heartbeat_timeout_ms": 500}
    leader = await start_broker(FileBackend(tmp_path), **fast)
    standby = await start_broker(FileBackend(tmp_path), **fast)
    assert leader.is_leader and not standby.is_leader
    async with OsqueueClient(
        storage=f"file://{tmp_path}", transport=transport, failover_deadline=10
    ) as client:
        assert client.broker_url == leader.url
        first = await client.submit("t", 1)
        await leader.stop()
        second = await client.submit("t", 2)
        assert client.broker_url == standby.url
        assert [job.id for job in await client.claim("w", limit=5)] == [first, second]


async def test_requests_in_flight_survive_a_dropped_connection(
    broker: BrokerServer, transport: TransportName
) -> None:
    proxy = TcpProxy(broker.url)
    await proxy.start()
    try:
        async with OsqueueClient(proxy.url, transport=transport, failover_deadline=10) as client:
            connections = proxy.connections
            submits = [asyncio.create_task(client.submit("t", n)) for n in range(50)]
            await proxy.wait_for_traffic()
            proxy.drop_all()
            ids = await asyncio.gather(*submits)
            # Retried submits kept their idempotency keys: no job was added twice.
            assert len(set(ids)) == 50
            assert (await client.stats()).total == 50
            assert proxy.connections > connections
    finally:
        await proxy.aclose()


class CountingTransport(Transport):
    """A custom adapter: counts the operations it carries over the REST transport."""

    def __init__(self) -> None:
        self.inner = RestTransport()
        self.methods: list[str] = []

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        self.methods.append(request.method)
        return await self.inner.call(broker_url, request, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_custom_transport(broker: BrokerServer) -> None:
    counting = CountingTransport()
    async with OsqueueClient(broker.url, transport=counting) as client:
        await client.submit("t", 1)
        (job,) = await client.claim("w")
        await client.complete(job.id, "w")
        assert (await client.complete_many([job.id], "w")).not_found == [job.id]
        with pytest.raises(TransportConfigError, match="CountingTransport does not fetch the raw state"):
            await client.state()
    assert counting.methods == ["submitJob", "claimJob", "completeJob", "completeJobs"]


async def test_sync_client(broker: BrokerServer, transport: TransportName) -> None:
    def scenario() -> None:
        with SyncOsqueueClient(broker.url, transport=transport, registry={"email": Email}) as client:
            job_id = client.submit("email", Email(to="x@example.com"))
            assert client.submit_many([JobSpec("other", 1)])
            (job,) = client.claim("w", "email")
            assert (job.id, job.payload) == (job_id, Email(to="x@example.com"))
            client.heartbeat(job.id, "w")
            client.complete(job.id, "w")
            assert client.stats().completed_total == 1
            assert client.complete_many([job.id, "nope"], "w").not_found == [job.id, "nope"]
            assert [j.type for j in client.list_jobs().jobs] == ["other"]
            assert client.stats().broker_heartbeat > 0
            assert [job["type"] for job in msgspec.json.decode(client.state())["jobs"]] == ["other"]
            with pytest.raises(JobNotFoundError):
                client.get_job(job_id)
            # One client shared by many threads, as in a threaded WSGI server.
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(lambda n: client.submit("other", n), range(40)))
            assert len(set(ids)) == 40

    # The broker runs on this test's event loop; the blocking client runs beside it.
    await asyncio.to_thread(scenario)


async def test_sync_client_fail_retry_and_dead_letters(
    broker: BrokerServer, transport: TransportName
) -> None:
    def scenario() -> None:
        with SyncOsqueueClient(broker.url, transport=transport) as client:
            retried = client.submit("resize", {"n": 1}, max_attempts=2)
            doomed = client.submit("resize", {"n": 2}, max_attempts=5)
            first, second = client.claim("w", limit=2)
            assert (first.id, second.id) == (retried, doomed)
            assert client.fail(retried, "w", "boom") is False  # attempts remain: back on the queue
            assert client.fail(doomed, "w", ValueError("bad image"), dead_letter=True) is True
            (again,) = client.claim("w")
            assert (again.id, again.attempt) == (retried, 2)
            client.reconnect()  # a fresh connection in the middle of a job changes nothing
            assert client.fail(retried, "w", RuntimeError("boom twice")) is True  # its last attempt

            letters = client.dead_letters()
            assert letters.total == 2
            by_id = {letter.job.id: letter for letter in letters.dead_letters}
            assert set(by_id) == {retried, doomed}
            assert (by_id[doomed].reason, by_id[doomed].job.attempts) == ("dead-lettered by worker", 1)
            assert by_id[doomed].job.last_error == "ValueError: bad image"
            assert (by_id[retried].reason, by_id[retried].job.attempts) == ("max attempts reached", 2)
            assert by_id[retried].job.last_error == "RuntimeError: boom twice"
            assert by_id[retried].job.payload == {"n": 1}
            page = client.dead_letters(offset=1, limit=1)
            assert (page.total, len(page.dead_letters)) == (2, 1)
            stats = client.stats()
            assert (stats.total, stats.dead_letters, stats.completed_total) == (0, 2, 0)

            assert client.requeue_dead_letters([doomed]) == 1
            (requeued,) = client.claim("w")
            assert (requeued.id, requeued.attempt) == (doomed, 1)
            client.complete(requeued.id, "w")
            assert client.delete_dead_letters("all") == 1
            assert client.dead_letters().total == 0

    await asyncio.to_thread(scenario)
