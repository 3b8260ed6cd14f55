"""Split brain: a leader paused past its lease (SIGSTOP) resumes believing it still leads.

Broker A leads and takes a steady stream of submits; it is SIGSTOPped for longer than the
broker heartbeat timeout, broker B takes over and acknowledges work of its own, more submits
pile up in A's socket backlog, then A gets SIGCONT. For a moment both brokers believe they lead.

Checked: A steps down right after resuming, and every request it answers from then on is
either durable or a NotLeaderError naming B; every submit either broker acknowledged is in the
final queue.json; on S3, every write A attempted after resuming was refused (412), seen at the
wire by a recording proxy in front of A's storage.

On the file backend a writer holds the lock for the version check and the rename (under a
millisecond per write). A leader frozen inside that section blocks every other write until it
resumes (their writes fail after the lock timeout), so no takeover can happen meanwhile; the
last test below covers that case. Here a pause that lands inside the lock is undone at once
and tried again a moment later, and the report counts how often that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from osqueue_storage import FileBackend
from osqueue_types import QUEUE_STATE_KEY, StorageBackendError

from .._brokers import FAST_LEASE_ENV, BrokerFleet, BrokerProcess
from ..conftest import create_s3_bucket
from ._load import read_state
from .conftest import Report
from .fault_proxy import NO_FAULTS, FaultProxy

pytestmark = pytest.mark.slow

# Long enough for B to take over (timeout 1.2 s) and acknowledge work of its own.
PAUSE_S = 3.0
QUEUED_AT_A = 20


@dataclass(frozen=True)
class Answer:
    broker: str
    sent: float
    received: float
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Storage:
    """Where both brokers keep queue.json; on S3, A's requests go through a recording proxy."""

    url: str
    url_for_a: str
    proxy: FaultProxy | None
    lock_file: Path | None  # the file backend's lock on queue.json


class NoTakeover(AssertionError):
    """The standby did not take over from the paused leader."""


@pytest.fixture(params=["s3", "file"])
async def shared_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "file":
        url = f"file://{tmp_path / 'state'}"
        yield Storage(url, url, None, tmp_path / "state" / f".{QUEUE_STATE_KEY}.lock")
        return
    endpoint: str = request.getfixturevalue("moto_server")
    bucket = create_s3_bucket(endpoint)
    proxy = FaultProxy(endpoint, NO_FAULTS)
    await proxy.start()
    try:
        yield Storage(
            f"s3://{bucket}/chaos?endpoint={endpoint}",
            f"s3://{bucket}/chaos?endpoint={proxy.url}",
            proxy,
            None,
        )
    finally:
        await proxy.aclose()


async def submit(http: httpx.AsyncClient, broker: str, url: str, n: int) -> Answer:
    sent = time.monotonic()
    try:
        response = await http.post(url + "/v1/jobs", json={"type": "split", "payload": {"n": n}})
    except httpx.HTTPError as exc:
        return Answer(broker, sent, time.monotonic(), 0, {"error": repr(exc)})
    return Answer(broker, sent, time.monotonic(), response.status_code, response.json())


