"""open_storage URLs and storage_from_env variables, and their errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from osqueue_storage import (
    FileBackend,
    GCSBackend,
    MemoryBackend,
    S3Backend,
    ThrottledBackend,
    open_storage,
    storage_from_env,
)
from osqueue_types import ConfigError


def test_memory_url() -> None:
    assert isinstance(open_storage("memory://"), MemoryBackend)


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("file://./data", "./data"),
        ("file://data/q", "data/q"),
        ("file:///var/lib/osqueue", "/var/lib/osqueue"),
    ],
)
def test_file_urls(url: str, root: str) -> None:
    backend = open_storage(url)
    assert isinstance(backend, FileBackend)
    assert backend.root_dir == Path(root)


def test_s3_url_with_prefix_endpoint_and_region() -> None:
    backend = open_storage("s3://my-bucket/env/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1")
    assert isinstance(backend, S3Backend)
    assert (backend.bucket, backend.prefix) == ("my-bucket", "env/prod")
    assert (backend.endpoint_url, backend.region) == ("http://127.0.0.1:9000", "eu-west-1")


def test_s3_url_without_prefix() -> None:
    backend = open_storage("s3://my-bucket")
    assert isinstance(backend, S3Backend)
    assert (backend.bucket, backend.prefix, backend.endpoint_url, backend.region) == (
        "my-bucket",
        "",
        None,
        None,
    )


@pytest.mark.parametrize("scheme", ["gcs", "gs"])
def test_gcs_url(scheme: str) -> None:
    backend = open_storage(f"{scheme}://my-bucket/osqueue")
    assert isinstance(backend, GCSBackend)
    assert (backend.bucket, backend.prefix) == ("my-bucket", "osqueue")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost", "unknown storage URL scheme 'redis'"),
        ("queue.json", "invalid storage URL"),
        ("", "invalid storage URL"),
        ("file://", "needs a directory"),
        ("memory://x", "takes no path"),
        ("s3:///prefix", "missing bucket name"),
        ("gcs://", "missing bucket name"),
        ("s3://b/p?endpont=http://x", "unknown parameter 'endpont'"),
        ("gcs://b/p?region=x", "unknown parameter 'region'"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_storage(url)


def test_env_defaults_to_a_local_directory() -> None:
    backend = storage_from_env({})
    assert isinstance(backend, FileBackend)
    assert backend.root_dir == Path("./.osqueue")
    backend = storage_from_env({"STORAGE_BACKEND": "file", "FILE_STORAGE_DIR": "/tmp/q"})
    assert isinstance(backend, FileBackend)
    assert backend.root_dir == Path("/tmp/q")


def test_env_memory() -> None:
    assert isinstance(storage_from_env({"STORAGE_BACKEND": "MEMORY"}), MemoryBackend)


def test_env_s3() -> None:
    backend = storage_from_env(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "b",
            "S3_PREFIX": "p",
            "S3_REGION": "eu-central-1",
            "S3_ENDPOINT": "http://127.0.0.1:9000",
        }
    )
    assert isinstance(backend, S3Backend)
    assert (backend.bucket, backend.prefix, backend.region) == ("b", "p", "eu-central-1")
    assert backend.endpoint_url == "http://127.0.0.1:9000"


def test_env_s3_endpoint_from_aws_variable() -> None:
    backend = storage_from_env(
        {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    )
    assert isinstance(backend, S3Backend)
    assert backend.endpoint_url == "http://127.0.0.1:4566"


def test_env_gcs() -> None:
    backend = storage_from_env({"STORAGE_BACKEND": "gcs", "GCS_BUCKET": "b", "GCS_PREFIX": "/p/"})
    assert isinstance(backend, GCSBackend)
    assert (backend.bucket, backend.prefix) == ("b", "p")


def test_env_storage_url_wins() -> None:
    backend = storage_from_env({"STORAGE_URL": "memory://", "STORAGE_BACKEND": "s3"})
    assert isinstance(backend, MemoryBackend)


def test_env_rate_limits_wrap_in_a_throttle() -> None:
    backend = storage_from_env(
        {"STORAGE_BACKEND": "memory", "S3_MAX_READS_PER_MINUTE": "600", "S3_MAX_WRITES_PER_MINUTE": "0"}
    )
    assert isinstance(backend, ThrottledBackend)
    assert isinstance(backend.inner, MemoryBackend)
    assert isinstance(
        storage_from_env({"STORAGE_BACKEND": "memory", "S3_MAX_WRITES_PER_MINUTE": "0"}), MemoryBackend
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STORAGE_BACKEND": "redis"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
        ({"STORAGE_BACKEND": "gcs", "GCS_BUCKET": " "}, "GCS_BUCKET"),
        ({"S3_MAX_READS_PER_MINUTE": "lots"}, "S3_MAX_READS_PER_MINUTE"),
        ({"S3_MAX_WRITES_PER_MINUTE": "-5"}, "S3_MAX_WRITES_PER_MINUTE"),
        ({"STORAGE_URL": "ftp://x"}, "STORAGE_URL"),
    ],
)
def test_env_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        storage_from_env(env)


def test_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "memory")
    assert isinstance(storage_from_env(), MemoryBackend)


def test_missing_s3_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiobotocore", None)
    monkeypatch.setitem(sys.modules, "aiobotocore.session", None)
    with pytest.raises(ConfigError, match=r'pip install "osqueue-storage\[s3\]"'):
        open_storage("s3://bucket")


def test_missing_gcs_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gcloud.aio.storage", None)
    with pytest.raises(ConfigError, match=r'pip install "osqueue-storage\[gcs\]"'):
        open_storage("gcs://bucket")
