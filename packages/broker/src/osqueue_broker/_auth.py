"""Bearer-token check shared by the three front doors."""

from __future__ import annotations

import hmac

from osqueue_types import AuthError


class TokenAuth:
    """Accepts every request when no token is configured; else `Authorization: Bearer <token>`."""

    def __init__(self, token: str | None) -> None:
        self.enabled = bool(token)
        self._expected_header = f"Bearer {token}".encode() if token else b""
        self._token = token.encode() if token else b""

    def check_header(self, value: bytes | str | None) -> None:
        """Raise AuthError unless `value` (the Authorization header) carries the token."""
        if not self.enabled:
            return
        if value is None:
            raise AuthError("missing Authorization: Bearer <token> header")
        raw = value.encode("latin-1") if isinstance(value, str) else value
        if not hmac.compare_digest(raw, self._expected_header):
            raise AuthError("invalid token")

    def check_token(self, token: str) -> None:
        """Raise AuthError unless `token` (from a WebSocket auth frame) is the token."""
        if not self.enabled:
            return
        if not hmac.compare_digest(token.encode(), self._token):
            raise AuthError("invalid token")
