"""S3 and GCS specifics: how failures surface, client lifetime, what the emulator enforces."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from osqueue_storage import GCSBackend, S3Backend
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
