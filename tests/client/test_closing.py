"""Closing a client ends the calls still running on it, whatever they wait for.

No broker: the calls wait out a failover backoff against a URL where nothing listens, or wait on
a transport that never answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from osqueue_client import Call, OsqueueClient, SyncOsqueueClient, Transport, TransportName
from osqueue_client._backoff import Backoff
from osqueue_types import TransportConnectionError

R = TypeVar("R")

CLOSED = "this OsqueueClient is closed; create a new one"


@pytest.fixture
def long_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every failover backoff lasts a minute: a call that fails once is then surely waiting."""
    monkeypatch.setattr(Backoff, "next_delay", lambda self: 60.0)


class SilentTransport(Transport):
    """A broker that never answers, and whose aclose() does not wake the calls waiting on it."""

    def __init__(self) -> None:
        self.waiting = threading.Event()

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        self.waiting.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.mark.usefixtures("long_backoff")
async def test_aclose_ends_a_call_in_failover_backoff(transport: TransportName, unused_url: str) -> None:
    client = OsqueueClient(unused_url, transport=transport, failover_deadline=600)
    call = asyncio.create_task(client.stats())
    await asyncio.sleep(0.3)
    assert not call.done()  # refused once, now backing off
    started = time.monotonic()
    await client.aclose()
    with pytest.raises(TransportConnectionError, match=CLOSED):
        await asyncio.wait_for(call, 2)
    assert time.monotonic() - started < 1


@pytest.mark.usefixtures("long_backoff")
def test_sync_close_ends_a_call_in_failover_backoff(transport: TransportName, unused_url: str) -> None:
    client = SyncOsqueueClient(unused_url, transport=transport, failover_deadline=600)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(client.stats)
        time.sleep(0.3)
        assert not call.done()
        started = time.monotonic()
        client.close()  # from another thread than the caller's
        with pytest.raises(TransportConnectionError, match=CLOSED):
            call.result(timeout=2)
    assert time.monotonic() - started < 1


def test_sync_close_ends_a_call_the_transport_never_answers() -> None:
    transport = SilentTransport()
    client = SyncOsqueueClient("http://broker.test:8080", transport=transport)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(client.submit, "t", 1)
        assert transport.waiting.wait(2)
        client.close()
        with pytest.raises(TransportConnectionError, match=CLOSED):
            call.result(timeout=2)
    with pytest.raises(TransportConnectionError, match=CLOSED):
        client.submit("t", 2)


def test_two_threads_closing_at_once_both_return() -> None:
    for _ in range(20):
        client = SyncOsqueueClient("http://broker.test:8080", transport="rest")
        both = threading.Barrier(2)

        def close(client: SyncOsqueueClient = client, both: threading.Barrier = both) -> None:
            both.wait()
            client.close()

        with ThreadPoolExecutor(2) as pool:
            closes = [pool.submit(close) for _ in range(2)]
            for done in closes:
                assert done.result(timeout=5) is None
        with pytest.raises(TransportConnectionError, match=CLOSED):
            client.stats()
