"""Handlers for `osqueue worker` in the CLI tests: a factory taking the client."""

from __future__ import annotations

import sys
from typing import Any

from osqueue_client import OsqueueClient
from osqueue_worker import Worker


def echo(payload: Any) -> None:
    # One write per line: handlers run in several threads at once.
    sys.stdout.write(f"handled {payload}\n")
    sys.stdout.flush()


def make_worker(client: OsqueueClient) -> Worker:
    return Worker(client, {"echo": echo}, concurrency=2)


handlers = {"echo": echo}

REPO_NAME = "osqueue"  # neither handlers nor a factory
