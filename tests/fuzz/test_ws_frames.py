"""WebSocket: any frame gets exactly one well-formed answer and the socket stays usable.

Text and binary frames of any content, any JSON, and nearly right requests (a real method,
params of any shape) go down one socket. Each is answered `{"id", "ok": true, "result"}` or
`{"id", "ok": false, "error": {"_tag", "message"}}` (the frame's id echoed, or null when the
frame could not be read); a refused request leaves the queue as it was; a `getStats` right
after still works on the same socket; nothing is logged at ERROR level.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from osqueue_broker import BrokerServer
from osqueue_types import ERROR_CLASSES
from websockets.asyncio.client import ClientConnection, connect

from ._strategies import choices, corrupted, encode_json, field_values, json_values, nearly
from .conftest import SEED_WORKER, Seed, assert_no_errors_logged, broker_fuzz_settings, queue_content

FUZZ = broker_fuzz_settings(max_examples=300)
METHODS = [
    *("submitJob", "submitJobs", "claimJob", "heartbeat", "completeJob", "completeJobs", "failJob", "getJob"),
    *("getStats", "listJobs", "listDeadLetters", "requeueDeadLetters", "deleteDeadLetters", "auth"),
]
Frame = str | bytes


@pytest.fixture
async def ws(broker: BrokerServer) -> AsyncIterator[ClientConnection]:
    async with connect(broker.url.replace("http", "ws", 1) + "/v1/ws") as socket:
        yield socket


@functools.cache
def frames(seed: Seed) -> st.SearchStrategy[Frame]:
    params = nearly(
        {
            "payload": json_values,
            "jobs": st.lists(nearly({"payload": json_values}, required=["payload"]), max_size=3),
            "jobId": choices(seed.job_ids),
            "jobIds": st.lists(choices(seed.job_ids), max_size=2),
            "workerId": st.sampled_from([SEED_WORKER, "w1"]),
            "all": st.booleans(),
            "deadLetter": st.booleans(),
            "release": st.booleans(),
            "limit": st.integers(1, 5),
            "offset": st.integers(0, 5),
            "status": st.sampled_from(["unclaimed", "in_progress"]),
            "token": st.text(max_size=5),
        }
    )
    requests = nearly(
        {"id": st.text(max_size=8) | st.integers(), "method": st.sampled_from(METHODS), "params": params},
        required=["id", "method"],
    ).map(encode_json)
    return st.one_of(
        requests,
        requests.map(lambda raw: raw.decode()),
        corrupted(requests),
        json_values.map(json.dumps),
        st.text(max_size=100),
        st.binary(max_size=100),
        field_values.map(lambda value: json.dumps({"id": value, "method": "getStats"})),
    )


def frame_id(frame: Frame) -> Any:
    """The id a reply should echo: the frame's own, when it is a readable request."""
    try:
        value = json.loads(frame)
    except ValueError:
        return None
    return value.get("id") if isinstance(value, dict) else None


@FUZZ
@given(data=st.data())
async def test_any_frame_gets_one_typed_answer_and_the_socket_survives(
    ws: ClientConnection,
    http: httpx.AsyncClient,
    seed: Seed,
    error_log: list[logging.LogRecord],
    data: st.DataObject,
) -> None:
    frame = data.draw(frames(seed), label="frame")
    before = await queue_content(http)
    await ws.send(frame)
    reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    assert isinstance(reply, dict) and set(reply) in ({"id", "ok", "result"}, {"id", "ok", "error"}), reply
    assert reply["id"] is None or reply["id"] == frame_id(frame), (reply, frame)
    if reply["ok"] is True:
        event("ok")
    else:
        error = reply["error"]
        assert reply["ok"] is False and isinstance(error, dict), reply
        assert error.get("_tag") in ERROR_CLASSES and isinstance(error.get("message"), str), reply
        event(error["_tag"])
        assert await queue_content(http) == before, f"refused frame changed the queue: {frame!r}"

    await ws.send(json.dumps({"id": "probe", "method": "listJobs"}))
    probe = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    assert probe["id"] == "probe" and probe["ok"] is True, probe
    assert_no_errors_logged(error_log)
