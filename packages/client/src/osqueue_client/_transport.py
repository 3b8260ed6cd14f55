"""The adapter every transport implements (built-in or your own, as with httpx's BaseTransport)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from osqueue_types import TransportConfigError, TransportConnectionError

from ._calls import Call

R = TypeVar("R")


class Transport(abc.ABC):
    """Carries calls to a broker. One instance serves one client and may be used concurrently.

    Contract for implementations:
    - `call` sends `request` to the broker at `broker_url` (e.g. "http://10.0.0.5:8080") and
      returns the decoded answer (`osqueue_client.reply_type(request)`), within `timeout`
      seconds.
    - A broker that answers with an error raises the typed osqueue error it names
      (`osqueue_types.error_from_wire`); any other unexpected answer raises
      `TransportRequestError`.
    - A broker that cannot be reached, a connection lost mid-request, or a timeout raises
      `TransportConnectionError`: the client then retries (elsewhere, after discovery).
    - Once `aclose` has run, every method raises `TransportConnectionError`.
    """

    @abc.abstractmethod
    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R: ...

    async def connect(self, broker_url: str, timeout: float) -> None:  # noqa: B027 - optional hook
        """Check that the broker answers and open (or re-open) the connection to it now rather
        than on the first call; raise as `call` does."""

    def stream_state(
        self, broker_url: str, queue: str, timeout: float
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """`GET /state` of the broker at `broker_url` (an HTTP route whatever the transport):
        entering sends the request and raises as `call` does unless the answer is 200; inside,
        the body's chunks as they arrive. Optional: without it `OsqueueClient.state()` raises
        `TransportConfigError`."""
        raise TransportConfigError(f"{type(self).__name__} does not fetch the raw state (GET /state)")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the transport is not used afterwards."""


class BuiltinTransport(Transport):
    """What the built-in transports share: once `aclose` has begun (`_closed`), `_check_open`
    refuses every call with `TransportConnectionError`, as the contract above asks."""

    _closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise TransportConnectionError(f"this {type(self).__name__} is closed")
