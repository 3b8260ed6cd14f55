"""`run_demo`: an embedded broker, a few workers, a trickle of jobs and the dashboard, in one process.

It needs osqueue-broker, osqueue-storage and osqueue-worker (the `demo` extra:
`pip install "osqueue-dashboard[demo]"`); they are imported only here, and only when the demo
runs, so the dashboard itself keeps talking to brokers through osqueue-client alone.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from osqueue_client import JobSpec, OsqueueClient

from ._app import create_app
from ._serve import DEFAULT_HOST, DEFAULT_PORT, make_server

# type -> (seconds of work (low, high), share of attempts that fail, max attempts)
DEMO_TYPES: dict[str, tuple[tuple[float, float], float, int]] = {
    "email:send": ((0.3, 1.5), 0.05, 3),
    "image:resize": ((0.5, 2.5), 0.10, 3),
    "report:build": ((2.0, 6.0), 0.15, 3),
    "webhook:deliver": ((0.1, 0.6), 0.30, 2),
}
_ERRORS = {
    "email:send": "SMTPServerDisconnected: Connection unexpectedly closed",
    "image:resize": "OSError: cannot identify image file",
    "report:build": "TimeoutError: warehouse query took too long",
    "webhook:deliver": "HTTPStatusError: 503 Service Unavailable from https://hooks.example.com/",
}
BURST_EVERY_S = 45.0
BURST_SIZE = 25


@dataclass(frozen=True, slots=True)
class DemoInfo:
    dashboard_url: str
    broker_url: str


def _announce(info: DemoInfo) -> None:
    print(
        f"osqueue demo: dashboard {info.dashboard_url}  (broker {info.broker_url}; Ctrl+C to stop)",
        flush=True,
    )


def _handler(job_type: str) -> Callable[[Any], Any]:
    (low, high), failure_rate, _ = DEMO_TYPES[job_type]

    async def handle(payload: Any) -> None:
        await asyncio.sleep(random.uniform(low, high))
        if random.random() < failure_rate:
            raise RuntimeError(_ERRORS[job_type])

    return handle


def _payload(job_type: str, n: int) -> dict[str, Any]:
    user = "".join(random.choices(string.ascii_lowercase, k=6))
    if job_type == "email:send":
        return {"to": f"{user}@example.com", "template": random.choice(["welcome", "receipt", "reset"])}
    if job_type == "image:resize":
        return {"key": f"uploads/{user}/{n}.jpg", "sizes": [64, 256, 1024]}
    if job_type == "report:build":
        return {"report": random.choice(["daily-sales", "churn", "inventory"]), "format": "pdf"}
    return {"url": "https://hooks.example.com/", "event": "order.paid", "order": n}


def _spec(n: int) -> JobSpec:
    job_type = random.choice(list(DEMO_TYPES))
    delay = random.choice([None] * 9 + [random.uniform(5, 20)])
    priority = random.choice([0] * 8 + [5, 10])
    return JobSpec(
        job_type, _payload(job_type, n), max_attempts=DEMO_TYPES[job_type][2], delay=delay, priority=priority
    )


async def _produce(client: OsqueueClient, jobs_per_second: float) -> None:
    n = 0
    loop = asyncio.get_running_loop()
    next_burst = loop.time() + 10
    while True:
        await asyncio.sleep(random.expovariate(jobs_per_second))
        # A burst now and then gives the depth chart something to show.
        size = BURST_SIZE if loop.time() >= next_burst else 1
        if size > 1:
            next_burst = loop.time() + BURST_EVERY_S
        await client.submit_many(_spec(n + i) for i in range(size))
        n += size


async def run_demo(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    workers: int = 3,
    concurrency: int = 2,
    jobs_per_second: float = 1.5,
    data_dir: str | os.PathLike[str] | None = None,
    broker_port: int = 0,
    dashboard_token: str | None = None,
    log_level: str = "warning",
    on_ready: Callable[[DemoInfo], None] = _announce,
) -> None:
    """Run the demo until cancelled (Ctrl+C in `asyncio.run`).

    The broker keeps the queue in memory, or in `data_dir` (a FileBackend) when given, and
    listens on 127.0.0.1:`broker_port` (0: a free port). `workers` workers with `concurrency`
    slots each run sleepy handlers that sometimes fail (some jobs end as dead letters), while a
    producer submits about `jobs_per_second` jobs, with a burst now and then.
    """
    try:
        from osqueue_broker import BrokerServer
        from osqueue_storage import FileBackend, MemoryBackend
        from osqueue_worker import Worker
    except ImportError as exc:
        needs = "osqueue-broker, osqueue-storage and osqueue-worker"
        raise RuntimeError(f'the demo needs {needs}: pip install "osqueue-dashboard[demo]"') from exc

    storage = FileBackend(Path(data_dir)) if data_dir is not None else MemoryBackend()
    broker = BrokerServer(storage, "127.0.0.1", broker_port)
    await broker.start()
    clients: list[OsqueueClient] = []
    running: list[Worker] = []
    producing: asyncio.Task[None] | None = None
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        handlers = {job_type: _handler(job_type) for job_type in DEMO_TYPES}
        for i in range(workers):
            client = OsqueueClient(broker.url, transport="rest")
            clients.append(client)
            worker_id = f"demo-worker-{i + 1}"
            worker = Worker(client, handlers, worker_id=worker_id, concurrency=concurrency, claim_wait=5)
            worker.start()
            running.append(worker)
        producer = OsqueueClient(broker.url, transport="rest")
        clients.append(producer)
        producing = asyncio.create_task(_produce(producer, jobs_per_second), name="osqueue-demo-producer")
        app = create_app(broker.url, dashboard_token=dashboard_token)
        server = make_server(app, host=host, port=port, log_level=log_level)
        # uvicorn handles Ctrl+C itself (in the main thread): `serve()` then returns.
        serving = asyncio.create_task(server.serve(), name="osqueue-demo-dashboard")
        while not server.started:
            if serving.done():
                await serving
                raise RuntimeError(f"the dashboard could not start on {host}:{port}")
            await asyncio.sleep(0.02)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        on_ready(DemoInfo(dashboard_url=f"http://{host}:{bound_port}", broker_url=broker.url))
        await asyncio.shield(serving)
    finally:
        if server is not None and serving is not None:
            # A graceful exit runs the dashboard's shutdown (its poller, its client).
            server.should_exit = True
            await asyncio.gather(serving, return_exceptions=True)
        if producing is not None:
            producing.cancel()
            await asyncio.gather(producing, return_exceptions=True)
        await asyncio.gather(*(worker.stop(graceful=False) for worker in running), return_exceptions=True)
        await broker.stop()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)
