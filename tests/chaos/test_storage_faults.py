"""Storage faults: a pipeline of 5,000 jobs while 10% of the broker's S3 requests misbehave.

The broker process talks to moto through `FaultProxy`, which resets connections before
forwarding, resets them after the write reached moto (the ambiguous case), answers 500 and
503, and adds latency spikes. Checked:

- the producers and workers see no failure: every submit is acknowledged once, no job is lost
  or submitted twice, no claim is delivered twice;
- the broker absorbed every fault itself: no batch failed with StorageBackendError and the
  only broker never lost its leadership (there is no one to lose it to);
- every version of queue.json that moto accepted decodes, and each extends the one before
  (commitSeq +1), so no write was lost or applied twice; the final object is the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from osqueue_client import OsqueueClient
from osqueue_core import GroupCommitEngine
from osqueue_storage import S3Backend
from osqueue_types import (
    QUEUE_STATE_KEY,
    Enqueue,
    EnqueueResult,
    NewJob,
    StorageBackendError,
    decode_state,
)

from .._brokers import BrokerFleet, BrokerProcess
from ..conftest import create_s3_bucket
from ._load import Ledger, all_ran, chaos_worker, produce, read_state, wait_drained
from .conftest import Report
from .fault_proxy import NO_FAULTS, FaultProxy, FaultRates

pytestmark = pytest.mark.slow

JOBS = 5_000
PRODUCERS = 2
WORKERS = 2
RATE = 250.0  # jobs/s over all producers
RATES = FaultRates()  # 10% of requests in all
# Broker log lines that mean a client got an error the broker could have retried.
BATCH_FAILED = re.compile(r"commit \d+ of \S+ failed")
LEADERSHIP_LOST = re.compile(r"osqueue\.core\.engine: lost leadership|stepping down")


async def test_pipeline_through_storage_faults(fleet: BrokerFleet, moto_server: str, report: Report) -> None:
    assert abs(RATES.total - 0.10) < 1e-9
    seed = random.randrange(2**32)
    bucket = create_s3_bucket(moto_server)
    proxy = FaultProxy(moto_server, RATES, seed=seed)
    await proxy.start()
    ledger = Ledger()
    clients: list[OsqueueClient] = []
    workers = []
    try:
        broker = await fleet.launch(
            "broker",
            {"STORAGE_URL": f"s3://{bucket}/chaos?endpoint={proxy.url}", "JOB_HEARTBEAT_TIMEOUT_MS": "5000"},
        )
        await fleet.leader()
        clients = [
            OsqueueClient(broker.url, transport="ws", timeout=10, failover_deadline=60)
            for _ in range(PRODUCERS + WORKERS)
        ]
        workers = [
            chaos_worker(client, ledger, name=f"worker-{i}", concurrency=16)
            for i, client in enumerate(clients[PRODUCERS:])
        ]
        for worker in workers:
            worker.start()
        started = time.monotonic()
        producers = [
            asyncio.create_task(
                produce(clients[p], ledger, producer=p, count=JOBS // PRODUCERS, rate=RATE / PRODUCERS)
            )
            for p in range(PRODUCERS)
        ]
        ran = await all_ran(ledger, producers, timeout=60)
        stats = await wait_drained(clients[0], timeout=10 if ran else 0)
        elapsed = time.monotonic() - started
        metrics = await _storage_errors(broker)
    finally:
        await asyncio.gather(*(worker.stop(grace_period=5) for worker in workers))
        await asyncio.gather(*(client.aclose() for client in clients))
        await proxy.aclose()

    log = broker.log_tail(chars=10_000_000)
    batches_failed = len(BATCH_FAILED.findall(log))
    leadership_lost = len(LEADERSHIP_LOST.findall(log))
    seqs = [_commit_seq(data) for data in proxy.accepted_writes]
    gaps = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]
    final = await read_state(f"s3://{bucket}/chaos?endpoint={moto_server}")
    verdict = ledger.verdict()
    # Where the acknowledged jobs that never ran are, if any: the first question when one does.
    queued = {job.id: job for job in final.state.jobs}
    never_ran = [
        msgspec.to_builtins(queued[job_id]) if job_id in queued else {"id": job_id, "in_state": False}
        for job_id in verdict.never_ran[:10]
    ]
    report(
        "storage_faults",
        {
            "seed": seed,
            "jobs": JOBS,
            "elapsed_s": round(elapsed, 2),
            "fault_rate": RATES.total,
            "faults": proxy.faults,
            "forwarded": proxy.counts["forwarded"],
            "broker_storage_errors": metrics,
            "batches_failed": batches_failed,
            "leadership_lost": leadership_lost,
            "versions_accepted": len(seqs),
            "commit_seq_gaps": gaps[:10],
            **verdict.summary(),
            "never_ran": never_ran,
            "stats": msgspec.to_builtins(stats),
        },
    )

    assert sum(proxy.faults.values()) > 0.05 * proxy.counts["forwarded"], "the proxy injected too few faults"
    assert not verdict.submit_errors
    assert verdict.acknowledged == JOBS
    assert not verdict.never_ran, f"{len(verdict.never_ran)} acknowledged jobs never ran: {never_ran}"
    assert not verdict.duplicated_submits
    assert not verdict.same_attempt_twice
    assert stats.total == 0 and stats.completed_total == verdict.jobs_run
    # Every accepted version decodes (above) and extends the previous one; the last is what is stored.
    assert not gaps, f"commitSeq does not advance by one: {gaps[:10]}"
    assert final.data == proxy.accepted_writes[-1]
    assert batches_failed == 0, "a batch failed although the broker could have retried it"
    # A landed write whose answer was lost is resent below S3Backend and conflicts with itself;
    # S3Backend must recognise it, or the broker would abdicate over its own write.
    assert leadership_lost == 0, f"the only broker stepped down {leadership_lost} times:\n{_lines(log)}"


def _commit_seq(data: bytes) -> int:
    """Decodes a whole queue.json version (it must be valid) and returns its commitSeq."""
    seq = decode_state(data).commit_seq
    assert isinstance(seq, int), "a version without commitSeq"
    return seq


def _lines(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if LEADERSHIP_LOST.search(line))[:4000]


async def _storage_errors(broker: BrokerProcess) -> float | None:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(broker.url + "/metrics")).text
    found = re.search(r"^osqueue_storage_errors_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


# A conditional PUT that reached S3 but whose answer was lost is sent again below S3Backend:
# aiohttp resends idempotent methods (PUT among them) once when a reused keep-alive connection
# drops, and botocore retries too. The resent PUT's If-Match no longer holds; S3Backend must see
# that the stored object is its own bytes rather than report a conflict, and the engine must
# not give up leadership over its own write.


@pytest.fixture
async def quiet_proxy(moto_server: str) -> AsyncIterator[FaultProxy]:
    """A proxy that injects only the faults a test forces."""
    proxy = FaultProxy(moto_server, NO_FAULTS)
    await proxy.start()
    yield proxy
    await proxy.aclose()


async def test_s3_write_whose_answer_was_lost_is_not_a_conflict(
    moto_server: str, quiet_proxy: FaultProxy
) -> None:
    storage = S3Backend(create_s3_bucket(moto_server), "chaos", endpoint_url=quiet_proxy.url)
    try:
        first = await storage.create_if_not_exists(QUEUE_STATE_KEY, b"first")
        quiet_proxy.force("drop_after", "PUT")
        # Honest answers: the new version, or StorageBackendError (outcome unknown). Not a conflict:
        # nobody else wrote the object.
        with contextlib.suppress(StorageBackendError):
            await storage.write(QUEUE_STATE_KEY, b"second", first)
        current = await storage.read(QUEUE_STATE_KEY)
    finally:
        await storage.aclose()
    assert current is not None and current.data == b"second"


async def test_engine_keeps_leading_after_a_landed_write_lost_its_answer(
    moto_server: str, quiet_proxy: FaultProxy
) -> None:
    storage = S3Backend(create_s3_bucket(moto_server), "chaos", endpoint_url=quiet_proxy.url)
    engine = GroupCommitEngine(storage, QUEUE_STATE_KEY)
    try:
        await engine.start()
        quiet_proxy.force("drop_after", "PUT")
        result = await engine.submit(Enqueue([NewJob(msgspec.Raw(b"1"), type="chaos")]))
        assert isinstance(result, EnqueueResult) and len(result.ids) == 1
        assert engine.is_running
    finally:
        await engine.abort()
        await storage.aclose()
