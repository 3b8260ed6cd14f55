"""Brokers under uvicorn on free ports, over memory, file and S3 (moto) storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from osqueue_broker import BrokerServer
from osqueue_storage import FileBackend, MemoryBackend, S3Backend
from osqueue_types import StorageBackend

from ..conftest import StartBroker as StartBroker  # re-exported for the tests here
from ..conftest import started_brokers

TOKEN = "s3cret-token"


@pytest.fixture(params=["memory", "file", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageBackend]:
    """One storage per test, for the tests where the backend matters."""
    backend: StorageBackend
    if request.param == "memory":
        backend = MemoryBackend()
    elif request.param == "file":
        backend = FileBackend(tmp_path / "state")
    else:
        endpoint = request.getfixturevalue("moto_server")
        backend = S3Backend(request.getfixturevalue("s3_bucket"), "osq", endpoint_url=endpoint)
        # Creating the S3 client blocks the event loop for a while; do it before any broker runs.
        await backend.read("warm-up")
    yield backend
    # A graceful stop still writes (it hands the lease back): stop the brokers before closing.
    for server in reversed(started_brokers(request)):
        if server.storage is backend:
            await server.stop()
    await backend.aclose()


@pytest.fixture
async def broker(start_broker: StartBroker) -> BrokerServer:
    return await start_broker()


@pytest.fixture
async def http(broker: BrokerServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=broker.url, timeout=10) as client:
        yield client


async def submit(http: httpx.AsyncClient, payload: Any = None, **fields: Any) -> str:
    response = await http.post("/v1/jobs", json={"payload": payload, **fields})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["jobId"]
    return job_id


async def claim(http: httpx.AsyncClient, worker: str = "w1", **fields: Any) -> dict[str, Any]:
    response = await http.post("/v1/jobs/claim", json={"workerId": worker, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