async def test_paused_leader_steps_down_after_resuming(
    fleet: BrokerFleet, shared_storage: Storage, report: Report
) -> None:
    a = await fleet.launch("broker-a", {"STORAGE_URL": shared_storage.url_for_a, **FAST_LEASE_ENV})
    assert await fleet.leader() is a
    b = await fleet.launch("broker-b", {"STORAGE_URL": shared_storage.url, **FAST_LEASE_ENV})

    answers: list[Answer] = []
    stop = asyncio.Event()

    async def stream_to_a(http: httpx.AsyncClient) -> None:
        """One submit after another to A, no failover: what A itself answers, and when."""
        n = 0
        while not stop.is_set():
            answers.append(await submit(http, "a", a.url, n))
            n += 1

    async with httpx.AsyncClient(timeout=PAUSE_S + 10) as http:
        streaming = asyncio.create_task(stream_to_a(http))
        try:
            await asyncio.sleep(1.0)
            paused_in_lock = await _pause_outside_lock(a, shared_storage.lock_file)
            paused_at = time.monotonic()
            try:
                takeover_s = await _takeover(fleet, b, PAUSE_S + 5)
                answers.extend(await asyncio.gather(*(submit(http, "b", b.url, 1000 + i) for i in range(20))))
                queued = [asyncio.create_task(submit(http, "a", a.url, 2000 + i)) for i in range(QUEUED_AT_A)]
                await asyncio.sleep(max(0.0, paused_at + PAUSE_S - time.monotonic()))
            finally:
                a.resume()
            resumed_at = time.monotonic()
            answers.extend(await asyncio.gather(*queued))
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await streaming
        a_health = await a.health()
        b_health = await b.health()

    after_resume = [x for x in answers if x.broker == "a" and x.received >= resumed_at]
    refused = [x for x in after_resume if x.status == 503 and x.body.get("_tag") == "NotLeaderError"]
    acked = {x.body["jobId"] for x in answers if x.status == 200}
    acked_by_a_after_resume = {x.body["jobId"] for x in after_resume if x.status == 200}
    stored = {job.id for job in (await read_state(shared_storage.url)).state.jobs}
    a_log = a.log_tail(chars=100_000)
    writes_after_resume = (
        [x.status for x in shared_storage.proxy.exchanges if x.method == "PUT" and x.at >= resumed_at]
        if shared_storage.proxy is not None
        else None
    )
    report(
        f"split_brain_{shared_storage.url.partition('://')[0]}",
        {
            "pause_s": PAUSE_S,
            "pauses_undone_inside_the_file_lock": paused_in_lock,
            "takeover_s": round(takeover_s, 3),
            "answers_from_a_after_resume": len(after_resume),
            "acked_by_a_after_resume": len(acked_by_a_after_resume),
            "answers_from_a_after_resume_by_kind": dict(
                Counter(f"{x.status} {x.body.get('_tag', '')}".strip() for x in after_resume)
            ),
            "a_write_statuses_after_resume": writes_after_resume,
            "a_stepped_down_by": _step_down_reasons(a_log),
            "acked_total": len(acked),
            "acked_missing_from_storage": len(acked - stored),
        },
    )

    assert a_health is not None and a_health["leader"] is False
    assert b_health is not None and b_health["leader"] is True
    assert len(after_resume) >= QUEUED_AT_A
    # Whatever A answered after resuming is durable or a NotLeaderError that names B.
    assert all(x.status == 200 or x in refused for x in after_resume), after_resume
    assert all(x.body.get("leader") == b.address for x in refused[-5:])
    assert acked <= stored, f"{len(acked - stored)} acknowledged jobs are missing"
    assert _step_down_reasons(a_log), a_log[-3000:]
    if writes_after_resume is not None:
        assert all(status == 412 for status in writes_after_resume), writes_after_resume


async def _takeover(fleet: BrokerFleet, standby: BrokerProcess, timeout: float) -> float:
    """Seconds until `standby` leads (the paused leader cannot answer meanwhile)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await standby.is_leader():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise NoTakeover(f"{standby.name} did not take over within {timeout}s:\n{fleet.log_tails()}")


async def _pause_outside_lock(broker: BrokerProcess, lock_file: Path | None) -> int:
    """SIGSTOPs `broker` at a moment it does not hold `lock_file`'s flock; returns how many
    pauses landed while it held it (each undone at once)."""
    inside = 0
    while True:
        broker.pause()
        await _until_stopped(broker.pid)
        if lock_file is None or not _holds_flock(broker.pid, lock_file):
            return inside
        inside += 1
        broker.resume()
        await asyncio.sleep(random.uniform(0.005, 0.05))


async def _until_stopped(pid: int) -> None:
    for _ in range(500):
        if _process_state(pid) == "T":
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"process {pid} did not stop")


def _process_state(pid: int) -> str:
    # The state follows the command name, which is in parentheses.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


def _holds_flock(pid: int, lock_file: Path) -> bool:
    """Whether `pid` holds a flock on `lock_file`, from /proc/locks (Linux)."""
    inode = str(lock_file.stat().st_ino)
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF"; blocked waiters are marked "->".
        if (
            "->" not in fields
            and fields[1] == "FLOCK"
            and fields[4] == str(pid)
            and fields[5].rpartition(":")[2] == inode
        ):
            return True
    return False


def _step_down_reasons(log: str) -> list[str]:
    """What made A give up, in order: its write conflicted, or it saw its own lease had run out."""
    reasons = []
    for line in log.splitlines():
        if "osqueue.core.engine: lost leadership" in line:
            reasons.append("write conflict")
        elif "stepping down" in line:
            reasons.append("lease expired while paused")
    return reasons


# Takes the file backend's lock on queue.json the way a writer does, then waits to be frozen.
_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


async def test_file_write_is_bounded_while_a_frozen_process_holds_the_lock(tmp_path: Path) -> None:
    """A standby's write must come back (done or StorageBackendError) even while a frozen
    process holds the lock, not wait on flock for as long as the holder is stopped."""
    storage = FileBackend(tmp_path)
    first = await storage.create_if_not_exists(QUEUE_STATE_KEY, b"first")
    lock_path = tmp_path / f".{QUEUE_STATE_KEY}.lock"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_LOCK, str(lock_path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
        holder.send_signal(signal.SIGSTOP)
        with contextlib.suppress(StorageBackendError):
            await asyncio.wait_for(storage.write(QUEUE_STATE_KEY, b"second", first), timeout=5)
    finally:
        # Killing the holder releases the lock, so the write's thread can finish.
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        await holder.wait()
