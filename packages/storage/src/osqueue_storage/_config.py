"""Choosing a backend from a storage URL or from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from osqueue_types import ConfigError, StorageBackend

from ._file import FileBackend
from ._gcs import GCSBackend
from ._memory import MemoryBackend
from ._s3 import S3Backend
from ._throttle import ThrottledBackend

DEFAULT_FILE_STORAGE_DIR = "./.osqueue"
BACKEND_NAMES = ("memory", "file", "s3", "gcs")
URL_FORMS = "memory://, file://PATH, s3://BUCKET/PREFIX?endpoint=URL&region=R, gcs://BUCKET/PREFIX"


def open_storage(url: str) -> StorageBackend:
    """Build a backend from a URL.

    memory://                                  in-process (lost on exit)
    file://./data, file:///var/lib/osqueue     a local directory (relative or absolute)
    s3://bucket/prefix?endpoint=URL&region=R   S3 or an S3-compatible store
    gcs://bucket/prefix (or gs://)             Google Cloud Storage
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"invalid storage URL {url!r}: expected one of {URL_FORMS}")
    scheme = scheme.lower()
    if scheme == "memory":
        if rest:
            raise ConfigError(f"invalid storage URL {url!r}: memory:// takes no path")
        return MemoryBackend()
    if scheme == "file":
        if not rest:
            raise ConfigError(f"invalid storage URL {url!r}: file:// needs a directory, e.g. file://./data")
        return FileBackend(rest)
    if scheme in ("s3", "gcs", "gs"):
        return _open_bucket_url(url, scheme)
    raise ConfigError(f"unknown storage URL scheme {scheme!r} in {url!r}: expected one of {URL_FORMS}")


def _open_bucket_url(url: str, scheme: str) -> StorageBackend:
    parts = urlsplit(url)
    if not parts.netloc:
        raise ConfigError(
            f"invalid storage URL {url!r}: missing bucket name, e.g. {scheme}://my-bucket/prefix"
        )
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise ConfigError(f"invalid storage URL {url!r}: bad query string") from exc
    allowed = ("endpoint", "region") if scheme == "s3" else ("endpoint",)
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise ConfigError(
            f"invalid storage URL {url!r}: unknown parameter {unknown[0]!r} (allowed: {', '.join(allowed)})"
        )
    params = {name: values[-1] for name, values in query.items() if values[-1]}
    prefix = parts.path.strip("/")
    if scheme == "s3":
        return S3Backend(
            parts.netloc, prefix, endpoint_url=params.get("endpoint"), region=params.get("region")
        )
    return GCSBackend(parts.netloc, prefix, api_root=params.get("endpoint"))


def storage_from_env(env: Mapping[str, str] | None = None) -> StorageBackend:
    """Build a backend from environment variables (the same names as the TypeScript osqueue).

    STORAGE_URL, if set, wins (see `open_storage`). Otherwise STORAGE_BACKEND picks
    memory | file (default) | s3 | gcs, configured by FILE_STORAGE_DIR (default ./.osqueue),
    S3_BUCKET, S3_PREFIX, S3_REGION, S3_ENDPOINT (or AWS_ENDPOINT_URL), GCS_BUCKET, GCS_PREFIX.
    S3_MAX_READS_PER_MINUTE / S3_MAX_WRITES_PER_MINUTE wrap the result in a ThrottledBackend.
    """
    env = os.environ if env is None else env
    url = env.get("STORAGE_URL", "").strip()
    if url:
        try:
            backend = open_storage(url)
        except ConfigError as exc:
            raise ConfigError(f"STORAGE_URL: {exc.message}") from exc
    else:
        backend = _backend_from_names(env)
    max_reads = _non_negative_int(env, "S3_MAX_READS_PER_MINUTE")
    max_writes = _non_negative_int(env, "S3_MAX_WRITES_PER_MINUTE")
    if max_reads or max_writes:
        return ThrottledBackend(backend, max_reads, max_writes)
    return backend


def _backend_from_names(env: Mapping[str, str]) -> StorageBackend:
    kind = env.get("STORAGE_BACKEND", "").strip().lower() or "file"
    if kind == "memory":
        return MemoryBackend()
    if kind == "file":
        return FileBackend(env.get("FILE_STORAGE_DIR", "").strip() or DEFAULT_FILE_STORAGE_DIR)
    if kind == "s3":
        return S3Backend(
            _required(env, "S3_BUCKET", kind),
            env.get("S3_PREFIX", ""),
            endpoint_url=env.get("S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or None,
            region=env.get("S3_REGION") or None,
        )
    if kind == "gcs":
        return GCSBackend(_required(env, "GCS_BUCKET", kind), env.get("GCS_PREFIX", ""))
    raise ConfigError(f"STORAGE_BACKEND must be one of {', '.join(BACKEND_NAMES)}; got {kind!r}")


def _required(env: Mapping[str, str], name: str, kind: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required when STORAGE_BACKEND={kind}")
    return value


def _non_negative_int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{name} must be a non-negative integer (0 = unlimited); got {raw!r}")
    return value
