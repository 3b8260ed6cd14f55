"""What a run measures besides its own counters: CPU time from /proc, percentiles, broker metrics."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ._http import HttpError, RawHttpConnection

# Above this share of one core, the load generator (not the target) limits the figure.
LOADGEN_BOUND_PCT = 90.0


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of another process (Linux /proc), or None where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name may contain spaces; the fields after its closing parenthesis do not.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU time all processes of the machine have used (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(field) for field in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def percentile_ms(samples: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of durations in seconds, in milliseconds."""
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def cpu_pct(start: float | None, end: float | None, seconds: float) -> float | None:
    """CPU seconds used between two readings, as a percentage of one core."""
    if start is None or end is None or seconds <= 0:
        return None
    return round(100 * (end - start) / seconds, 1)


@dataclass(frozen=True)
class Clocks:
    wall: float
    # CPU seconds of this process (the load generator), of the target, of a storage server the
    # benchmark started (moto), of the whole machine.
    loadgen_cpu: float
    target_cpu: float | None
    storage_cpu: float | None
    machine_busy: float | None


def read_clocks(target_pid: int | None, storage_pid: int | None) -> Clocks:
    return Clocks(
        time.perf_counter(),
        time.process_time(),
        None if target_pid is None else process_cpu_seconds(target_pid),
        None if storage_pid is None else process_cpu_seconds(storage_pid),
        machine_busy_seconds(),
    )


@dataclass(frozen=True)
class CommitTotals:
    """Running totals of the broker's commit histograms (batch size and commit latency)."""

    mutations: float
    commits: float
    seconds: float


_COMMIT_METRICS = {
    "osqueue_commit_batch_size_sum": "mutations",
    "osqueue_commit_batch_size_count": "commits",
    "osqueue_commit_latency_seconds_sum": "seconds",
}


async def commit_totals(base_url: str, headers: dict[str, str]) -> CommitTotals | None:
    """Read the commit histograms' totals from GET /metrics, if the target has them."""
    http = RawHttpConnection(base_url, timeout=10.0, headers=headers)
    try:
        _, body = await http.request("GET", "/metrics")
    except (HttpError, OSError, TimeoutError):
        return None
    finally:
        await http.close()
    values: dict[str, float] = {}
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(" ")
        if name in _COMMIT_METRICS:
            values[_COMMIT_METRICS[name]] = float(value)
    if len(values) < len(_COMMIT_METRICS):
        return None
    return CommitTotals(**values)


@dataclass(frozen=True)
class Snapshot:
    """Counters read at one edge of the timed window."""

    clocks: Clocks
    storage: tuple[int, int] | None
    commits: CommitTotals | None
