"""A real broker (uvicorn on a free port, in this process) and clients for the worker tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName

from ..conftest import StartBroker as StartBroker  # re-exported for the tests here

MakeClient = Callable[..., Awaitable[OsqueueClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[OsqueueClient] = []

    async def make(url: str | None = None, **options: Any) -> OsqueueClient:
        client = OsqueueClient(url, **options)
        await client.connect()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def broker(start_broker: StartBroker) -> BrokerServer:
    """A broker whose jobs expire after 1 s without a heartbeat."""
    return await start_broker(job_heartbeat_timeout_ms=1000)


@pytest.fixture
async def client(broker: BrokerServer, make_client: MakeClient, transport: TransportName) -> OsqueueClient:
    return await make_client(broker.url, transport=transport)


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 10.0, every: float = 0.02
) -> None:
    """Wait until `check()` is true, or fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)
