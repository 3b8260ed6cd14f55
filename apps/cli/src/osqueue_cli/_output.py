"""Printing: rich tables on a terminal, stable wide text when piped, JSON on request."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console

# Piped output is read by scripts and tests: wide enough that a job id never wraps.
_PIPE_WIDTH = 200


def console() -> Console:
    return Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH, highlight=False)


def print_json(value: Any) -> None:
    import msgspec

    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def age(ms_since_epoch: int | None, *, now_ms: int | None = None) -> str:
    """'4s ago', '3m ago', 'in 2h' — or '-' for a missing time."""
    if not ms_since_epoch:
        return "-"
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    delta = (now_ms - ms_since_epoch) / 1000
    text = _span(abs(delta))
    return f"{text} ago" if delta >= 0 else f"in {text}"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
