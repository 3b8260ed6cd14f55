"""Real brokers (uvicorn on free ports) and clients of them, once per transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName

from ..conftest import StartBroker as StartBroker  # re-exported for the tests here
from ..conftest import free_port

MakeClient = Callable[..., OsqueueClient]


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
