"""Typed payloads: a registry maps job types to the type their payload must be.

`submit` converts the payload to the registered type (validating it) and encodes it to JSON
before anything is sent. A claimed payload is decoded into the registered type. Job types
without an entry carry plain JSON values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from osqueue_types import PayloadValidationError

from ._calls import WireClaimedJob
from ._models import ClaimedJob

Registry = Mapping[str, Any]
"""Job type -> a msgspec Struct (or any type msgspec can convert: dataclass, TypedDict, list[int] ...)."""

_encoder = msgspec.json.Encoder()
_plain = msgspec.json.Decoder()


class PayloadCodec:
    def __init__(self, registry: Registry | None = None) -> None:
        self._types = dict(registry or {})
        self._decoders = {name: msgspec.json.Decoder(tp) for name, tp in self._types.items()}

    def encode(self, job_type: str | None, payload: Any) -> msgspec.Raw:
        target = self._types.get(job_type) if job_type is not None else None
        try:
            if target is not None:
                payload = msgspec.convert(payload, target)
            return msgspec.Raw(_encoder.encode(payload))
        except (msgspec.ValidationError, TypeError) as exc:
            kind = f" (registered: {_type_name(target)})" if target is not None else ""
            raise PayloadValidationError(f"invalid payload for job type {job_type!r}{kind}: {exc}") from exc

    def claimed(self, job: WireClaimedJob) -> ClaimedJob:
        raw = bytes(job.payload)
        decoder = self._decoders.get(job.type) if job.type is not None else None
        payload: Any = None
        error: PayloadValidationError | None = None
        try:
            payload = (decoder or _plain).decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            error = PayloadValidationError(
                f"payload of job {job.job_id} (type {job.type!r}) does not decode: {exc}"
            )
        return ClaimedJob(
            id=job.job_id,
            type=job.type,
            payload=payload,
            raw_payload=raw,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            payload_error=error,
        )


def _type_name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)
