"""Finding the leading broker from the queue's state object on storage.

The leader writes its address into the `broker` field of queue.json (or the named queue's
object) and refreshes it; reading that field is all a client needs to find it.
"""

from __future__ import annotations

import msgspec
from osqueue_types import ConfigError, DiscoveryError, OsqueueError, StorageBackend, queue_state_key


class _Leader(msgspec.Struct, rename="camel"):
    # Only the leader's address; msgspec skips the (possibly many) jobs without building them.
    broker: str | None = None


_decoder = msgspec.json.Decoder(_Leader)


class LeaderDiscovery:
    """Reads the leader's address ("host:port") from storage; `storage` is a backend or a URL."""

    def __init__(self, storage: StorageBackend | str, queue: str) -> None:
        self._owned = isinstance(storage, str)
        self._backend = _open_storage(storage) if isinstance(storage, str) else storage
        self._key = queue_state_key(queue)

    async def leader(self) -> str:
        try:
            found = await self._backend.read(self._key)
        except OsqueueError as exc:
            raise DiscoveryError(f"cannot read {self._key} to find the broker: {exc}") from exc
        if found is None:
            raise DiscoveryError(f"no {self._key} on storage yet: no broker has started for this queue")
        try:
            state = _decoder.decode(found.data)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec reports bad UTF-8 bare
            raise DiscoveryError(f"{self._key} is not a queue state: {exc}") from exc
        if not state.broker:
            raise DiscoveryError(f"{self._key} names no broker")
        return state.broker

    async def aclose(self) -> None:
        if self._owned:
            await self._backend.aclose()


def _open_storage(url: str) -> StorageBackend:
    try:
        from osqueue_storage import open_storage
    except ImportError as exc:
        raise ConfigError(
            "finding the broker from a storage URL needs osqueue-storage: "
            "pip install 'osqueue-client[discovery]'"
        ) from exc
    return open_storage(url)
