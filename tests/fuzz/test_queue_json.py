"""queue.json from storage: a damaged file is refused with a typed error and never overwritten.

A realistic queue.json (jobs unclaimed, in progress, delayed, with priority and an idempotency
key; a dead letter; a completed total) is damaged at random: bits flipped, slices replaced, the
end cut off, a value swapped for one of another JSON type, a key dropped. Then:

- `decode_state` either returns a state or raises msgspec's DecodeError (ValidationError is one);
  it accepts only what is JSON text (UTF-8), since whatever it accepts is served to clients;
- a group-commit engine taking over refuses a file `decode_state` refuses with CorruptStateError
  and leaves it byte for byte as it was; a file it accepts it can run (claim, commit, stop);
- a broker started on a refused file does not start (or stands by, if the file still names a
  live leader) and leaves the file alone.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from osqueue_broker import BrokerServer
from osqueue_core import CorruptStateError, GroupCommitEngine, QueueStateMachine
from osqueue_storage import FileBackend
from osqueue_types import (
    QUEUE_STATE_KEY,
    Claim,
    Complete,
    Enqueue,
    Fail,
    NewJob,
    OsqueueError,
    RegisterBroker,
    decode_state,
)

from ._strategies import corrupted, json_values

NOW = 1_700_000_000_000  # long ago: the leader it names is long dead, so a broker takes over


def valid_queue_json() -> bytes:
    ids = itertools.count(1)
    machine = QueueStateMachine(id_factory=lambda: str(uuid.UUID(int=next(ids))))
    machine.apply(RegisterBroker("127.0.0.1:1", "old-broker"), NOW)
    jobs = [
        NewJob(msgspec.Raw(b'{"to":"a@b.c","n":1}'), type="email"),
        NewJob(msgspec.Raw(b'[1,2.5,{"x":null}]'), type="report", max_attempts=5, priority=3),
        NewJob(msgspec.Raw(b'"caf\xc3\xa9"'), delay_ms=60_000, idempotency_key="k1"),
        NewJob(msgspec.Raw(b"true"), type="email"),
        NewJob(msgspec.Raw(b'{"n":2}'), type="doomed", max_attempts=1),
    ]
    first, _, _, fourth, doomed = machine.apply(Enqueue(jobs), NOW).ids  # type: ignore[union-attr]
    machine.apply(Claim("w1", ["email"]), NOW)
    machine.apply(Claim("w2", ["email"]), NOW)
    machine.apply(Complete(fourth, "w2"), NOW)
    machine.apply(Claim("w3", ["doomed"]), NOW)
    machine.apply(Fail(doomed, "w3", error="boom"), NOW)
    assert machine.job(first) is not None
    machine.set_commit(41, "old-broker")
    return machine.encode()


VALID = valid_queue_json()
TREE = json.loads(VALID)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


PATHS = _paths(TREE)
KEY_PATHS = [path for path in PATHS if isinstance(path[-1], str)]


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


# A value of each JSON type (Python's int and float both stand for JSON numbers).
BY_TYPE: dict[type, st.SearchStrategy[Any]] = {
    type(None): st.none(),
    bool: st.booleans(),
    int: st.integers(),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: st.text(max_size=20),
    list: st.lists(json_values, max_size=3),
    dict: st.dictionaries(st.text(max_size=8), json_values, max_size=3),
}


@st.composite
def type_swapped(draw: st.DrawFn) -> bytes:
    """One value replaced by a value of another JSON type."""
    tree = copy.deepcopy(TREE)
    path = draw(st.sampled_from(PATHS))
    parent = _parent(tree, path)
    others = [kind for kind in BY_TYPE if kind is not type(parent[path[-1]])]
    parent[path[-1]] = draw(st.sampled_from(others).flatmap(BY_TYPE.__getitem__))
    return json.dumps(tree, separators=(",", ":")).encode()


@st.composite
def key_dropped(draw: st.DrawFn) -> bytes:
    tree = copy.deepcopy(TREE)
    path = draw(st.sampled_from(KEY_PATHS))
    del _parent(tree, path)[path[-1]]
    return json.dumps(tree, separators=(",", ":")).encode()


damaged = st.one_of(corrupted(st.just(VALID)), type_swapped(), key_dropped())


def refused(data: bytes) -> bool:
    """Whether `decode_state` refuses the bytes, whatever it raises (the test of `decode_state`
    itself checks that it raises the right error)."""
    try:
        decode_state(data)
    except Exception:
        return True
    return False


def test_the_undamaged_file_decodes() -> None:
    state = decode_state(VALID)
    assert len(state.jobs) == 3 and state.completed_total == 1 and state.dead_letters


@settings(max_examples=1500, deadline=None)
@given(data=damaged)
def test_decode_state_accepts_json_text_or_raises_decode_error(data: bytes) -> None:
    note(f"queue.json: {data!r}")
    try:
        decode_state(data)
    except msgspec.DecodeError:
        event("refused")
        return
    event("accepted")
    try:
        json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        pytest.fail(f"decode_state accepted bytes that are not JSON text ({exc}): {data!r}")


def write_state(directory: Path, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / QUEUE_STATE_KEY
    path.write_bytes(data)
    return path


# One high bit flipped in a string: in a job id (msgspec raised UnicodeDecodeError, not a
# DecodeError) and in a payload (msgspec does not look inside payloads; the broker then served
# invalid UTF-8, which a WebSocket text frame cannot carry: the answer never came).
NOT_UTF8 = {
    "job id": VALID.replace(b'-000000000001"', b'-00000000000\xb1"', 1),
    "payload": VALID.replace(b'"caf\xc3\xa9"', b'"caf\xc3\x29"', 1),
}


@pytest.mark.parametrize("where", NOT_UTF8)
async def test_a_state_that_is_not_utf8_is_refused_as_corrupt(tmp_path: Path, where: str) -> None:
    data = NOT_UTF8[where]
    assert data != VALID
    with pytest.raises(msgspec.DecodeError):
        decode_state(data)
    path = write_state(tmp_path, data)
    storage = FileBackend(tmp_path)
    try:
        with pytest.raises(CorruptStateError):
            await BrokerServer(storage, port=0).start()
    finally:
        await storage.aclose()
    assert path.read_bytes() == data


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=damaged)
async def test_an_engine_refuses_a_damaged_state_and_leaves_it_alone(tmp_path: Path, data: bytes) -> None:
    note(f"queue.json: {data!r}")
    path = write_state(tmp_path / "engine", data)
    storage = FileBackend(path.parent)
    engine = GroupCommitEngine(storage, broker_id="taker")
    take_over = RegisterBroker("127.0.0.1:2", "taker")
    try:
        if refused(data):
            event("refused")
            with pytest.raises(CorruptStateError):
                await engine.start(register=take_over)
            assert path.read_bytes() == data, "a refused state was overwritten"
            return
        event("accepted")
        await engine.start(register=take_over)
        claimed = await engine.submit(Claim("w-new", limit=1000))
        for job in claimed.jobs:  # type: ignore[union-attr]
            await engine.submit(Complete(job.id, "w-new"))
        await engine.stop()
        decode_state(path.read_bytes())
    finally:
        await engine.abort()
        await storage.aclose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=damaged.filter(refused))
async def test_a_broker_does_not_start_on_a_damaged_state(tmp_path: Path, data: bytes) -> None:
    note(f"queue.json: {data!r}")
    path = write_state(tmp_path / "broker", data)
    storage = FileBackend(path.parent)
    server = BrokerServer(storage, port=0)
    try:
        try:
            await server.start()
        except OsqueueError as exc:
            assert isinstance(exc, CorruptStateError), exc
            event("refused to start")
        else:
            event("standing by")
            # Only a file that still names a live leader lets a broker stand by (not touching it).
            assert not server.is_leader
            await server.stop()
        assert path.read_bytes() == data, "a refused state was overwritten"
    finally:
        await storage.aclose()
