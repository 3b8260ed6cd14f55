"""A real broker (uvicorn on a free port, in this process) and clients for the worker tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName
from osqueue_storage import MemoryBackend
from osqueue_types import StorageBackend

StartBroker = Callable[..., Awaitable[BrokerServer]]
MakeClient = Callable[..., Awaitable[OsqueueClient]]


@pytest.fixture
async def start_broker() -> AsyncIterator[StartBroker]:
    """Start brokers on 127.0.0.1:0 (memory storage unless given); all stopped at teardown."""
    servers: list[BrokerServer] = []

    async def start(storage: StorageBackend | None = None, **options: Any) -> BrokerServer:
        server = BrokerServer(storage or MemoryBackend(), "127.0.0.1", 0, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()


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


@pytest.fixture(params=["connect", "rest", "ws"])
def transport(request: pytest.FixtureRequest) -> TransportName:
    name: TransportName = request.param
    return name


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
