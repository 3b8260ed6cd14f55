"""What the REST and Connect transports share: one persistent httpx client and its error mapping."""

from __future__ import annotations

import httpx
from osqueue_types import TransportConfigError, TransportConnectionError, TransportRequestError

from ._errors import error_from_http_body
from ._transport import Transport

_HEALTH = "/healthz"
# Enough keep-alive connections for a busy worker pool on one client.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30.0)


class HttpTransport(Transport):
    """Base of the httpx transports. `http` lets tests or callers bring their own AsyncClient
    (e.g. one with `httpx.MockTransport`, proxies or TLS settings); it is closed with this one."""

    def __init__(self, *, auth_token: str | None = None, http: httpx.AsyncClient | None = None) -> None:
        self._http = http if http is not None else httpx.AsyncClient(limits=_LIMITS)
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
        try:
            return await self._http.request(method, url, content=content, headers=headers, timeout=timeout)
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

    async def connect(self, broker_url: str, timeout: float) -> None:
        # /healthz answers without auth; it proves the broker is there and warms a connection.
        response = await self._send("GET", broker_url + _HEALTH, content=None, headers={}, timeout=timeout)
        if response.status_code != 200:
            raise error_from_http_body(
                response.content, status=response.status_code, method="GET", path=_HEALTH
            )

    async def aclose(self) -> None:
        await self._http.aclose()
