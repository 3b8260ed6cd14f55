"""Broker settings from the environment (the TypeScript osqueue's names plus a few of our own)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from osqueue_types import (
    DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
    DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_QUEUE,
    ConfigError,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_WAIT_MS = 60_000
# scheme://host[:port], as in a browser's Origin header.
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s?#]+")


@dataclass(frozen=True)
class BrokerConfig:
    """Everything `BrokerServer` takes besides its storage."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    queue: str = DEFAULT_QUEUE
    heartbeat_interval_ms: int = DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS
    heartbeat_timeout_ms: int = DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS
    group_commit_interval_ms: int = 0
    max_batch_size: int | None = None
    job_heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS
    auth_token: str | None = None
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_wait_ms: int = DEFAULT_MAX_WAIT_MS
    advertise_address: str | None = None
    # How long a submit's idempotency key returns the first job's id; each key is a record in
    # queue.json until then, so a longer window means a larger state at high throughput.
    idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS
    # Browser origins allowed to call the broker ("*": any); empty sends no CORS headers.
    cors_origins: tuple[str, ...] = ()

    def validate(self) -> None:
        """Refuse settings that cannot work, naming the setting."""
        if not 0 <= self.port <= 65_535:
            raise ConfigError(f"port must be 0..65535, got {self.port}")
        if self.heartbeat_interval_ms <= 0 or self.heartbeat_timeout_ms <= 0:
            raise ConfigError("broker heartbeat interval and timeout must be positive")
        # A leader must refresh at least twice per timeout, or a standby may take over a live one.
        if self.heartbeat_interval_ms * 2 >= self.heartbeat_timeout_ms:
            raise ConfigError(
                f"broker heartbeat interval ({self.heartbeat_interval_ms} ms) must be less than half "
                f"the heartbeat timeout ({self.heartbeat_timeout_ms} ms)"
            )
        if self.group_commit_interval_ms < 0:
            raise ConfigError(f"group commit interval must be >= 0, got {self.group_commit_interval_ms}")
        if self.max_batch_size is not None and self.max_batch_size < 1:
            raise ConfigError(f"max batch size must be >= 1, got {self.max_batch_size}")
        if self.job_heartbeat_timeout_ms <= 0:
            raise ConfigError(f"job heartbeat timeout must be positive, got {self.job_heartbeat_timeout_ms}")
        if not 0 < self.max_payload_bytes <= self.max_request_bytes:
            raise ConfigError("max payload bytes must be positive and at most max request bytes")
        if not 0 <= self.max_wait_ms <= 60_000:
            raise ConfigError(f"max wait must be 0..60000 ms, got {self.max_wait_ms}")
        if self.idempotency_retention_ms <= 0:
            raise ConfigError(
                f"idempotency retention must be positive, got {self.idempotency_retention_ms} ms"
            )
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ConfigError(f"CORS origins must look like https://host[:port] or be *, got {origin!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BrokerConfig:
        """Read BROKER_HOST, BROKER_PORT, BROKER_URL (the address to advertise), OSQUEUE_QUEUE,
        BROKER_HEARTBEAT_INTERVAL_MS, BROKER_HEARTBEAT_TIMEOUT_MS, GROUP_COMMIT_INTERVAL_MS,
        MAX_BATCH_SIZE, JOB_HEARTBEAT_TIMEOUT_MS, OSQUEUE_AUTH_TOKEN, MAX_PAYLOAD_BYTES,
        MAX_REQUEST_BYTES, MAX_WAIT_MS, IDEMPOTENCY_RETENTION_MS and OSQUEUE_CORS_ORIGINS
        (comma-separated); unset or empty means the default."""
        env = os.environ if env is None else env
        d = cls()
        max_batch = _int(env, "MAX_BATCH_SIZE", 0)
        config = cls(
            host=_str(env, "BROKER_HOST") or d.host,
            port=_int(env, "BROKER_PORT", d.port),
            queue=_str(env, "OSQUEUE_QUEUE") or d.queue,
            heartbeat_interval_ms=_int(env, "BROKER_HEARTBEAT_INTERVAL_MS", d.heartbeat_interval_ms),
            heartbeat_timeout_ms=_int(env, "BROKER_HEARTBEAT_TIMEOUT_MS", d.heartbeat_timeout_ms),
            group_commit_interval_ms=_int(env, "GROUP_COMMIT_INTERVAL_MS", d.group_commit_interval_ms),
            max_batch_size=max_batch or None,
            job_heartbeat_timeout_ms=_int(env, "JOB_HEARTBEAT_TIMEOUT_MS", d.job_heartbeat_timeout_ms),
            auth_token=_str(env, "OSQUEUE_AUTH_TOKEN"),
            max_payload_bytes=_int(env, "MAX_PAYLOAD_BYTES", d.max_payload_bytes),
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", d.max_request_bytes),
            max_wait_ms=_int(env, "MAX_WAIT_MS", d.max_wait_ms),
            advertise_address=_address(env, "BROKER_URL"),
            idempotency_retention_ms=_int(env, "IDEMPOTENCY_RETENTION_MS", d.idempotency_retention_ms),
            cors_origins=_origins(env, "OSQUEUE_CORS_ORIGINS"),
        )
        try:
            config.validate()
        except ConfigError as exc:
            raise ConfigError(f"broker environment: {exc.message}") from exc
        return config


def _str(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _address(env: Mapping[str, str], name: str) -> str | None:
    """`http://host:port/` or `host:port` → `host:port`."""
    raw = _str(env, name)
    if raw is None:
        return None
    address = raw.split("://", 1)[-1].rstrip("/")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or "/" in address:
        raise ConfigError(f"{name} must look like http://host:port, got {raw!r}")
    return address


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """`https://a.example, https://b.example/` → the origins as a browser sends them."""
    raw = env.get(name, "")
    return tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
