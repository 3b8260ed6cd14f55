"""`osqueue_dashboard.demo.run_demo`: broker, workers, producer and dashboard in one coroutine."""

from __future__ import annotations

import asyncio

import httpx
from osqueue_dashboard.demo import DemoInfo, run_demo


async def test_the_demo_runs_jobs_and_serves_the_dashboard() -> None:
    ready: asyncio.Future[DemoInfo] = asyncio.get_running_loop().create_future()
    demo = asyncio.create_task(run_demo("127.0.0.1", 0, jobs_per_second=20, on_ready=ready.set_result))
    try:
        info = await asyncio.wait_for(ready, 20)
        async with httpx.AsyncClient(base_url=info.dashboard_url, timeout=10) as http:
            for _ in range(100):
                stats = (await http.get(info.broker_url + "/v1/stats")).json()
                if stats["completedTotal"] > 0:
                    break
                await asyncio.sleep(0.1)
            assert stats["completedTotal"] > 0
            overview = await http.get("/", headers={"accept": "text/html"})
            assert overview.status_code == 200 and "Completed total" in overview.text
            workers = await http.get("/workers")
            assert "demo-worker-1" in workers.text
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
    assert demo.cancelled()
