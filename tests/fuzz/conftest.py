"""A real broker (uvicorn on a free port, memory storage) seeded with jobs in every state,
plus the checks every fuzz test shares: the durable queue content and the error log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, settings
from osqueue_broker import BrokerServer
from osqueue_storage import MemoryBackend
from osqueue_types import decode_state, encode_state

SEED_WORKER = "seed-worker"


def broker_fuzz_settings(max_examples: int) -> settings:
    """One broker serves all examples of a test, so its queue carries over from one example to
    the next. Shrinking would replay examples against a queue they did not meet, so it is off:
    the example reported is the first request that broke a property, exactly as sent."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@dataclass(frozen=True)
class Seed:
    """Job ids the fuzzers aim at, so that some generated requests touch real jobs."""

    in_progress: str  # claimed by SEED_WORKER
    dead_letter: str
    unclaimed: tuple[str, ...]

    @property
    def job_ids(self) -> tuple[str, ...]:
        return (self.in_progress, self.dead_letter, *self.unclaimed)


@pytest.fixture
async def broker() -> AsyncIterator[BrokerServer]:
    # Generated claims may ask for a long poll: keep every wait short.
    server = BrokerServer(MemoryBackend(), port=0, max_wait_ms=20)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(broker: BrokerServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=broker.url, timeout=10) as client:
        yield client


@pytest.fixture
async def seed(http: httpx.AsyncClient) -> Seed:
    async def submit(**body: object) -> str:
        response = await http.post("/v1/jobs", json={"payload": {"n": 1}, **body})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["jobId"]
        return job_id

    async def claim(worker: str) -> str:
        response = await http.post("/v1/jobs/claim", json={"workerId": worker})
        assert response.status_code == 200, response.text
        job_id: str = response.json()["jobId"]
        return job_id

    dead = await submit(type="seed")
    assert await claim("seed-reaper") == dead
    failed = await http.post(f"/v1/jobs/{dead}/fail", json={"workerId": "seed-reaper", "deadLetter": True})
    assert failed.status_code == 200, failed.text
    in_progress = await submit(type="seed")
    assert await claim(SEED_WORKER) == in_progress
    unclaimed = (
        await submit(type="seed", idempotencyKey="seed-key"),
        await submit(type="other", priority=5),
        await submit(delayMs=3_600_000),
    )
    return Seed(in_progress=in_progress, dead_letter=dead, unclaimed=unclaimed)


async def queue_content(http: httpx.AsyncClient) -> bytes:
    """queue.json as last written, minus what changes without any request (leader heartbeat)
    or with every commit (commitSeq, which a commit answering only errors still advances)."""
    response = await http.get("/state")
    assert response.status_code == 200, response.text
    state = decode_state(response.content)
    return encode_state(
        msgspec.structs.replace(state, broker_heartbeat=0, commit_seq=msgspec.UNSET, broker_id=msgspec.UNSET)
    )


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Iterator[list[logging.LogRecord]]:
    """ERROR records from anywhere (broker handlers, uvicorn, asyncio's unretrieved task errors)."""
    handler = _ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def assert_no_errors_logged(records: list[logging.LogRecord]) -> None:
    assert not records, "\n".join(f"{r.name}: {r.getMessage()}" for r in records[:5])
