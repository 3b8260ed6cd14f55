"""Small HTTP helpers shared by the REST routes: bounded body reading, decoding, JSON replies."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from osqueue_types import InvalidRequestError, OsqueueError, PayloadTooLargeError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

_T = TypeVar("_T")

JSON = "application/json"
_encoder = msgspec.json.Encoder()
_EMPTY_OBJECT = b"{}"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequestError("invalid Content-Length header")
        if int(declared) > limit:
            raise PayloadTooLargeError(f"request body of {declared} bytes exceeds the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"request body exceeds the {limit}-byte limit")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode(decoder: msgspec.json.Decoder[_T], data: bytes | msgspec.Raw, *, utf8_checked: bool = False) -> _T:
    """Decode a JSON body; malformed JSON or wrong types become InvalidRequestError."""
    if not utf8_checked:
        assert isinstance(data, bytes)
        check_utf8(data)
    try:
        return decoder.decode(data or _EMPTY_OBJECT)
    except msgspec.ValidationError as exc:
        raise InvalidRequestError(f"invalid request: {exc}") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidRequestError(f"malformed JSON body: {exc}") from None


def check_utf8(data: bytes) -> None:
    """JSON text is UTF-8, but msgspec does not look inside the strings of a Raw payload."""
    if not data.isascii():
        try:
            data.decode()
        except UnicodeDecodeError as exc:
            raise InvalidRequestError(f"body is not valid UTF-8: {exc}") from None


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status, media_type=JSON)


def error_response(error: OsqueueError, status: int | None = None) -> Response:
    return Response(_encoder.encode(error.to_wire()), status or error.http_status, media_type=JSON)


def no_content() -> Response:
    return Response(status_code=204)
