"""The embedded broker of `osqueue bench`, run in its own process.

    python -m osqueue_cli.bench._broker_process --storage URL [--storage-latency-ms MS]
        [--group-commit-interval-ms MS]

Serves a broker on a free port of 127.0.0.1 over `open_storage(URL)`, wrapped in a
`LatencyBackend` (when asked) and a `CountingBackend`. The first stdout line is
`{"url": ..., "pid": ...}`; after that every `counts` line on stdin is answered with
`{"reads": N, "writes": N}`. Stops on SIGTERM, SIGINT or when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from osqueue_broker import BrokerServer
from osqueue_storage import CountingBackend, LatencyBackend, open_storage
from osqueue_types import StorageBackend

from ._serve import announce


async def _answer_commands(counting: CountingBackend) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"counts":
            sys.stdout.write(json.dumps({"reads": counting.reads, "writes": counting.writes}) + "\n")
            sys.stdout.flush()


async def _serve(storage_url: str, latency_ms: float, group_commit_interval_ms: int) -> None:
    storage: StorageBackend = open_storage(storage_url)
    if latency_ms > 0:
        storage = LatencyBackend(storage, latency_ms)
    counting = CountingBackend(storage)
    server = BrokerServer(counting, "127.0.0.1", 0, group_commit_interval_ms=group_commit_interval_ms)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await server.start()
        announce(server.url)
        commands = asyncio.create_task(_answer_commands(counting))
        signalled = asyncio.create_task(stopping.wait())
        await asyncio.wait((commands, signalled), return_when=asyncio.FIRST_COMPLETED)
        for task in (commands, signalled):
            task.cancel()
    finally:
        await server.stop()
        await counting.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m osqueue_cli.bench._broker_process")
    parser.add_argument("--storage", required=True)
    parser.add_argument("--storage-latency-ms", type=float, default=0.0)
    parser.add_argument("--group-commit-interval-ms", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop is optional (not on Windows)
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(args.storage, args.storage_latency_ms, args.group_commit_interval_ms))


if __name__ == "__main__":
    main()
