"""Connect transport: the Connect unary protocol with binary protobuf, over httpx.

A request is `POST /osqueue.v1.QueueService/<Method>` with the serialized message as body;
a 200 answer is the serialized reply, any other status a JSON Connect error whose
`osqueue.v1.ErrorInfo` detail names the osqueue error class.
"""

from __future__ import annotations

from typing import TypeVar

import httpx
from google.protobuf.message import DecodeError as ProtobufDecodeError
from osqueue_types import TransportRequestError

from ._calls import Call
from ._connect_codec import RPCS
from ._errors import error_from_connect_body
from ._http import HttpTransport

R = TypeVar("R")


class ConnectTransport(HttpTransport):
    """Binary protobuf RPC; the default transport."""

    def __init__(self, *, auth_token: str | None = None, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(auth_token=auth_token, http=http)
        self._rpc_headers = {
            **self._auth,
            "content-type": "application/proto",
            "connect-protocol-version": "1",
        }

    async def call(self, broker_url: str, request: Call[R], timeout: float) -> R:
        rpc = RPCS.get(type(request))
        if rpc is None:
            raise TypeError(f"ConnectTransport cannot send {type(request).__name__}")
        body = rpc.encode(request).SerializeToString()
        url = broker_url + rpc.path
        response = await self._send("POST", url, content=body, headers=self._rpc_headers, timeout=timeout)
        if response.status_code != 200:
            raise error_from_connect_body(response.content, status=response.status_code, path=rpc.path)
        try:
            return rpc.decode(response.content)  # type: ignore[no-any-return]
        except (ProtobufDecodeError, ValueError) as exc:
            raise TransportRequestError(
                f"POST {rpc.path}: malformed answer: {exc}", method="POST", path=rpc.path, status=200
            ) from exc
