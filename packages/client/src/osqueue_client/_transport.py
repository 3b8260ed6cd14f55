"""The adapter every transport implements (built-in or your own, as with httpx's BaseTransport)."""

from __future__ import annotations

import abc
from typing import TypeVar

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
    """

    @abc.abstractmethod
    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R: ...

    async def connect(self, broker_url: str, timeout: float) -> None:  # noqa: B027 - optional hook
        """Check that the broker answers and open (or re-open) the connection to it now rather
        than on the first call; raise as `call` does."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the transport is not used afterwards."""
