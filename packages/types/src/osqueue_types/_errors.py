"""Typed errors. Every class has a stable `tag`, the `_tag` it carries on the wire.

OsqueueError
 ├── CASConflictError            storage version mismatch (compare-and-swap lost)
 ├── ConfigError                 bad configuration value
 ├── DiscoveryError              leader could not be found from storage
 ├── TransportConfigError        client transport misconfigured
 ├── TransportRequestError       the broker answered with an error (method, path, status, remote_tag)
 ├── TransportConnectionError    the broker could not be reached
 ├── StorageBackendError         storage failed (names backend, bucket and key)
 ├── BrokerLeadershipError       leadership problem (leader)
 │    └── NotLeaderError         this broker does not lead; retry at `leader`
 ├── BrokerProtocolError         malformed protocol message (method)
 ├── EngineStateError            the engine is not running
 │    └── ShuttingDownError      the broker is draining
 ├── WorkerExecutionError        a handler failed
 ├── JobNotFoundError            no such job in progress for this worker
 ├── InvalidRequestError         bad input (400)
 │    └── PayloadValidationError payload does not match its registered type
 ├── PayloadTooLargeError        body or payload above the limit (413)
 └── AuthError                   missing or wrong token (401)
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeGuard


class OsqueueError(Exception):
    tag: ClassVar[str] = "OsqueueError"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, Any]:
        return {"_tag": self.tag, "message": self.message}


class CASConflictError(OsqueueError):
    tag = "CASConflictError"
    http_status = 409

    def __init__(self, message: str = "CAS conflict: version mismatch") -> None:
        super().__init__(message)


class ConfigError(OsqueueError):
    tag = "ConfigError"
    http_status = 400


class DiscoveryError(OsqueueError):
    tag = "DiscoveryError"
    http_status = 503
    retryable = True


class TransportConfigError(OsqueueError):
    tag = "TransportConfigError"
    http_status = 400


class TransportRequestError(OsqueueError):
    tag = "TransportRequestError"

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        remote_tag: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.remote_tag = remote_tag

    def to_wire(self) -> dict[str, Any]:
        return {
            **super().to_wire(),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "remoteTag": self.remote_tag,
        }


class TransportConnectionError(OsqueueError):
    tag = "TransportConnectionError"
    http_status = 503
    retryable = True


class StorageBackendError(OsqueueError):
    tag = "StorageBackendError"
    http_status = 503
    retryable = True


class BrokerLeadershipError(OsqueueError):
    tag = "BrokerLeadershipError"
    http_status = 503
    retryable = True

    def __init__(self, message: str, *, leader: str | None = None) -> None:
        super().__init__(message)
        self.leader = leader

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "leader": self.leader}


class NotLeaderError(BrokerLeadershipError):
    tag = "NotLeaderError"


class BrokerProtocolError(OsqueueError):
    tag = "BrokerProtocolError"
    http_status = 400

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.method = method

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "method": self.method}


class EngineStateError(OsqueueError):
    tag = "EngineStateError"
    http_status = 503
    retryable = True


class ShuttingDownError(EngineStateError):
    tag = "ShuttingDownError"


class WorkerExecutionError(OsqueueError):
    tag = "WorkerExecutionError"


class JobNotFoundError(OsqueueError):
    tag = "JobNotFoundError"
    http_status = 404


class InvalidRequestError(OsqueueError):
    tag = "InvalidRequestError"
    http_status = 400


class PayloadValidationError(InvalidRequestError):
    tag = "PayloadValidationError"


class PayloadTooLargeError(OsqueueError):
    tag = "PayloadTooLargeError"
    http_status = 413


class AuthError(OsqueueError):
    tag = "AuthError"
    http_status = 401


def _catalogue() -> dict[str, type[OsqueueError]]:
    found: dict[str, type[OsqueueError]] = {}
    stack: list[type[OsqueueError]] = [OsqueueError]
    while stack:
        cls = stack.pop()
        found[cls.tag] = cls
        stack.extend(cls.__subclasses__())
    return found


ERROR_CLASSES: dict[str, type[OsqueueError]] = _catalogue()


def is_osqueue_error(value: object) -> TypeGuard[OsqueueError]:
    return isinstance(value, OsqueueError)


def error_from_wire(body: object, *, status: int | None = None) -> OsqueueError:
    """Rebuild the typed error from a `{"_tag", "message", ...}` body sent by a broker.

    `status` is the HTTP status the answer came with; a TransportRequestError that carries its
    own `status` keeps that one. An unknown tag becomes a TransportRequestError naming it.
    """
    if not isinstance(body, dict):
        return TransportRequestError(f"unexpected error body: {body!r}"[:500], status=status)
    tag = body.get("_tag")
    message = str(body.get("message", ""))
    cls = ERROR_CLASSES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        return TransportRequestError(
            message or f"unknown error {tag!r}",
            status=status,
            remote_tag=tag if isinstance(tag, str) else None,
        )
    if issubclass(cls, BrokerLeadershipError):
        return cls(message, leader=_text(body, "leader"))
    if issubclass(cls, BrokerProtocolError):
        return cls(message, method=_text(body, "method"))
    if issubclass(cls, TransportRequestError):
        sent_status = body.get("status")
        return cls(
            message,
            method=_text(body, "method"),
            path=_text(body, "path"),
            status=sent_status
            if isinstance(sent_status, int) and not isinstance(sent_status, bool)
            else status,
            remote_tag=_text(body, "remoteTag") if "remoteTag" in body else tag,
        )
    return cls(message)


def _text(body: dict[Any, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None
