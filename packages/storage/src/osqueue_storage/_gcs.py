"""Google Cloud Storage through gcloud-aio-storage; the object generation is the version.

CAS uses `ifGenerationMatch=<generation>` to replace and `ifGenerationMatch=0` to create;
GCS answers 412 when the precondition fails. Uploads are always multipart (metadata plus
media): the fake-gcs-server emulator ignores preconditions on simple media uploads.
The emulator is used when STORAGE_EMULATOR_HOST is set, as gcloud-aio does by itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from osqueue_types import CASConflictError, ConfigError, ReadResult, StorageBackendError, Version

from ._keys import check_key, join_prefix

_UPLOAD_METADATA = {"Cache-Control": "no-store"}


class GCSBackend:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        service_file: str | None = None,
        api_root: str | None = None,
        timeout: int = 30,
    ) -> None:
        try:
            from gcloud.aio.storage import Storage
        except ImportError as exc:
            raise ConfigError(
                'GCS storage needs gcloud-aio-storage: pip install "osqueue-storage[gcs]"'
            ) from exc
        if not bucket:
            raise ConfigError("GCS storage needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.timeout = timeout
        self._storage_class = Storage
        self._service_file = service_file
        self._api_root = api_root
        self._storage: Any = None  # created on first use: its HTTP session needs a running loop
        self._bucket_exists = False

    def __repr__(self) -> str:
        return f"GCSBackend(bucket={self.bucket!r}, prefix={self.prefix!r})"

    async def read(self, key: str) -> ReadResult | None:
        name = self._name(key)
        try:
            # Created inside the try: a client that cannot be built (a bad service file) is a
            # StorageBackendError naming the bucket and key like any other failure.
            storage = self._get_storage()
            stream = await storage.download_stream(self.bucket, name, timeout=self.timeout)
            async with stream as response:
                data: bytes = await response.read()
                generation = response.headers.get("x-goog-generation")
        except Exception as exc:
            if _status(exc) == 404 and not await self._bucket_missing(name):
                return None
            self._raise(exc, "read", name)
        if generation is None:
            raise StorageBackendError(f"GCS read of {self._where(name)} returned no generation header")
        return ReadResult(data, Version(str(generation)))

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self._upload(key, data, expected.token)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        return await self._upload(key, data, "0")

    async def aclose(self) -> None:
        if self._storage is not None:
            storage, self._storage = self._storage, None
            await storage.close()

    async def _upload(self, key: str, data: bytes, generation: str) -> Version:
        name = self._name(key)
        try:
            storage = self._get_storage()
            result: dict[str, Any] = await storage.upload(
                self.bucket,
                name,
                bytes(data),
                content_type="application/octet-stream",
                parameters={"ifGenerationMatch": generation},
                metadata=_UPLOAD_METADATA,  # metadata turns the upload into a multipart one
                force_resumable_upload=False,
                timeout=self.timeout,
            )
        except Exception as exc:
            if _status(exc) == 412:
                raise CASConflictError(f"GCS generation mismatch on {self._where(name)}") from exc
            self._raise(exc, "write", name)
        return Version(str(result["generation"]))

    def _name(self, key: str) -> str:
        check_key(key)
        return join_prefix(self.prefix, key)

    def _get_storage(self) -> Any:
        if self._storage is None:
            self._storage = self._storage_class(service_file=self._service_file, api_root=self._api_root)
        return self._storage

    async def _bucket_missing(self, name: str) -> bool:
        """Tell a missing object from a missing bucket (both are a bare 404 on the emulator).

        A 403 counts as existing: object-only roles may not read bucket metadata.
        """
        if self._bucket_exists:
            return False
        try:
            await self._get_storage().get_bucket_metadata(self.bucket, timeout=self.timeout)
        except Exception as exc:
            if _status(exc) == 404:
                return True
            if _status(exc) != 403:
                self._raise(exc, "read", name)
        self._bucket_exists = True
        return False

    def _where(self, name: str) -> str:
        return f"bucket '{self.bucket}' key {name}"

    def _raise(self, exc: Exception, op: str, name: str) -> NoReturn:
        status = _status(exc)
        if status == 404:
            message = f"GCS bucket '{self.bucket}' does not exist (key {name})"
        elif status in (401, 403):
            permission = "storage.objects.get" if op == "read" else "storage.objects.create/delete"
            message = f"GCS access denied ({status}): {op} of {self._where(name)} needs {permission}"
        elif isinstance(exc, asyncio.TimeoutError):
            message = f"GCS {op} of {self._where(name)} timed out after {self.timeout}s"
        else:
            message = f"GCS {op} of {self._where(name)} failed: {type(exc).__name__}: {exc}"
        raise StorageBackendError(message) from exc


def _status(exc: Exception) -> int | None:
    """HTTP status of an aiohttp ClientResponseError, else None."""
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None
