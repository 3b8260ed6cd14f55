"""Real brokers (uvicorn on free ports) and clients of them, once per transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName
from osqueue_storage import MemoryBackend
from osqueue_types import StorageBackend

from ..conftest import free_port

StartBroker = Callable[..., Awaitable[BrokerServer]]
MakeClient = Callable[..., OsqueueClient]


@pytest.fixture(params=["connect", "rest", "ws"])
def transport(request: pytest.FixtureRequest) -> TransportName:
    name: TransportName = request.param
    return name


@pytest.fixture
async def start_broker() -> AsyncIterator[StartBroker]:
    """Starts brokers on free ports (memory storage unless given); stops them all afterwards."""
    started: list[BrokerServer] = []

    async def start(storage: StorageBackend | None = None, **options: Any) -> BrokerServer:
        server = BrokerServer(storage if storage is not None else MemoryBackend(), port=0, **options)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture
async def broker(start_broker: StartBroker) -> BrokerServer:
    return await start_broker()


@pytest.fixture
async def make_client(broker: BrokerServer, transport: TransportName) -> AsyncIterator[MakeClient]:
    """Clients of `broker` over this test's transport (more options as keywords); closed afterwards."""
    made: list[OsqueueClient] = []

    def make(**options: Any) -> OsqueueClient:
        client = OsqueueClient(broker.url, transport=transport, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def client(make_client: MakeClient) -> AsyncIterator[OsqueueClient]:
    async with make_client() as client:
        yield client


@pytest.fixture
def unused_url() -> str:
    """A URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
