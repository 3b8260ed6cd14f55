"""Handlers run by `osqueue worker` subprocesses in the process tests (and the CLI's worker test).

`nap` writes `started-<job id>` (and `finished-<job id>` when done) into $OSQ_TEST_MARKERS so
the test can tell where the job is; its first run sleeps `payload["seconds"]`.
`overlap` sleeps `payload["seconds"]` and keeps in `peak` the most jobs it saw running at once
in this process, so a test can check `--concurrency`. `stuck` is a sync handler that never
returns.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from osqueue_worker import JobContext

_running = 0
_peak = 0


def _mark(name: str, text: str | None = None) -> None:
    Path(os.environ["OSQ_TEST_MARKERS"], name).write_text(str(os.getpid()) if text is None else text)


def _first_run(job_id: str) -> bool:
    marker = Path(os.environ["OSQ_TEST_MARKERS"], f"napped-{job_id}")
    if marker.exists():
        return False
    marker.touch()
    return True


async def nap(payload: dict[str, Any], ctx: JobContext) -> None:
    _mark(f"started-{ctx.job_id}-{ctx.attempt}")
    # Only the first run naps: a rerun after a kill or a release (which keeps the attempt
    # number) finishes at once.
    if _first_run(ctx.job_id):
        await asyncio.sleep(float(payload["seconds"]))
    _mark(f"finished-{ctx.job_id}-{ctx.attempt}")


async def overlap(payload: dict[str, Any]) -> None:
    global _running, _peak
    _running += 1
    _peak = max(_peak, _running)
    _mark("peak", str(_peak))
    try:
        await asyncio.sleep(float(payload["seconds"]))
    finally:
        _running -= 1


def stuck(payload: Any, ctx: JobContext) -> None:
    """A sync handler that never returns and ignores its cancellation (a hung socket read)."""
    _mark(f"started-{ctx.job_id}-{ctx.attempt}")
    threading.Event().wait()


handlers = {"nap": nap, "overlap": overlap, "stuck": stuck}
