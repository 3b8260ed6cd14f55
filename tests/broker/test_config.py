"""BrokerConfig from the environment, and BrokerServer's own checks."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from osqueue_broker import BrokerConfig, BrokerServer
from osqueue_storage import MemoryBackend
from osqueue_types import DEFAULT_IDEMPOTENCY_RETENTION_MS, ConfigError, QueueState, decode_state

from .conftest import StartBroker, submit


def test_defaults_and_every_variable() -> None:
    assert BrokerConfig.from_env({}) == BrokerConfig()
    config = BrokerConfig.from_env(
        {
            "BROKER_HOST": "0.0.0.0",
            "BROKER_PORT": "9000",
            "BROKER_URL": "http://queue.internal:9000/",
            "OSQUEUE_QUEUE": "emails",
            "BROKER_HEARTBEAT_INTERVAL_MS": "1000",
            "BROKER_HEARTBEAT_TIMEOUT_MS": "5000",
            "GROUP_COMMIT_INTERVAL_MS": "20",
            "MAX_BATCH_SIZE": "500",
            "JOB_HEARTBEAT_TIMEOUT_MS": "60000",
            "OSQUEUE_AUTH_TOKEN": "t",
            "MAX_PAYLOAD_BYTES": "2048",
            "MAX_REQUEST_BYTES": "4096",
            "MAX_WAIT_MS": "20000",
            "IDEMPOTENCY_RETENTION_MS": "60000",
            "OSQUEUE_CORS_ORIGINS": "https://app.example, http://localhost:5173/",
        }
    )
    assert config == BrokerConfig(
        host="0.0.0.0",
        port=9000,
        queue="emails",
        heartbeat_interval_ms=1000,
        heartbeat_timeout_ms=5000,
        group_commit_interval_ms=20,
        max_batch_size=500,
        job_heartbeat_timeout_ms=60_000,
        auth_token="t",
        max_payload_bytes=2048,
        max_request_bytes=4096,
        max_wait_ms=20_000,
        advertise_address="queue.internal:9000",
        idempotency_retention_ms=60_000,
        cors_origins=("https://app.example", "http://localhost:5173"),
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BROKER_PORT": "http"}, "BROKER_PORT"),
        ({"BROKER_PORT": "70000"}, "port"),
        ({"GROUP_COMMIT_INTERVAL_MS": "-1"}, "GROUP_COMMIT_INTERVAL_MS"),
        ({"BROKER_HEARTBEAT_INTERVAL_MS": "6000"}, "heartbeat interval"),
        ({"BROKER_URL": "queue.internal"}, "BROKER_URL"),
        ({"MAX_WAIT_MS": "90000"}, "max wait"),
        ({"MAX_PAYLOAD_BYTES": "100", "MAX_REQUEST_BYTES": "10"}, "max payload"),
        ({"IDEMPOTENCY_RETENTION_MS": "0"}, "idempotency retention"),
        ({"IDEMPOTENCY_RETENTION_MS": "-1"}, "IDEMPOTENCY_RETENTION_MS"),
        ({"OSQUEUE_CORS_ORIGINS": "app.example"}, "CORS origins"),
        ({"OSQUEUE_CORS_ORIGINS": "https://app.example/path"}, "CORS origins"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        BrokerConfig.from_env(env)


def test_server_refuses_unsafe_settings() -> None:
    with pytest.raises(ConfigError):
        BrokerServer(MemoryBackend(), heartbeat_interval_ms=5000, heartbeat_timeout_ms=8000)
    with pytest.raises(ConfigError, match="idempotency retention"):
        BrokerServer(MemoryBackend(), idempotency_retention_ms=0)
    with pytest.raises(ValueError, match="queue name"):
        BrokerServer(MemoryBackend(), queue="a/b")


def test_idempotency_keys_are_kept_five_minutes_by_default() -> None:
    assert BrokerConfig().idempotency_retention_ms == DEFAULT_IDEMPOTENCY_RETENTION_MS == 300_000


async def test_the_broker_forgets_idempotency_keys_after_its_retention(start_broker: StartBroker) -> None:
    storage = MemoryBackend()
    broker = await start_broker(storage, idempotency_retention_ms=300)

    async def stored() -> QueueState:
        found = await storage.read("queue.json")
        assert found is not None
        return decode_state(found.data)

    async with httpx.AsyncClient(base_url=broker.url, timeout=10) as http:
        first = await submit(http, {"n": 1}, idempotencyKey="k")
        assert await submit(http, {"n": 1}, idempotencyKey="k") == first
        state = await stored()
        [job] = state.jobs
        assert state.idempotency and [(r.key, r.expires_at) for r in state.idempotency] == [
            ("k", job.created_at + 300)
        ]
        await asyncio.sleep(0.4)
        assert await submit(http, {"n": 1}, idempotencyKey="k") != first
