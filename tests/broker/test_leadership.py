"""Two brokers on one storage: the standby redirects to the leader on every door, then takes over."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import osqueue_proto as pb
import pytest
import websockets
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from osqueue_broker import BrokerServer
from osqueue_types import StorageBackend

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
