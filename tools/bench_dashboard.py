"""How fast the dashboard renders its pages over a large queue (a measurement, not a test).

    uv run python tools/bench_dashboard.py                 # 100,000 jobs
    uv run python tools/bench_dashboard.py --jobs 20000 --rounds 10

Starts an in-memory broker and the dashboard on free ports in this process, fills the queue
through the client (batches of 1,000; every tenth job delayed by an hour, so the delayed
listing has jobs spread over the whole queue; a tenth of the jobs claimed, so the in-progress
listing is not empty), then times each page end to end over HTTP (dashboard -> client ->
broker and back) and prints the median and the slowest round per page. The target is a jobs
page under 300 ms at 100,000 jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from osqueue_broker import BrokerServer
from osqueue_client import JobSpec, OsqueueClient
from osqueue_dashboard import create_app
from osqueue_dashboard._serve import make_server
from osqueue_storage import MemoryBackend

BATCH = 1000
TYPES = ["email:send", "image:resize", "report:build", "webhook:deliver"]
DELAY_EVERY = 10  # every tenth job waits an hour
DELAY_S = 3600


async def fill(client: OsqueueClient, jobs: int) -> str:
    started = time.perf_counter()
    first_id = ""
    for start in range(0, jobs, BATCH):
        specs = [
            JobSpec(
                TYPES[n % len(TYPES)],
                {"n": n, "to": f"user{n}@example.com"},
                delay=DELAY_S if n % DELAY_EVERY == DELAY_EVERY - 1 else None,
            )
            for n in range(start, min(jobs, start + BATCH))
        ]
        ids = await client.submit_many(specs)
        first_id = first_id or ids[0]
    claimed = 0
    while claimed < jobs // 10:
        claimed += len(await client.claim("bench-worker", limit=min(1000, jobs // 10 - claimed)))
    delayed = (await client.stats()).delayed
    elapsed = time.perf_counter() - started
    print(f"filled {jobs:,} jobs ({claimed:,} in progress, {delayed:,} delayed) in {elapsed:.1f} s")
    return first_id


async def time_page(http: httpx.AsyncClient, path: str, rounds: int) -> tuple[float, float, int]:
    timings = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        answer = await http.get(path, headers={"accept": "text/html"})
        timings.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    return statistics.median(timings), max(timings), size


async def main(jobs: int, rounds: int) -> None:
    broker = BrokerServer(MemoryBackend(), "127.0.0.1", 0)
    await broker.start()
    client = OsqueueClient(broker.url, transport="rest", timeout=120)
    server = make_server(create_app(broker.url), host="127.0.0.1", port=0, log_level="warning")
    serving = asyncio.create_task(server.serve())
    try:
        first_id = await fill(client, jobs)
        while not server.started:
            if serving.done():
                await serving
                raise RuntimeError("the dashboard did not start")
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        last_page = max(1, -(-jobs // 50))
        last_delayed_page = max(1, -(-(jobs // DELAY_EVERY) // 50))
        pages = [
            ("overview", "/"),
            ("jobs, page 1", "/jobs"),
            (f"jobs, page {last_page // 2:,}", f"/jobs?page={last_page // 2}"),
            (f"jobs, page {last_page:,} (last)", f"/jobs?page={last_page}"),
            ("jobs, in progress", "/jobs?status=in_progress"),
            ("jobs, delayed", "/jobs?status=delayed"),
            (
                f"jobs, delayed, last page ({last_delayed_page:,})",
                f"/jobs?status=delayed&page={last_delayed_page}",
            ),
            ("jobs, type filter, last page", f"/jobs?type=report:build&page={last_page // len(TYPES)}"),
            ("job detail", f"/jobs/{first_id}"),
            ("workers", "/workers"),
            ("dead letters", "/dead"),
            ("producer", "/producer"),
        ]
        print(f"{'page':<34} {'median ms':>10} {'max ms':>9} {'bytes':>9}   ({rounds} rounds, {jobs:,} jobs)")
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for name, path in pages:
                median, slowest, size = await time_page(http, path, rounds)
                print(f"{name:<34} {median:>10.1f} {slowest:>9.1f} {size:>9,}")
    finally:
        server.should_exit = True
        await serving
        await client.aclose()
        await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.rounds))
