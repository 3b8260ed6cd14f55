"""The broker's raw queue.json (`GET /state`): proxied for the browser, and read for the leader.

This is the one broker route that is not a client operation (it hands out the stored file as
is), so it is fetched with httpx from the broker the client currently talks to.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from osqueue_client import OsqueueClient
from osqueue_types import DEFAULT_QUEUE, TransportConnectionError

from ._format import age, duration

# queue.json starts with the leader fields (`broker`, `brokerHeartbeat`, then `jobs`): reading the
# first bytes tells who leads without downloading every job.
HEAD_BYTES = 4096
_BROKER = re.compile(rb'"broker"\s*:\s*(null|"((?:[^"\\]|\\.)*)")')
_HEARTBEAT = re.compile(rb'"brokerHeartbeat"\s*:\s*(\d+)')


@dataclass(frozen=True, slots=True)
class Leader:
    address: str | None
    heartbeat: int | None  # ms since the epoch; None when unknown

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.heartbeat is None else max(0, now_ms - self.heartbeat)

    def age_text(self, now_ms: int) -> str:
        return age(self.heartbeat, now_ms) if self.heartbeat else "unknown"

    def as_json(self, now_ms: int) -> dict[str, str | int | None]:
        age_ms = self.age_ms(now_ms)
        return {
            "address": self.address,
            "heartbeatAgeMs": age_ms,
            "heartbeatAge": "unknown" if age_ms is None else f"{duration(age_ms)} ago",
        }


def parse_leader(head: bytes) -> Leader:
    broker = _BROKER.search(head)
    heartbeat = _HEARTBEAT.search(head)
    address = broker.group(2).decode(errors="replace") if broker and broker.group(2) is not None else None
    return Leader(address, int(heartbeat.group(1)) if heartbeat else None)


class StateReader:
    def __init__(self, client: OsqueueClient, *, broker_url: str, auth_token: str | None) -> None:
        self._client = client
        self._fallback_url = broker_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {auth_token}"} if auth_token else {}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    @property
    def url(self) -> str:
        base = self._client.broker_url or self._fallback_url
        queue = self._client.queue
        return f"{base}/state" if queue == DEFAULT_QUEUE else f"{base}/state?{urlencode({'queue': queue})}"

    async def leader(self) -> Leader:
        head = b""
        try:
            async with self._http.stream("GET", self.url, headers=self._headers) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= HEAD_BYTES:
                        break
        except httpx.HTTPError as exc:
            raise TransportConnectionError(f"GET {self.url}: {type(exc).__name__}: {exc}") from exc
        return parse_leader(head[:HEAD_BYTES])

    async def open(self) -> httpx.Response:
        """The broker's answer to GET /state, body not read yet; close it when done."""
        request = self._http.build_request("GET", self.url, headers=self._headers)
        try:
            return await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise TransportConnectionError(f"GET {self.url}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    async def body(response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
