"""Two brokers on one storage: the standby redirects to the leader on every door, then takes over."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import osqueue_proto as pb
import pytest
import websockets
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from osqueue_broker import BrokerServer
from osqueue_storage import MemoryBackend
from osqueue_types import QUEUE_STATE_KEY, StorageBackend, decode_state, encode_state

from .conftest import StartBroker, claim, submit

FAST = {"heartbeat_interval_ms": 150, "heartbeat_timeout_ms": 600}


async def wait_for_leader(broker: BrokerServer, timeout_s: float = 5) -> float:
    started = time.perf_counter()
    while not broker.is_leader:
        assert time.perf_counter() - started < timeout_s, "standby did not take over"
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def test_standby_redirects_then_takes_over(start_broker: StartBroker, storage: StorageBackend) -> None:
    leader = await start_broker(storage, **FAST)
    standby = await start_broker(storage, **FAST)
    assert leader.is_leader and not standby.is_leader

    async with (
        httpx.AsyncClient(base_url=leader.url) as to_leader,
        httpx.AsyncClient(base_url=standby.url) as to_standby,
    ):
        acked = [await submit(to_leader, i) for i in range(5)]
        assert (await to_standby.get("/healthz")).json() == {
            "status": "ok",
            "leader": False,
            "brokerAddress": standby.address,
        }
        for method, path, body in [
            ("POST", "/v1/jobs", {"payload": 1}),
            ("POST", "/v1/jobs/claim", {"workerId": "w"}),
            ("GET", "/v1/stats", None),
            ("GET", "/v1/jobs", None),
            ("GET", "/state", None),
        ]:
            response = await to_standby.request(method, path, json=body)
            assert response.status_code == 503
            assert response.json() == {
                "_tag": "NotLeaderError",
                "message": response.json()["message"],
                "leader": leader.address,
            }

        async with websockets.connect(f"ws://{standby.address}/v1/ws") as ws:
            await ws.send(json.dumps({"id": "1", "method": "submitJob", "params": {"payload": 1}}))
            reply = json.loads(await ws.recv())
            assert reply["error"]["_tag"] == "NotLeaderError" and reply["error"]["leader"] == leader.address

        async with pb.QueueServiceClient(standby.url) as client:
            with pytest.raises(ConnectError) as caught:
                await client.get_stats(pb.GetStatsRequest())
            assert caught.value.code == Code.UNAVAILABLE
            info = pb.ErrorInfo()
            assert caught.value.details[0].Unpack(info)
            assert (info.tag, info.leader) == ("NotLeaderError", leader.address)

        await leader.stop()
        took = await wait_for_leader(standby)
        assert took < 3
        stats = (await to_standby.get("/v1/stats")).json()
        assert stats["total"] == 5 and stats["brokerAddress"] == standby.address
        claimed = [(await claim(to_standby))["jobId"] for _ in acked]
        assert claimed == acked


async def test_standby_takes_over_from_a_crashed_leader(
    start_broker: StartBroker, storage: StorageBackend
) -> None:
    leader = await start_broker(storage, **FAST)
    standby = await start_broker(storage, **FAST)
    async with httpx.AsyncClient(base_url=leader.url) as http:
        acked = await submit(http, "keep me")
    # As a crash would: no last commit, no goodbye; the HTTP server is closed afterwards.
    assert leader.election is not None
    await leader.election.abort()
    await leader.stop()
    await wait_for_leader(standby)
    async with httpx.AsyncClient(base_url=standby.url) as http:
        assert (await claim(http))["jobId"] == acked
        assert (await http.get("/healthz")).json()["leader"] is True


async def test_graceful_stop_hands_the_lease_to_the_standby_at_once(
    start_broker: StartBroker, storage: StorageBackend
) -> None:
    slow_timeout = {"heartbeat_interval_ms": 200, "heartbeat_timeout_ms": 5000}
    leader = await start_broker(storage, **slow_timeout)
    standby = await start_broker(storage, **slow_timeout)
    async with httpx.AsyncClient(base_url=leader.url) as http:
        acked = await submit(http, "keep me")
    await leader.stop()
    # At the standby's next look (one interval), not after the 5 s timeout.
    assert await wait_for_leader(standby) < 1.0
    async with httpx.AsyncClient(base_url=standby.url) as http:
        assert (await claim(http))["jobId"] == acked


async def test_graceful_stop_writes_a_stale_heartbeat_as_its_last_commit(start_broker: StartBroker) -> None:
    storage = MemoryBackend()
    first = await start_broker(storage)
    seq = (await stored(storage))["commitSeq"]
    await first.stop()
    released = await stored(storage)
    assert (released["broker"], released["brokerHeartbeat"], released["commitSeq"]) == (
        first.advertised_address,
        0,
        seq + 1,
    )
    second = await start_broker(storage)  # another broker id: it would otherwise stand by for 10 s
    assert second.is_leader


async def test_a_broker_that_lost_its_lease_does_not_release_it(start_broker: StartBroker) -> None:
    storage = MemoryBackend()
    leader = await start_broker(storage)
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    # Another broker takes over behind the leader's back (as after a long pause).
    state = decode_state(current.data)
    state.broker, state.broker_id, state.broker_heartbeat = "other:1", "other", int(time.time() * 1000)
    state.commit_seq = (state.commit_seq or 0) + 1
    taken = encode_state(state)
    await storage.write(QUEUE_STATE_KEY, taken, current.version)
    await leader.stop()
    after = await storage.read(QUEUE_STATE_KEY)
    assert after is not None and after.data == taken


async def stored(storage: StorageBackend) -> dict[str, Any]:
    current = await storage.read(QUEUE_STATE_KEY)
    assert current is not None
    state: dict[str, Any] = json.loads(current.data)
    return state
