"""Handlers run by `osqueue worker` subprocesses in the process tests.

`nap` writes `started-<job id>` (and `finished-<job id>` when done) into $OSQ_TEST_MARKERS so
the test can tell where the job is; on its first attempt it sleeps `payload["seconds"]`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from osqueue_worker import JobContext


def _mark(name: str) -> None:
    Path(os.environ["OSQ_TEST_MARKERS"], name).write_text(str(os.getpid()))


async def nap(payload: dict[str, Any], ctx: JobContext) -> None:
    _mark(f"started-{ctx.job_id}-{ctx.attempt}")
    if ctx.attempt == 1:
        await asyncio.sleep(float(payload["seconds"]))
    _mark(f"finished-{ctx.job_id}-{ctx.attempt}")


handlers = {"nap": nap}
