"""A signed-cookie session (HMAC-SHA256 over a small JSON dict), with no server-side store.

It fills `scope["session"]`, so `request.session` works as with Starlette's SessionMiddleware,
without needing itsdangerous.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "osqueue_dashboard"
DEFAULT_MAX_AGE_S = 12 * 60 * 60


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Encodes `{data, issued}` as `<base64 json>.<base64 mac>`; rejects forged or expired values."""

    def __init__(self, secret: bytes, *, max_age_s: int = DEFAULT_MAX_AGE_S) -> None:
        self._secret = secret
        self.max_age_s = max_age_s

    def _mac(self, body: str) -> str:
        return _b64encode(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any], *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        body = _b64encode(json.dumps({"d": data, "t": issued}, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def loads(self, value: str, *, now: float | None = None) -> dict[str, Any] | None:
        body, _, mac = value.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            decoded = json.loads(_b64decode(body))
        except ValueError:
            return None
        if not isinstance(decoded, dict) or not isinstance(decoded.get("d"), dict):
            return None
        issued = decoded.get("t")
        current = time.time() if now is None else now
        if not isinstance(issued, int) or current - issued > self.max_age_s:
            return None
        data: dict[str, Any] = decoded["d"]
        return data


class SignedSessionMiddleware:
    def __init__(self, app: ASGIApp, signer: SessionSigner) -> None:
        self.app = app
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        loaded = self.signer.loads(cookie) if cookie else None
        scope["session"] = dict(loaded or {})
        original = dict(scope["session"])

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["session"] != original:
                headers = MutableHeaders(scope=message)
                value = self.signer.dumps(scope["session"])
                headers.append(
                    "set-cookie",
                    f"{COOKIE_NAME}={value}; Path=/; Max-Age={self.signer.max_age_s}; HttpOnly; SameSite=Lax",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)
