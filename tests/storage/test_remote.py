"""S3 and GCS specifics: how failures surface, client lifetime, what the emulator enforces."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from osqueue_storage import GCSBackend, S3Backend
from osqueue_storage._s3 import _error_code, cas_conflict
from osqueue_types import CASConflictError, StorageBackendError, Version

from tests.conftest import free_port

KEY = "queue.json"


async def test_s3_unreachable_endpoint_is_a_storage_error_naming_bucket_and_key(moto_server: str) -> None:
    backend = S3Backend("b", "p", endpoint_url=f"http://127.0.0.1:{free_port()}", connect_timeout=1)
    try:
        with pytest.raises(StorageBackendError, match=r"bucket 'b' key p/queue.json") as caught:
            await backend.read(KEY)
        assert "EndpointConnectionError" in str(caught.value)
        with pytest.raises(StorageBackendError, match=r"write of bucket 'b' key p/queue.json"):
            await backend.write(KEY, b"x", Version("v"))
    finally:
        await backend.aclose()


def _client_error(code: str, status: int) -> ClientError:
    """The exception botocore raises for an S3 error answer."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutObject",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [("ConditionalRequestConflict", 409), ("PreconditionFailed", 412), ("NoSuchKey", 404)],
)
def test_s3_conditional_write_failures_are_cas_conflicts(code: str, status: int) -> None:
    conflict = cas_conflict(_error_code(_client_error(code, status)), "bucket 'b' key p/queue.json")
    assert isinstance(conflict, CASConflictError)
    assert "bucket 'b' key p/queue.json" in conflict.message and code in conflict.message


@pytest.mark.parametrize(
    ("code", "status"),
    [("OperationAborted", 409), ("AccessDenied", 403), ("NoSuchBucket", 404), ("InternalError", 500)],
)
def test_s3_other_failures_are_not_cas_conflicts(code: str, status: int) -> None:
    assert cas_conflict(_error_code(_client_error(code, status)), "bucket 'b' key k") is None
    assert cas_conflict(_error_code(OSError("connection reset")), "bucket 'b' key k") is None


async def test_s3_backend_reuses_one_client(
    moto_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = S3Backend(s3_bucket, "p", endpoint_url=moto_server)
    created = 0
    create_client = backend._session.create_client

    def counting_create_client(*args: Any, **kwargs: Any) -> Any:
        nonlocal created
        created += 1
        return create_client(*args, **kwargs)

    monkeypatch.setattr(backend._session, "create_client", counting_create_client)
    try:
        # The first calls race to create the client; only one is made.
        await asyncio.gather(*(backend.read(f"k{i}") for i in range(5)))
        client = await backend._get_client(KEY)
        version = await backend.create_if_not_exists(KEY, b"0")
        for i in range(1, 6):
            version = await backend.write(KEY, str(i).encode(), version)
            assert await backend.read(KEY) is not None
        with pytest.raises(CASConflictError):
            await backend.create_if_not_exists(KEY, b"again")
        assert await backend._get_client(KEY) is client
        assert created == 1
    finally:
        await backend.aclose()


async def test_s3_client_that_cannot_be_created_names_bucket_and_key() -> None:
    backend = S3Backend("b", "p", endpoint_url="not a url")
    try:
        with pytest.raises(
            StorageBackendError, match=r"^S3 client for bucket 'b' key p/queue.json could not be"
        ):
            await backend.read(KEY)
    finally:
        await backend.aclose()


async def test_s3_client_is_reopened_after_aclose(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint_url=moto_server)
    version = await backend.create_if_not_exists(KEY, b"x")
    await backend.aclose()
    current = await backend.read(KEY)
    await backend.aclose()
    assert current is not None and current.version == version


async def test_s3_version_is_the_etag(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint_url=moto_server)
    try:
        version = await backend.create_if_not_exists(KEY, b"x")
        assert version.token == '"9dd4e461268c8034f5c8564e155c67a6"'  # MD5 of b"x", quoted
    finally:
        await backend.aclose()


async def test_gcs_unreachable_endpoint_is_a_storage_error_naming_bucket_and_key() -> None:
    backend = GCSBackend("b", "p", api_root=f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(StorageBackendError, match=r"bucket 'b' key p/queue.json"):
            await backend.read(KEY)
        with pytest.raises(StorageBackendError, match=r"write of bucket 'b' key p/queue.json"):
            await backend.create_if_not_exists(KEY, b"x")
    finally:
        await backend.aclose()


async def test_gcs_client_that_cannot_be_created_is_a_storage_error_naming_bucket_and_key(
    tmp_path: Path,
) -> None:
    backend = GCSBackend("b", "p", service_file=str(tmp_path / "missing-service-account.json"))
    try:
        with pytest.raises(
            StorageBackendError, match=r"^GCS read of bucket 'b' key p/queue.json failed: FileNotF"
        ):
            await backend.read(KEY)
        with pytest.raises(StorageBackendError, match=r"^GCS write of bucket 'b' key p/queue.json failed"):
            await backend.write(KEY, b"x", Version("1"))
    finally:
        await backend.aclose()


async def test_gcs_emulator_enforces_preconditions_only_on_multipart_uploads(
    fake_gcs_server: str, gcs_bucket: str
) -> None:
    backend = GCSBackend(gcs_bucket)
    try:
        version = await backend.create_if_not_exists(KEY, b"first")
        # A simple media upload with the same precondition is accepted by the emulator...
        media_upload_status = await asyncio.to_thread(
            _media_upload, f"{fake_gcs_server}/upload/storage/v1/b/{gcs_bucket}/o", b"overwritten"
        )
        # ...so only the multipart upload the backend sends makes the conflict tests meaningful.
        with pytest.raises(CASConflictError):
            await backend.create_if_not_exists(KEY, b"second")
        with pytest.raises(CASConflictError):
            await backend.write(KEY, b"third", version)
        if media_upload_status == 412:
            pytest.skip("this emulator now enforces preconditions on media uploads too")
        current = await backend.read(KEY)
        assert current is not None and current.data == b"overwritten"
    finally:
        await backend.aclose()


def _media_upload(url: str, data: bytes) -> int:
    """A simple (media) upload of `queue.json` that must not exist yet; returns the HTTP status."""
    request = urllib.request.Request(
        f"{url}?uploadType=media&name={KEY}&ifGenerationMatch=0", data=data, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
