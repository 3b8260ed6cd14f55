"""`python -m osqueue_broker` as a real process: environment configuration and SIGTERM under load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import free_port


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


def start_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "osqueue_broker"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def wait_until_leading(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, _text(log)
            try:
                if (await http.get("/healthz")).json()["leader"]:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail(f"broker did not start:\n{_text(log)}")


async def test_sigterm_under_load_loses_no_acknowledged_job(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state_dir = tmp_path / "state"
    log = tmp_path / "broker.log"
    proc = start_process(
        {"STORAGE_BACKEND": "file", "FILE_STORAGE_DIR": str(state_dir), "BROKER_PORT": str(port)}, log
    )
    try:
        await wait_until_leading(url, proc, log)
        acknowledged: list[str] = []
        statuses: set[int] = set()
        stop = asyncio.Event()

        # One client for all: building an httpx client (its TLS context) takes tens of ms.
        http = httpx.AsyncClient(base_url=url, timeout=10, limits=httpx.Limits(max_connections=32))

        async def producer(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 5 == 0:
                        response = await http.post(
                            "/v1/jobs/batch", json={"jobs": [{"payload": [n, i, k]} for k in range(3)]}
                        )
                    else:
                        response = await http.post("/v1/jobs", json={"payload": [n, i]})
                except httpx.TransportError:
                    await asyncio.sleep(0.01)
                    continue
                statuses.add(response.status_code)
                if response.status_code == 200:
                    body = response.json()
                    acknowledged.extend(body["jobIds"] if "jobIds" in body else [body["jobId"]])

        producers = [asyncio.create_task(producer(n)) for n in range(16)]
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(proc.wait, 15)
        stop.set()
        await asyncio.gather(*producers)
        await http.aclose()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert returncode == 0, _text(log)
    assert statuses <= {200, 503}, statuses
    assert len(acknowledged) > 50
    stored = json.loads((state_dir / "queue.json").read_bytes())
    stored_ids = {job["id"] for job in stored["jobs"]}
    missing = [job_id for job_id in acknowledged if job_id not in stored_ids]
    assert not missing, f"{len(missing)} acknowledged jobs lost"
    assert stored["brokerHeartbeat"] == 0  # the lease handed back as the last write


def test_bad_environment_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    log = tmp_path / "broker.log"
    proc = start_process({"STORAGE_BACKEND": "memory", "BROKER_PORT": "eighty"}, log)
    assert proc.wait(20) == 2
    assert "BROKER_PORT" in _text(log)
