"""The end of a session: a rich table for people, one JSON line per scenario for scripts."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console, JustifyMethod
from rich.table import Table

from ._results import ScenarioResult

_BUSY_PCT = 20.0


def _cell(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def results_table(results: list[ScenarioResult]) -> Table:
    table = Table(title="osqueue bench", title_justify="left")
    with_storage_cpu = any(r.storage_cpu_pct is not None for r in results)
    columns: list[tuple[str, JustifyMethod]] = [
        ("scenario", "left"),
        ("transport", "left"),
        ("target", "left"),
        ("jobs/s", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("peak queued", "right"),
        ("writes/1k jobs", "right"),
        ("mean batch", "right"),
        ("commit ms", "right"),
        ("broker CPU", "right"),
        ("loadgen CPU", "right"),
        ("other CPU", "right"),
        ("vs ceiling", "right"),
    ]
    if with_storage_cpu:
        columns.insert(-2, ("storage CPU", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for r in results:
        scenario = r.scenario if not r.prefill else f"{r.scenario} (+{r.prefill:,} queued)"
        target = r.target if r.storage is None else f"{r.target} {r.storage}"
        if r.storage_latency_ms:
            target += f" +{r.storage_latency_ms:g} ms"
        if r.commit_interval_ms:
            target += f" (commits ≥{r.commit_interval_ms} ms apart)"
        loadgen = _cell(r.loadgen_cpu_pct, ".0f", "%") + (" [bold yellow]bound[/]" if r.loadgen_bound else "")
        cells = [
            scenario
            + (" [red]timed out[/]" if r.timed_out else "")
            + (" [red]aborted[/]" if r.aborted else ""),
            r.transport,
            target,
            _cell(r.jobs_per_s, ",.0f"),
            _cell(r.p50_ms, ".2f"),
            _cell(r.p99_ms, ".2f"),
            f"[red]{r.errors}[/]" if r.errors else "0",
            f"{r.peak_queued:,}",
            _cell(r.writes_per_1000_jobs, ",.1f"),
            _cell(r.mean_batch, ".1f"),
            _cell(r.mean_commit_ms, ".2f"),
            _cell(r.broker_cpu_pct, ".0f", "%"),
            loadgen,
            _cell(r.other_cpu_pct, ".0f", "%"),
            "-" if r.ceiling_ratio is None else f"{r.ceiling_ratio:.0%}",
        ]
        if with_storage_cpu:
            cells.insert(-2, _cell(r.storage_cpu_pct, ".0f", "%"))
        table.add_row(*cells)
    return table


def print_report(results: list[ScenarioResult], console: Console) -> None:
    console.print(results_table(results))
    for r in results:
        if r.last_error:
            console.print(
                f"{r.scenario} {r.transport} → {r.target}: last error: {r.last_error}", markup=False
            )
    if any(r.loadgen_bound for r in results):
        console.print(
            "[yellow]bound[/]: the load generator used ≥90% of a core, so that figure is a lower bound "
            "set by the load generator, not by the target."
        )
    if any((r.other_cpu_pct or 0) > _BUSY_PCT for r in results):
        console.print(
            f"other CPU: other processes used more than {_BUSY_PCT:g}% of a core during some runs; "
            "their figures are noisy."
        )
    if any(r.scenario == "latency" for r in results):
        console.print("latency: p50/p99 are from a submit's answer to the waiting worker receiving the job.")


def print_json_lines(results: list[ScenarioResult], out: TextIO) -> None:
    for result in results:
        out.write(json.dumps(result.as_dict()) + "\n")
    out.flush()
