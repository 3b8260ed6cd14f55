"""What the REST and Connect transports share: one persistent httpx client and its error mapping,
and the raw state (`GET /state`), which every built-in transport fetches over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from urllib.parse import urlencode

import httpx
from osqueue_types import (
    DEFAULT_QUEUE,
    TransportConfigError,
    TransportConnectionError,
    TransportRequestError,
)

from ._errors import error_from_http_body
from ._transport import BuiltinTransport

_HEALTH = "/healthz"
STATE_PATH = "/state"
# Enough keep-alive connections for a busy worker pool on one client.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30.0)


def new_http_client() -> httpx.AsyncClient:
    """The httpx client a built-in transport opens when the caller brings none."""
    return httpx.AsyncClient(limits=_LIMITS)


@contextmanager
def http_errors(method: str, url: str, timeout: float) -> Iterator[None]:
    """httpx's exceptions as the typed errors of the `Transport` contract."""
    try:
        yield
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise TransportConfigError(f"bad broker URL {url!r}: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise TransportConnectionError(f"{method} {url}: no answer within {timeout:g}s") from exc
    except httpx.TransportError as exc:
        raise TransportConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    except httpx.DecodingError as exc:
        # The answer came but its body could not be decoded (a bad Content-Encoding): a
        # broken answer like any other, not a connection failure to retry.
        path = httpx.URL(url).path
        raise TransportRequestError(
            f"{method} {url}: malformed answer: {exc}", method=method, path=path
        ) from exc


@asynccontextmanager
async def stream_state(
    http: httpx.AsyncClient, headers: dict[str, str], broker_url: str, queue: str, timeout: float
) -> AsyncIterator[AsyncIterator[bytes]]:
    """`GET /state` of `broker_url`: the body in chunks as it arrives, once the broker answered 200;
    any other answer raises the typed error it names (a standby's NotLeaderError among them)."""
    url = broker_url + STATE_PATH
    if queue != DEFAULT_QUEUE:
        url += "?" + urlencode({"queue": queue})
    with http_errors("GET", url, timeout):
        request = http.build_request("GET", url, headers=headers, timeout=timeout)
        response = await http.send(request, stream=True)
    try:
        if response.status_code != 200:
            with http_errors("GET", url, timeout):
                body = await response.aread()
            raise error_from_http_body(body, status=response.status_code, method="GET", path=STATE_PATH)
        yield _chunks(response, url, timeout)
    finally:
        await response.aclose()


async def _chunks(response: httpx.Response, url: str, timeout: float) -> AsyncIterator[bytes]:
    with http_errors("GET", url, timeout):
        async for chunk in response.aiter_bytes():
            yield chunk


class HttpTransport(BuiltinTransport):
    """Base of the httpx transports. `http` lets tests or callers bring their own AsyncClient
    (e.g. one with `httpx.MockTransport`, proxies or TLS settings); it is closed with this one."""

    def __init__(self, *, auth_token: str | None = None, http: httpx.AsyncClient | None = None) -> None:
        self._http = http if http is not None else new_http_client()
        self._auth = {"authorization": f"Bearer {auth_token}"} if auth_token else {}

    async def _send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> httpx.Response:
        self._check_open()
        with http_errors(method, url, timeout):
            return await self._http.request(method, url, content=content, headers=headers, timeout=timeout)

    async def connect(self, broker_url: str, timeout: float) -> None:
        # /healthz answers without auth; it proves the broker is there and warms a connection.
        response = await self._send("GET", broker_url + _HEALTH, content=None, headers={}, timeout=timeout)
        if response.status_code != 200:
            raise error_from_http_body(
                response.content, status=response.status_code, method="GET", path=_HEALTH
            )

    def stream_state(
        self, broker_url: str, queue: str, timeout: float
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        self._check_open()
        return stream_state(self._http, self._auth, broker_url, queue, timeout)

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()
