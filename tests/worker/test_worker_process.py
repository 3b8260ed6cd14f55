"""`osqueue worker` processes killed (SIGKILL) or stopped (SIGINT, SIGTERM) mid-job: the job is never lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import OsqueueClient, TransportName
from osqueue_types import JobStatus
from osqueue_worker import JobContext, Worker

from .conftest import MakeClient, eventually

REPO = Path(__file__).resolve().parents[2]
OSQUEUE = str(Path(sys.executable).parent / "osqueue")

SpawnWorker = Callable[..., Awaitable[asyncio.subprocess.Process]]
# Ctrl-C and a service manager's stop: both drain running jobs within the grace period.
STOP_SIGNALS = pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)


@pytest.fixture
async def spawn_worker(broker: BrokerServer, tmp_path: Path) -> AsyncIterator[SpawnWorker]:
    """Start `osqueue worker tests.worker.process_handlers:handlers` against the broker
    (over Connect unless `transport=` says otherwise)."""
    processes: list[asyncio.subprocess.Process] = []

    async def spawn(*extra: str, transport: TransportName = "connect") -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            OSQUEUE,
            "worker",
            "tests.worker.process_handlers:handlers",
            "--broker",
            broker.url,
            "--transport",
            transport,
            "--heartbeat-interval",
            "0.2",
            *extra,
            cwd=REPO,
            env={**os.environ, "OSQ_TEST_MARKERS": str(tmp_path)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _started(markers: Path, job_id: str, attempt: int = 1) -> None:
    async def seen() -> bool:
        return (markers / f"started-{job_id}-{attempt}").exists()

    await eventually(seen, timeout=20)


async def _completed(client: OsqueueClient) -> bool:
    return (await client.stats()).completed_total == 1


async def test_sigkill_mid_job_the_job_is_reclaimed_and_completed_elsewhere(
    client: OsqueueClient, transport: TransportName, spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    # The killed worker process and the rescuing worker both talk over this test's transport.
    process = await spawn_worker(transport=transport)
    job_id = await client.submit("nap", {"seconds": 60})
    await _started(tmp_path, job_id)
    process.kill()
    await process.wait()

    rescued: list[tuple[str, int]] = []

    async def rescue(payload: Any, ctx: JobContext) -> None:
        rescued.append((ctx.job_id, ctx.attempt))

    rescuer = Worker(client, {"nap": rescue}, worker_id="rescuer")
    rescuer.start()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    # The broker expires the job 1 s after its last heartbeat and hands it out again.
    await eventually(lambda: _completed(client), timeout=10)
    await rescuer.stop()
    assert loop.time() - killed_at < 5
    assert rescued == [(job_id, 2)]
    stats = await client.stats()
    assert (stats.total, stats.completed_total, stats.dead_letters) == (0, 1, 0)


@STOP_SIGNALS
async def test_signal_mid_job_lets_the_job_finish_within_the_grace_period(
    broker: BrokerServer,
    make_client: MakeClient,
    spawn_worker: SpawnWorker,
    tmp_path: Path,
    stop_signal: signal.Signals,
) -> None:
    client = await make_client(broker.url)
    process = await spawn_worker("--grace-period", "10")
    job_id = await client.submit("nap", {"seconds": 1})
    await _started(tmp_path, job_id)
    process.send_signal(stop_signal)
    # The process waits for the job (about 1 s), not for the whole grace period.
    assert await asyncio.wait_for(process.wait(), timeout=8) == 0
    assert (tmp_path / f"finished-{job_id}-1").exists()
    stats = await client.stats()
    assert (stats.total, stats.completed_total) == (0, 1)


@STOP_SIGNALS
async def test_signal_mid_job_past_the_grace_period_gives_the_job_back(
    broker: BrokerServer,
    make_client: MakeClient,
    spawn_worker: SpawnWorker,
    tmp_path: Path,
    stop_signal: signal.Signals,
) -> None:
    client = await make_client(broker.url)
    process = await spawn_worker("--grace-period", "0.5")
    job_id = await client.submit("nap", {"seconds": 60}, max_attempts=3)
    await _started(tmp_path, job_id)
    process.send_signal(stop_signal)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    assert not (tmp_path / f"finished-{job_id}-1").exists()

    info = await client.get_job(job_id)
    # Released: the cut-short attempt does not count, so the rerun is attempt 1 again.
    assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 0)
    assert info.last_error is None  # a release leaves the last error as it was
    # Given back at once, not after the job heartbeat timeout: the next worker finishes it.
    await spawn_worker()
    await eventually(lambda: _completed(client), timeout=10)
    assert (tmp_path / f"finished-{job_id}-1").exists()


async def test_a_sync_handler_that_never_returns_does_not_keep_a_stopped_worker_alive(
    client: OsqueueClient, spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    process = await spawn_worker("--grace-period", "0.3")
    job_id = await client.submit("stuck", None, max_attempts=1)
    await _started(tmp_path, job_id)
    process.send_signal(signal.SIGTERM)
    # Python would join the handler's pool thread at exit and wait for ever.
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    info = await client.get_job(job_id)
    assert (info.status, info.attempts) == (JobStatus.UNCLAIMED, 0)  # released, not dead-lettered
