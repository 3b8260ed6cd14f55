"""Schemathesis generates requests from /openapi.json: no 5xx, and every answer matches the document."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import StartBroker


async def test_generated_requests_get_documented_answers(start_broker: StartBroker) -> None:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("schemathesis is not installed")
    # No long polls: a generated waitMs would only make the run slow.
    broker = await start_broker(max_wait_ms=0)
    checks = "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"
    proc = await asyncio.create_subprocess_exec(
        executable,
        "run",
        f"{broker.url}/openapi.json",
        f"--checks={checks}",
        "--max-examples=15",
        "--seed=1",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, output.decode(errors="replace")[-4000:]
