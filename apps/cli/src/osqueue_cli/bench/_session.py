"""A benchmark session: every (scenario, transport) pair against a fresh target, one after the other."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.progress import Progress, TaskID

from ._connections import ConnectConnection, QueueConnection, RestConnection, Transport
from ._http import RawHttpConnection
from ._load import (
    OSQUEUE_ONLY,
    Connector,
    LoadPlan,
    Scenario,
    Tally,
    prefill,
    prefill_count,
    progress_of,
    run,
)
from ._measure import Snapshot, commit_totals, read_clocks
from ._moto import MOTO_ENV, MotoServer
from ._results import RunContext, ScenarioResult, summarize
from ._storage_urls import fresh_storage
from ._targets import RemoteTarget, Target, launch_broker, launch_ceiling
from ._ws import WsConnection

# jobs, producers, workers, prefill for each scenario when the command line does not say.
_DEFAULTS: dict[Scenario, tuple[int, int, int, int]] = {
    "pipeline": (5000, 16, 16, 0),
    "submit": (5000, 32, 0, 0),
    "drain": (5000, 0, 16, 0),
    "latency": (300, 1, 1, 0),
    "backlog": (2000, 16, 16, 20_000),
    "batch-submit": (50_000, 4, 0, 0),
    "batch-claim": (20_000, 0, 4, 0),
}
_PRODUCING: frozenset[Scenario] = frozenset({"pipeline", "submit", "backlog", "batch-submit"})
_WORKING: frozenset[Scenario] = frozenset({"pipeline", "drain", "backlog", "batch-claim"})
_TICK_S = 0.2


@dataclass(frozen=True)
class BenchOptions:
    scenarios: list[Scenario]
    transports: list[Transport]
    jobs: int | None = None
    producers: int | None = None
    workers: int | None = None
    prefill: int | None = None
    batch_size: int = 100
    wait_ms: int = 1000
    storage: str = "memory://"
    storage_latency_ms: float = 0.0
    commit_interval_ms: int = 0
    moto: bool = False
    broker: str | None = None
    broker_pid: int | None = None
    auth_token: str | None = None
    ceiling: bool = False
    timeout_s: float = 300.0
    request_timeout_s: float = 60.0


def plan_for(options: BenchOptions, scenario: Scenario, transport: Transport) -> LoadPlan:
    jobs, producers, workers, backlog = _DEFAULTS[scenario]
    if scenario != "latency":
        producers = (options.producers or producers) if scenario in _PRODUCING else 0
        workers = (options.workers or workers) if scenario in _WORKING else 0
    return LoadPlan(
        scenario=scenario,
        transport=transport,
        jobs=options.jobs or jobs,
        producers=producers,
        workers=workers,
        # An idle worker is the point of the latency scenario: no backlog there.
        prefill=0 if scenario == "latency" else backlog if options.prefill is None else options.prefill,
        batch_size=options.batch_size,
        wait_ms=options.wait_ms,
    )


def ceiling_can_run(plan: LoadPlan) -> bool:
    """The ceiling app speaks REST and has no long poll or batch API."""
    return plan.transport == "rest" and plan.scenario not in OSQUEUE_ONLY


def connector(transport: Transport, url: str, auth_token: str | None, timeout: float) -> Connector:
    headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}

    def connect() -> QueueConnection:
        if transport == "ws":
            return WsConnection("ws" + url.removeprefix("http") + "/v1/ws", timeout=timeout, headers=headers)
        http = RawHttpConnection(url, timeout=timeout, headers=headers)
        return RestConnection(http) if transport == "rest" else ConnectConnection(http)

    return connect


class Session:
    def __init__(self, options: BenchOptions, progress: Progress) -> None:
        self._options = options
        self._progress = progress
        self._moto: MotoServer | None = None

    async def run(self) -> list[ScenarioResult]:
        options = self._options
        if options.moto:
            self._moto = await MotoServer.start()
        try:
            results: list[ScenarioResult] = []
            for scenario in options.scenarios:
                for transport in options.transports:
                    plan = plan_for(options, scenario, transport)
                    result = await self._run_osqueue(plan)
                    if options.ceiling and ceiling_can_run(plan):
                        ceiling = await self._measure(
                            plan,
                            launch_ceiling,
                            RunContext("ceiling"),
                        )
                        result.ceiling_jobs_per_s = ceiling.jobs_per_s
                        if ceiling.jobs_per_s:
                            result.ceiling_ratio = round(result.jobs_per_s / ceiling.jobs_per_s, 2)
                        results += [result, ceiling]
                    else:
                        results.append(result)
            return results
        finally:
            if self._moto is not None:
                await self._moto.close()

    async def _run_osqueue(self, plan: LoadPlan) -> ScenarioResult:
        options = self._options
        if options.broker is not None:
            remote = RemoteTarget(options.broker, options.broker_pid)

            async def existing() -> Target:
                return remote

            return await self._measure(plan, existing, RunContext(remote.url))
        base_url = self._moto.storage_url if self._moto is not None else options.storage
        storage = fresh_storage(base_url)
        env = {**os.environ, **MOTO_ENV} if self._moto is not None else None

        async def embedded() -> Target:
            return await launch_broker(
                storage.url, options.storage_latency_ms, options.commit_interval_ms, env
            )

        label = "moto" if self._moto is not None else base_url
        try:
            return await self._measure(
                plan,
                embedded,
                RunContext("embedded", label, options.storage_latency_ms, options.commit_interval_ms),
            )
        finally:
            storage.cleanup()

    async def _measure(
        self, plan: LoadPlan, start_target: Callable[[], Awaitable[Target]], context: RunContext
    ) -> ScenarioResult:
        options = self._options
        target = await start_target()
        try:
            connect = connector(plan.transport, target.url, options.auth_token, options.request_timeout_s)
            title = f"{plan.scenario} {plan.transport} → {context.target}"
            count = prefill_count(plan)
            filling = Tally()
            # A prefill that runs out of time leaves nothing worth measuring.
            timed_out = count > 0 and await self._with_progress(
                f"{title}: prefill", count, lambda: filling.submitted, prefill(plan, connect, filling)
            )
            tally = Tally()
            start = await self._snapshot(target)
            if not timed_out:
                timed_out = await self._with_progress(
                    title, plan.jobs, lambda: progress_of(plan, tally), run(plan, connect, tally)
                )
            end = await self._snapshot(target, closing=True)
        finally:
            await target.close()
        return summarize(plan, tally, start, end, context, timed_out=timed_out)

    async def _with_progress(
        self, description: str, total: int, done: Callable[[], int], work: Awaitable[None]
    ) -> bool:
        """Run `work` under the scenario timeout with a progress bar; return True if it timed out."""
        task = self._progress.add_task(description, total=total)
        ticker = asyncio.create_task(self._tick(task, done))
        try:
            await asyncio.wait_for(work, self._options.timeout_s)
            return False
        except TimeoutError:
            return True
        finally:
            ticker.cancel()
            self._progress.update(task, completed=done())
            self._progress.stop_task(task)

    async def _tick(self, task: TaskID, done: Callable[[], int]) -> None:
        while True:
            self._progress.update(task, completed=done())
            await asyncio.sleep(_TICK_S)

    async def _snapshot(self, target: Target, *, closing: bool = False) -> Snapshot:
        headers = {"Authorization": f"Bearer {self._options.auth_token}"} if self._options.auth_token else {}
        # The clocks are read on the inside of the window: the requests here are not part of it.
        storage_pid = None if self._moto is None else self._moto.pid
        clocks = read_clocks(target.pid, storage_pid) if closing else None
        counts = await target.storage_counts()
        commits = await commit_totals(target.url, headers)
        return Snapshot(
            clocks=clocks or read_clocks(target.pid, storage_pid),
            storage=None if counts is None else (counts.reads, counts.writes),
            commits=commits,
        )
