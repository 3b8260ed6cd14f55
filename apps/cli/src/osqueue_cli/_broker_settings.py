"""The broker's configuration: flags over environment variables over defaults.

Environment names are those of `python -m osqueue_broker` (BrokerConfig.from_env and
osqueue_storage.storage_from_env), plus OSQUEUE_STORAGE for a storage URL.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osqueue_broker import BrokerConfig
    from osqueue_types import StorageBackend

# Flag destination -> (BrokerConfig field, environment variable it overrides).
FLAG_SETTINGS: dict[str, tuple[str, str]] = {
    "host": ("host", "BROKER_HOST"),
    "port": ("port", "BROKER_PORT"),
    "queue": ("queue", "OSQUEUE_QUEUE"),
    "auth_token": ("auth_token", "OSQUEUE_AUTH_TOKEN"),
    "group_commit_interval_ms": ("group_commit_interval_ms", "GROUP_COMMIT_INTERVAL_MS"),
    "heartbeat_interval_ms": ("heartbeat_interval_ms", "BROKER_HEARTBEAT_INTERVAL_MS"),
    "heartbeat_timeout_ms": ("heartbeat_timeout_ms", "BROKER_HEARTBEAT_TIMEOUT_MS"),
    "job_heartbeat_timeout_ms": ("job_heartbeat_timeout_ms", "JOB_HEARTBEAT_TIMEOUT_MS"),
    "max_batch_size": ("max_batch_size", "MAX_BATCH_SIZE"),
    "advertise_address": ("advertise_address", "BROKER_URL"),
    "idempotency_retention_ms": ("idempotency_retention_ms", "IDEMPOTENCY_RETENTION_MS"),
    "cors_origins": ("cors_origins", "OSQUEUE_CORS_ORIGINS"),
}


def broker_config(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> BrokerConfig:
    """BrokerConfig from the environment, with every given flag taking precedence."""
    from osqueue_broker import BrokerConfig
    from osqueue_types import ConfigError, queue_state_key

    environ = dict(os.environ if env is None else env)
    overrides: dict[str, Any] = {}
    for dest, (field, variable) in FLAG_SETTINGS.items():
        value = getattr(args, dest)
        if value is not None:
            # The flag wins: the variable is neither read nor validated.
            environ.pop(variable, None)
            convert = _FLAG_VALUES.get(dest)
            overrides[field] = convert(value) if convert is not None else value
    config = dataclasses.replace(BrokerConfig.from_env(environ), **overrides)
    config.validate()
    try:
        queue_state_key(config.queue)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return config


def broker_storage(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> StorageBackend:
    """--storage URL, else $OSQUEUE_STORAGE, else the STORAGE_* variables (default ./.osqueue/)."""
    from osqueue_storage import open_storage, storage_from_env
    from osqueue_types import ConfigError

    environ = os.environ if env is None else env
    if args.storage:
        return open_storage(args.storage)
    url = environ.get("OSQUEUE_STORAGE", "").strip()
    if url:
        try:
            return open_storage(url)
        except ConfigError as exc:
            raise ConfigError(f"OSQUEUE_STORAGE: {exc.message}") from exc
    return storage_from_env(environ)


def describe_location(storage: StorageBackend, key: str) -> str:
    """Where the queue's state object lives, for people: a path or a bucket URL."""
    from osqueue_storage import FileBackend, GCSBackend, MemoryBackend, S3Backend, ThrottledBackend

    if isinstance(storage, ThrottledBackend):
        return f"{describe_location(storage.inner, key)} (throttled)"
    if isinstance(storage, FileBackend):
        return str(Path(storage.root_dir).resolve().joinpath(*key.split("/")))
    if isinstance(storage, S3Backend | GCSBackend):
        scheme = "s3" if isinstance(storage, S3Backend) else "gs"
        prefix = f"{storage.prefix}/" if storage.prefix else ""
        return f"{scheme}://{storage.bucket}/{prefix}{key}"
    if isinstance(storage, MemoryBackend):
        return "memory (this process only, lost on exit)"
    return f"{storage!r} key {key}"


def _address(value: str) -> str:
    """Accept http://host:port as well as host:port."""
    return value.split("://", 1)[-1].rstrip("/")


def _origins(value: str) -> tuple[str, ...]:
    """`https://a.example, https://b.example/` → the origins as a browser sends them."""
    return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())


# Flags whose text becomes another value in BrokerConfig, as the environment variable's does.
_FLAG_VALUES: dict[str, Callable[[str], Any]] = {"advertise_address": _address, "cors_origins": _origins}
