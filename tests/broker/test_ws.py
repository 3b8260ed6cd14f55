"""The WebSocket JSON-RPC front door, with the `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from osqueue_broker import BrokerServer
from osqueue_types import QUEUE_STATE_KEY
from websockets.asyncio.client import ClientConnection

from .conftest import TOKEN, StartBroker


class Rpc:
    """Sends frames and collects the answers by id, in whatever order they come."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        (reply,) = await self.many([(method, params)])
        return reply

    async def many(self, calls: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        ids = []
        for method, params in calls:
            self.next_id += 1
            ids.append(str(self.next_id))
            frame: dict[str, Any] = {"id": ids[-1], "method": method}
            if params is not None:
                frame["params"] = params
            await self.ws.send(json.dumps(frame))
        replies: dict[str, dict[str, Any]] = {}
        while len(replies) < len(ids):
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            replies[reply["id"]] = reply
        return [replies[i] for i in ids]


def ok(reply: dict[str, Any]) -> Any:
    assert reply["ok"] is True, reply
    return reply["result"]


def error_tag(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    tag: str = reply["error"]["_tag"]
    assert reply["error"]["message"]
    return tag


async def test_every_method(broker: BrokerServer) -> None:
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        rpc = Rpc(ws)
        job_id = ok(await rpc.call("submitJob", {"payload": {"a": 1}, "type": "t", "maxAttempts": 2}))[
            "jobId"
        ]
        more = ok(await rpc.call("submitJobs", {"jobs": [{"payload": 2}, {"payload": 3, "delayMs": 60_000}]}))
        assert len(more["jobIds"]) == 2
        stats = ok(await rpc.call("getStats", {}))
        assert (stats["total"], stats["unclaimed"], stats["delayed"], stats["brokerAddress"]) == (
            3,
            3,
            1,
            broker.address,
        )
        state = await broker.storage.read(QUEUE_STATE_KEY)
        assert state is not None and stats["brokerHeartbeat"] == json.loads(state.data)["brokerHeartbeat"]
        assert [j["id"] for j in ok(await rpc.call("listJobs", {"type": "t"}))["jobs"]] == [job_id]

        claimed = ok(await rpc.call("claimJob", {"workerId": "w", "types": ["t"]}))
        assert claimed == {"jobId": job_id, "payload": {"a": 1}, "type": "t", "attempt": 1, "maxAttempts": 2}
        assert ok(await rpc.call("claimJob", {"workerId": "w", "types": ["t"]})) == {}
        assert ok(await rpc.call("heartbeat", {"jobId": job_id, "workerId": "w"})) == {}
        assert ok(await rpc.call("getJob", {"jobId": job_id}))["status"] == "in_progress"
        assert ok(await rpc.call("failJob", {"jobId": job_id, "workerId": "w", "error": "x"})) == {
            "deadLettered": False
        }
        ok(await rpc.call("claimJob", {"workerId": "w", "types": ["t"]}))
        dead = ok(await rpc.call("failJob", {"jobId": job_id, "workerId": "w", "deadLetter": True}))
        assert dead == {"deadLettered": True}
        page = ok(await rpc.call("listDeadLetters", {"limit": 10}))
        assert page["total"] == 1 and page["deadLetters"][0]["job"]["id"] == job_id
        letter = ok(await rpc.call("getJob", {"jobId": job_id}))
        assert (letter["status"], letter["deadReason"], letter["deadAt"]) == (
            "dead_letter",
            "dead-lettered by worker",
            page["deadLetters"][0]["deadAt"],
        )
        (delayed,) = ok(await rpc.call("listJobs", {"status": "delayed"}))["jobs"]
        assert (delayed["id"], delayed["payload"]) == (more["jobIds"][1], 3)
        assert ok(await rpc.call("listJobs", {"status": "delayed", "type": "t"}))["jobs"] == []
        assert ok(await rpc.call("listJobs", {"status": "delayed", "offset": 1}))["jobs"] == []
        assert ok(await rpc.call("requeueDeadLetters", {"jobIds": [job_id]})) == {"count": 1}

        batch = ok(await rpc.call("claimJob", {"workerId": "w", "limit": 5}))
        assert [j["payload"] for j in batch["jobs"]] == [2, {"a": 1}]
        for job in batch["jobs"]:
            assert ok(await rpc.call("completeJob", {"jobId": job["jobId"], "workerId": "w"})) == {}
        ok(await rpc.call("submitJob", {"payload": 4}))
        ok(await rpc.call("claimJob", {"workerId": "w"}))
        running = ok(await rpc.call("listJobs", {"status": "in_progress"}))["jobs"][0]
        assert running["payload"] == 4 and "deadReason" not in running
        assert ok(await rpc.call("getStats", {}))["brokerHeartbeat"] > 0
        assert ok(await rpc.call("deleteDeadLetters", {"all": True})) == {"count": 0}
        assert ok(await rpc.call("getStats"))["completedTotal"] == 2
        await ws.send('{"id": 7, "method": "getStats", "params": null}')
        reply = json.loads(await ws.recv())
        assert reply["id"] == 7 and ok(reply)["total"] == 2


async def test_many_requests_in_flight_on_one_socket(broker: BrokerServer) -> None:
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        rpc = Rpc(ws)
        # Parked long polls must not hold up the rest of the socket.
        waits = [("claimJob", {"workerId": f"p{i}", "types": ["never"], "waitMs": 400}) for i in range(5)]
        submits = [("submitJob", {"payload": i}) for i in range(60)]
        replies = await rpc.many(waits + submits)
        assert all(ok(r) == {} for r in replies[:5])
        ids = [ok(r)["jobId"] for r in replies[5:]]
        assert len(set(ids)) == 60
        claims = await rpc.many([("claimJob", {"workerId": "w"})] * 60)
        assert sorted(ok(r)["payload"] for r in claims) == list(range(60))


BAD_FRAMES: list[tuple[str, str]] = [
    ('{"id": "1", "method": "submitJob", "params": {"payload": {}', "BrokerProtocolError"),
    ('{"id": "1", "method": "noSuchMethod", "params": {}}', "BrokerProtocolError"),
    ('{"id": "1", "method": "submitJob", "params": {"type": "x"}}', "InvalidRequestError"),
    (
        '{"id": "1", "method": "submitJob", "params": {"payload": 1, "maxAttempts": -1}}',
        "InvalidRequestError",
    ),
    ('{"id": "1", "method": "claimJob", "params": {"workerId": 5}}', "InvalidRequestError"),
    ('{"id": "1", "method": "claimJob", "params": {"workerId": "w", "limit": 0}}', "InvalidRequestError"),
    ('{"id": "1", "method": "completeJob", "params": {"jobId": "x", "workerId": "w"}}', "JobNotFoundError"),
    ('{"id": "1", "method": "getJob", "params": {"jobId": "x"}}', "JobNotFoundError"),
    ('{"id": "1", "method": "getStats", "params": {"queue": "other"}}', "InvalidRequestError"),
    ('{"id": "1", "method": "requeueDeadLetters", "params": {}}', "InvalidRequestError"),
    ('{"id": "1", "method": "listJobs", "params": {"offset": 99999999999999}}', "InvalidRequestError"),
]


@pytest.mark.parametrize(("frame", "tag"), BAD_FRAMES)
async def test_bad_frames_get_typed_errors(broker: BrokerServer, frame: str, tag: str) -> None:
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        await ws.send(frame)
        reply = json.loads(await ws.recv())
        assert error_tag(reply) == tag
        # The socket stays usable.
        await ws.send('{"id": "2", "method": "getStats"}')
        again = json.loads(await ws.recv())
        assert again["ok"] is True, again


async def test_garbage_frame_answers_with_null_id(broker: BrokerServer) -> None:
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        nested = "[" * 100_000 + "]" * 100_000
        deep = '{"id": "1", "method": "submitJob", "params": {"payload": ' + nested + "}}"
        garbage_frames: list[str | bytes] = ["not json", "[1, 2]", b"\x00\xff", b'{"id": "\xff"}', deep]
        for garbage in garbage_frames:
            await ws.send(garbage)
            reply = json.loads(await ws.recv())
            assert reply["id"] is None and error_tag(reply) == "BrokerProtocolError"


async def test_auth_by_header_or_first_frame(start_broker: StartBroker) -> None:
    broker = await start_broker(auth_token=TOKEN)
    url = f"ws://{broker.address}/v1/ws"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        assert ok(await Rpc(ws).call("getStats"))["total"] == 0
    async with websockets.connect(url) as ws:
        rpc = Rpc(ws)
        assert error_tag(await rpc.call("getStats")) == "AuthError"
        assert error_tag(await rpc.call("auth", {"token": "wrong"})) == "AuthError"
        assert error_tag(await rpc.call("submitJob", {"payload": 1})) == "AuthError"
        assert ok(await rpc.call("auth", {"token": TOKEN})) == {}
        assert ok(await rpc.call("submitJob", {"payload": 1}))["jobId"]
    async with websockets.connect(url, additional_headers={"Authorization": "Bearer nope"}) as ws:
        assert error_tag(await Rpc(ws).call("getStats")) == "AuthError"


async def test_long_poll_over_websocket(broker: BrokerServer) -> None:
    async with (
        websockets.connect(f"ws://{broker.address}/v1/ws") as waiter,
        websockets.connect(f"ws://{broker.address}/v1/ws") as producer,
    ):
        poll = asyncio.create_task(Rpc(waiter).call("claimJob", {"workerId": "w", "waitMs": 5000}))
        await asyncio.sleep(0.1)
        assert not poll.done()
        job_id = ok(await Rpc(producer).call("submitJob", {"payload": "hi"}))["jobId"]
        assert ok(await asyncio.wait_for(poll, 2))["jobId"] == job_id


async def test_closing_the_socket_withdraws_parked_claims(broker: BrokerServer) -> None:
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        await ws.send(
            json.dumps({"id": "1", "method": "claimJob", "params": {"workerId": "gone", "waitMs": 5000}})
        )
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.05)
    async with websockets.connect(f"ws://{broker.address}/v1/ws") as ws:
        rpc = Rpc(ws)
        job_id = ok(await rpc.call("submitJob", {"payload": 1}))["jobId"]
        assert ok(await rpc.call("claimJob", {"workerId": "here"}))["jobId"] == job_id
