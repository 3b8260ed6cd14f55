"""`osqueue_dashboard.demo.run_demo`: broker, workers, producer and dashboard in one coroutine."""

from __future__ import annotations

import asyncio
import queue
import time

import httpx
from osqueue_dashboard.demo import DemoInfo, run_demo

from ._servers import LoopThread


def test_the_demo_runs_jobs_and_serves_the_dashboard(loop_thread: LoopThread) -> None:
    ready: queue.Queue[DemoInfo] = queue.Queue()

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(run_demo("127.0.0.1", 0, jobs_per_second=20, on_ready=ready.put))

    async def stop(task: asyncio.Task[None]) -> bool:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task.cancelled()

    demo = loop_thread.run(start())
    try:
        info = ready.get(timeout=20)
        with httpx.Client(base_url=info.dashboard_url, timeout=10) as http:
            deadline = time.monotonic() + 10
            while http.get(info.broker_url + "/v1/stats").json()["completedTotal"] == 0:
                assert time.monotonic() < deadline, "no demo job completed"
                time.sleep(0.1)
            overview = http.get("/", headers={"accept": "text/html"})
            assert overview.status_code == 200 and "Completed total" in overview.text
            while "demo-worker-" not in http.get("/workers").text:
                assert time.monotonic() < deadline, "no demo worker on the workers page"
                time.sleep(0.1)
    finally:
        assert loop_thread.run(stop(demo))
