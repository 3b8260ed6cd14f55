"""Submit → long-poll claim latency: how soon a parked worker gets a job (a measurement, not a test).

    uv run python tools/bench_longpoll.py                   # memory and moto S3, 1,000 trials each
    uv run python tools/bench_longpoll.py --storage memory --trials 5000

Each trial parks a REST claim (`waitMs`) on an idle broker, waits until the broker holds it
(and its first, empty, claim commit has landed), then submits one job from a second connection
and measures from just before the submit: `submit ack` (the submit's answer: one durable
commit) and `submit→claim` (the parked claim's answer: the wake-up plus the claim's own
commit). Requests go over raw keep-alive HTTP/1.1 connections so that no client library's
overhead is measured. S3 is a moto server on a free port, started here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from osqueue_broker import BrokerServer
from osqueue_storage import MemoryBackend, S3Backend
from osqueue_types import StorageBackend

_AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _moto_bucket() -> Iterator[tuple[str, str]]:
    """A moto S3 server on a free port and a fresh bucket in it: (endpoint, bucket)."""
    for name, value in _AWS_TEST_ENV.items():
        os.environ.setdefault(name, value)
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        with urllib.request.urlopen(urllib.request.Request(f"{url}/{bucket}", method="PUT"), timeout=10):
            pass
        yield url, bucket
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.asynccontextmanager
async def _storage(kind: str) -> AsyncIterator[StorageBackend]:
    if kind == "memory":
        yield MemoryBackend()
        return
    with _moto_bucket() as (endpoint, bucket):
        backend = S3Backend(bucket, "bench", endpoint_url=endpoint, region="us-east-1")
        try:
            yield backend
        finally:
            await backend.aclose()


class _RawHttp:
    """One keep-alive HTTP/1.1 connection, no client library in the way of the measurement."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, address: str) -> _RawHttp:
        host, port = address.rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        content = await self.reader.readexactly(length)
        return status, json.loads(content) if content else None

    async def aclose(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def _summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name} p50 {statistics.median(ordered) * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms"


async def _run(kind: str, trials: int) -> None:
    settle_s = 0.002 if kind == "memory" else 0.06
    async with _storage(kind) as storage:
        server = BrokerServer(storage, port=0)
        await server.start()
        worker = await _RawHttp.connect(server.address)
        producer = await _RawHttp.connect(server.address)
        acks: list[float] = []
        claims: list[float] = []
        try:
            for trial in range(trials + 20):  # the first 20 warm up connections and caches
                poll = asyncio.create_task(worker.post("/v1/jobs/claim", {"workerId": "w", "waitMs": 10_000}))
                while server.ops.parked_claims == 0:  # noqa: ASYNC110 - a counter, no event to wait on
                    await asyncio.sleep(0.0005)
                # The claim parks before its first (empty) commit; let that commit land too.
                await asyncio.sleep(settle_s)
                started = time.perf_counter()
                _, submitted = await producer.post("/v1/jobs", {"payload": {"trial": trial}})
                acked = time.perf_counter()
                _, claimed = await poll
                done = time.perf_counter()
                assert claimed["jobId"] == submitted["jobId"]
                await worker.post(f"/v1/jobs/{submitted['jobId']}/complete", {"workerId": "w"})
                if trial >= 20:
                    acks.append(acked - started)
                    claims.append(done - started)
        finally:
            await worker.aclose()
            await producer.aclose()
            await server.stop()
    print(f"{kind:6} {trials} trials  {_summary('submit ack', acks)}  |  {_summary('submit→claim', claims)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storage", choices=["memory", "s3", "both"], default="both")
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    kinds = ["memory", "s3"] if args.storage == "both" else [args.storage]
    for kind in kinds:
        asyncio.run(_run(kind, args.trials))


if __name__ == "__main__":
    main()
