"""The producer form, checked on the server (the browser checks it too, but is not trusted)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from osqueue_types import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_PAYLOAD_BYTES

MAX_TYPE_LENGTH = 200
MAX_ATTEMPTS_LIMIT = 1000
MAX_DELAY_S = 30 * 24 * 3600
INT32 = 2**31 - 1


@dataclass(frozen=True, slots=True)
class JobForm:
    """The fields as typed, kept to fill the form again after an error."""

    type: str = ""
    payload: str = "{}"
    max_attempts: str = str(DEFAULT_MAX_ATTEMPTS)
    delay: str = "0"
    priority: str = "0"

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> JobForm:
        return cls(
            type=fields.get("type", "").strip(),
            payload=fields.get("payload", ""),
            max_attempts=fields.get("max_attempts", "").strip(),
            delay=fields.get("delay", "").strip(),
            priority=fields.get("priority", "").strip(),
        )


@dataclass(frozen=True, slots=True)
class NewJob:
    type: str | None
    payload: Any
    max_attempts: int
    delay: float
    priority: int


@dataclass(slots=True)
class Validation:
    job: NewJob | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _integer(text: str, name: str, low: int, high: int, default: int, errors: dict[str, str]) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        errors[name] = "Enter a whole number."
        return default
    if not low <= value <= high:
        errors[name] = f"Must be between {low:,} and {high:,}."
    return value


def validate(form: JobForm) -> Validation:
    errors: dict[str, str] = {}
    if len(form.type) > MAX_TYPE_LENGTH:
        errors["type"] = f"At most {MAX_TYPE_LENGTH} characters."
    payload: Any = None
    if len(form.payload.encode()) > DEFAULT_MAX_PAYLOAD_BYTES:
        errors["payload"] = "The payload is larger than 1 MiB."
    elif not form.payload.strip():
        errors["payload"] = 'Enter a JSON value, e.g. {} or {"to": "a@b.c"}.'
    else:
        try:
            payload = json.loads(form.payload, parse_constant=_no_constants)
        except ValueError as exc:
            errors["payload"] = f"Not valid JSON: {exc}"
    max_attempts = _integer(
        form.max_attempts, "max_attempts", 1, MAX_ATTEMPTS_LIMIT, DEFAULT_MAX_ATTEMPTS, errors
    )
    priority = _integer(form.priority, "priority", -INT32, INT32, 0, errors)
    delay = 0.0
    if form.delay:
        try:
            delay = float(form.delay)
        except ValueError:
            errors["delay"] = "Enter a number of seconds."
        else:
            if not math.isfinite(delay) or not 0 <= delay <= MAX_DELAY_S:
                errors["delay"] = f"Must be between 0 and {MAX_DELAY_S:,} seconds."
    if errors:
        return Validation(errors=errors)
    return Validation(NewJob(form.type or None, payload, max_attempts, delay, priority))
