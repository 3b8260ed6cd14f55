"""Turning a broker's error answer into the typed osqueue error it names."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from google.protobuf.message import DecodeError as ProtobufDecodeError
from osqueue_proto.v1 import queue_pb2
from osqueue_types import OsqueueError, TransportRequestError, error_from_wire

_ERROR_INFO_TYPE = "osqueue.v1.ErrorInfo"


def error_from_answer(body: object, *, status: int | None, method: str, path: str) -> OsqueueError:
    """The error a REST or WebSocket answer (`{"_tag", "message", ...}`) stands for.

    A tag this client does not know, or a body that is not an osqueue error at all (a proxy's
    error page), becomes a `TransportRequestError` naming the request.
    """
    if isinstance(body, dict) and isinstance(body.get("_tag"), str):
        error = error_from_wire(body, status=status)
        if not isinstance(error, TransportRequestError):
            return error
        message, remote_tag = error.message, error.remote_tag
    else:
        message, remote_tag = f"unexpected answer: {body!r}"[:300], None
    return TransportRequestError(
        f"{method} {path} failed ({status}): {message}",
        method=method,
        path=path,
        status=status,
        remote_tag=remote_tag,
    )


def error_from_http_body(body: bytes, *, status: int, method: str, path: str) -> OsqueueError:
    try:
        decoded: object = msgspec.json.decode(body)
    except msgspec.DecodeError:
        decoded = body[:200].decode(errors="replace")
    return error_from_answer(decoded, status=status, method=method, path=path)


def error_from_connect_body(body: bytes, *, status: int, path: str) -> OsqueueError:
    """A Connect error: `{code, message, details: [{type, value}]}`, the tag in an ErrorInfo detail."""
    try:
        decoded: object = msgspec.json.decode(body)
    except msgspec.DecodeError:
        decoded = None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("code"), str):
        return error_from_http_body(body, status=status, method="POST", path=path)
    message = str(decoded.get("message", ""))
    info = _error_info(decoded.get("details"))
    if info is None:
        wire: dict[str, Any] = {"_tag": decoded["code"], "message": message}
    else:
        wire = {"_tag": info.tag, "message": message}
        if info.HasField("leader"):
            wire["leader"] = info.leader
    return error_from_answer(wire, status=status, method="POST", path=path)


def _error_info(details: object) -> queue_pb2.ErrorInfo | None:
    if not isinstance(details, list):
        return None
    for detail in details:
        if not isinstance(detail, dict):
            continue
        kind = detail.get("type")
        if not isinstance(kind, str) or kind.rpartition("/")[2] != _ERROR_INFO_TYPE:
            continue
        value = detail.get("value")
        if not isinstance(value, str):
            continue
        try:
            # Connect may leave out the base64 padding.
            raw = base64.b64decode(value + "=" * (-len(value) % 4))
            return queue_pb2.ErrorInfo.FromString(raw)
        except (binascii.Error, ValueError, ProtobufDecodeError):
            continue
    return None
