"""Jinja filters: times, durations, counts and payloads as people read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from osqueue_client import JobInfo, QueueStats
from osqueue_types import JobStatus


def duration(ms: int | float) -> str:
    seconds = max(0.0, ms / 1000)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def age(ms: int | None, now_ms: int) -> str:
    """How long ago a millisecond timestamp was; an em dash for "never"."""
    if not ms:
        return "\u2014"
    return f"{duration(now_ms - ms)} ago"


def timestamp(ms: int | None) -> str:
    if not ms:
        return "\u2014"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def number(value: int | None) -> str:
    return "\u2014" if value is None else f"{value:,}"


def stats_json(stats: QueueStats) -> dict[str, int | str]:
    """The counters the pages show, keyed as the live stream and `data-stat` attributes name them."""
    return {
        "total": stats.total,
        "unclaimed": stats.unclaimed,
        "inProgress": stats.in_progress,
        "delayed": stats.delayed,
        "deadLetters": stats.dead_letters,
        "completedTotal": stats.completed_total,
        "brokerAddress": stats.broker_address,
    }


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def job_status(job: JobInfo, now_ms: int) -> str:
    """The status people care about: an unclaimed job that is not claimable yet (submitted with
    a delay, or waiting to retry) is "delayed"."""
    if job.status == JobStatus.UNCLAIMED and job.run_at is not None and job.run_at > now_ms:
        return "delayed"
    return str(job.status)


FILTERS = {
    "duration": duration,
    "timestamp": timestamp,
    "iso": iso,
    "number": number,
    "pretty_json": pretty_json,
}
