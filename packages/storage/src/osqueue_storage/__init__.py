"""osqueue-storage: where queue.json lives. Memory, local files, S3, GCS, plus wrappers.

Every backend implements `osqueue_types.StorageBackend`: `read`, CAS `write`,
`create_if_not_exists` and `aclose`, raising `CASConflictError` when the expected version is
no longer current and `StorageBackendError` for every other failure.
"""

from __future__ import annotations

from ._config import open_storage, storage_from_env
from ._file import FileBackend
from ._gcs import GCSBackend
from ._memory import MemoryBackend
from ._s3 import S3Backend
from ._throttle import ThrottledBackend, ThrottleStats
from ._wrappers import CountingBackend, LatencyBackend

__all__ = [
    "CountingBackend",
    "FileBackend",
    "GCSBackend",
    "LatencyBackend",
    "MemoryBackend",
    "S3Backend",
    "ThrottleStats",
    "ThrottledBackend",
    "open_storage",
    "storage_from_env",
]
