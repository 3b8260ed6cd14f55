"""Amazon S3 (and S3-compatible) storage through aiobotocore; the ETag is the version.

CAS uses S3 conditional writes: `If-Match: <etag>` to replace, `If-None-Match: *` to create.
S3 answers 412 PreconditionFailed when the condition fails and 409
ConditionalRequestConflict when a concurrent conditional write wins the race.

A conditional PUT can be sent twice: when the connection drops after S3 applied it, aiohttp
resends it on a fresh connection and botocore retries it, and the second copy fails its own
condition against the first. So every PUT carries a random write id in its user metadata, and
on a conflict the object's metadata is read back: our own id means the object is our write,
which is reported as done. A writer that stored the same bytes concurrently has another id, so
its write still conflicts with ours, as compare-and-swap requires.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any, NoReturn

from osqueue_types import CASConflictError, ConfigError, ReadResult, StorageBackendError, Version

from ._keys import check_key, join_prefix

# User metadata (x-amz-meta-osqueue-write) naming the PUT that stored an object.
_WRITE_ID = "osqueue-write"
_CAS_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_PERMISSION_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "Forbidden", "403"})
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)


class S3Backend:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 2,
    ) -> None:
        try:
            from aiobotocore.config import AioConfig
            from aiobotocore.session import get_session
        except ImportError as exc:
            raise ConfigError('S3 storage needs aiobotocore: pip install "osqueue-storage[s3]"') from exc
        if not bucket:
            raise ConfigError("S3 storage needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self._session = get_session()
        self._config = AioConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Few retries: the engine retries whole commits. A retried PUT whose first attempt
            # landed is recognised by its write id (see above), so it is never a false conflict.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            # Checksums only where S3 requires them: S3-compatible stores often reject the rest.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._client: Any = None
        self._client_lock = asyncio.Lock()
        self._exit_stack = contextlib.AsyncExitStack()

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r})"

    async def read(self, key: str) -> ReadResult | None:
        name = self._name(key)
        client = await self._get_client(name)
        try:
            response = await client.get_object(Bucket=self.bucket, Key=name)
            async with response["Body"] as body:
                data: bytes = await body.read()
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None
            self._raise(exc, "read", name)
        return ReadResult(data, Version(str(response["ETag"])))

    async def write(self, key: str, data: bytes, expected: Version) -> Version:
        return await self._put(key, data, IfMatch=expected.token)

    async def create_if_not_exists(self, key: str, data: bytes) -> Version:
        return await self._put(key, data, IfNoneMatch="*")

    async def aclose(self) -> None:
        async with self._client_lock:
            await self._exit_stack.aclose()
            self._client = None

    async def _put(self, key: str, data: bytes, **condition: str) -> Version:
        name = self._name(key)
        client = await self._get_client(name)
        write_id = secrets.token_hex(16)
        try:
            response = await client.put_object(
                Bucket=self.bucket, Key=name, Body=bytes(data), Metadata={_WRITE_ID: write_id}, **condition
            )
        except Exception as exc:
            code = _error_code(exc)
            conflict = cas_conflict(code, self._where(name))
            if conflict is None:
                self._raise(exc, "write", name)
            if code in _CAS_CODES:
                landed = await self._version_written_by(client, name, write_id)
                if landed is not None:
                    return landed
            raise conflict from exc
        return Version(str(response["ETag"]))

    async def _version_written_by(self, client: Any, name: str, write_id: str) -> Version | None:
        """The object's version if `write_id` stored it (our own PUT, sent twice), else None."""
        try:
            head = await client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None
            # A conflict we cannot tell from our own landed write: the outcome is unknown.
            self._raise(exc, "HEAD after a conflicting write", name)
        if head.get("Metadata", {}).get(_WRITE_ID) == write_id:
            return Version(str(head["ETag"]))
        return None

    def _name(self, key: str) -> str:
        check_key(key)
        return join_prefix(self.prefix, key)

    async def _get_client(self, name: str) -> Any:
        """The backend's one aiobotocore client, created on first use and kept until aclose()."""
        if self._client is None:
            async with self._client_lock:
                if self._client is None:
                    try:
                        self._client = await self._exit_stack.enter_async_context(
                            self._session.create_client(
                                "s3",
                                endpoint_url=self.endpoint_url,
                                region_name=self.region,
                                config=self._config,
                            )
                        )
                    except Exception as exc:
                        problem = f"{type(exc).__name__}: {exc}"
                        raise StorageBackendError(
                            f"S3 client for {self._where(name)} could not be created: {problem}"
                        ) from exc
        return self._client

    def _where(self, name: str) -> str:
        return f"bucket '{self.bucket}' key {name}"

    def _raise(self, exc: Exception, op: str, name: str) -> NoReturn:
        code = _error_code(exc)
        if code == "NoSuchBucket":
            message = f"S3 bucket '{self.bucket}' does not exist (key {name})"
        elif code in _PERMISSION_CODES:
            action = "s3:PutObject" if op == "write" else "s3:GetObject"
            message = f"S3 access denied: {op} of {self._where(name)} needs {action}"
        elif code in _CREDENTIAL_CODES:
            message = f"S3 rejected the credentials ({code}) on {op} of {self._where(name)}"
        elif type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            message = f"S3 {op} of {self._where(name)} failed: no AWS credentials found ({exc})"
        elif code is not None:
            message = f"S3 {op} of {self._where(name)} failed: {code}: {_error_message(exc)}"
        else:
            message = f"S3 {op} of {self._where(name)} failed: {type(exc).__name__}: {exc}"
        raise StorageBackendError(message) from exc


def cas_conflict(code: str | None, where: str) -> CASConflictError | None:
    """The CASConflictError a failed conditional PUT stands for, given its S3 error code
    (`_error_code` of the exception), or None for any other failure.

    412 PreconditionFailed: the condition did not hold; 409 ConditionalRequestConflict: a
    concurrent conditional write to the key won the race; NoSuchKey: the object If-Match
    expected to replace is gone, which is a lost race too.
    """
    if code in _CAS_CODES or code == "NoSuchKey":
        return CASConflictError(f"S3 version mismatch on {where} ({code})")
    return None


def _error_code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def _error_message(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {})
    return str(response.get("Error", {}).get("Message", "")) or str(exc)
