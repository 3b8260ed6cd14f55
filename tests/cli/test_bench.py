"""`osqueue bench` smoke tests: every scenario over every front door with tiny job counts.

These check that each run completes its jobs without errors and reports sane figures; they time
nothing (the figures of a busy test machine mean little).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from osqueue_cli.main import main

JOBS = 24
PREFILL = 40
KEYS = {
    "scenario",
    "transport",
    "jobs_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "storage_reads",
    "storage_writes",
    "writes_per_1000_jobs",
    "mean_batch",
    "broker_cpu_pct",
    "loadgen_cpu_pct",
    "completed",
    "submitted",
}
SUBMIT_ONLY = {"submit", "batch-submit"}


def bench(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    code = main(["bench", "--json", *args])
    out = capsys.readouterr().out
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def assert_sane(row: dict[str, object], jobs: int = JOBS) -> None:
    assert row.keys() >= KEYS
    assert row["errors"] == 0
    assert row["timed_out"] is False
    done = row["submitted"] if row["scenario"] in SUBMIT_ONLY else row["completed"]
    assert done == jobs
    assert isinstance(row["jobs_per_s"], float) and row["jobs_per_s"] > 0
    assert row["p50_ms"] is not None and row["p99_ms"] is not None
    assert row["loadgen_cpu_pct"] is not None


def assert_broker_figures(row: dict[str, object]) -> None:
    writes = row["storage_writes"]
    assert isinstance(writes, int) and writes > 0
    assert row["writes_per_1000_jobs"] == round(writes * 1000 / JOBS, 1)
    assert isinstance(row["mean_batch"], float) and row["mean_batch"] >= 1
    assert isinstance(row["mean_commit_ms"], float) and row["mean_commit_ms"] >= 0
    assert row["broker_cpu_pct"] is not None


@pytest.mark.parametrize(
    "scenario", ["pipeline", "submit", "drain", "latency", "backlog", "batch-submit", "batch-claim"]
)
def test_every_scenario_over_every_transport(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    rows = bench(
        capsys,
        *("--scenario", scenario, "--transport", "all"),
        *("--jobs", str(JOBS), "--prefill", str(PREFILL), "--batch-size", "5"),
    )
    assert [(r["scenario"], r["transport"]) for r in rows] == [
        (scenario, "rest"),
        (scenario, "ws"),
        (scenario, "connect"),
    ]
    for row in rows:
        assert_sane(row)
        assert_broker_figures(row)
        assert row["target"] == "embedded" and row["storage"] == "memory://"
        # The latency scenario needs an idle worker, so it never queues a backlog.
        assert row["prefill"] == (0 if scenario == "latency" else PREFILL)


def test_batch_claim_completes_each_batch_with_one_request(capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench(
        capsys,
        *("--scenario", "batch-claim", "--transport", "all", "--workers", "1"),
        *("--jobs", str(JOBS), "--prefill", "0", "--batch-size", "6"),
    )
    for row in rows:
        assert_sane(row)
        # One worker: 4 claims of 6 jobs and 4 completes (job by job would be 24 completes),
        # and perhaps one lease refresh.
        writes, mean_batch = row["storage_writes"], row["mean_batch"]
        assert isinstance(writes, int) and isinstance(mean_batch, float)
        assert 8 <= round(writes * mean_batch) <= 9, row


def test_ceiling_runs_in_the_same_session(capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench(capsys, "--scenario", "pipeline,latency", "--jobs", str(JOBS), "--ceiling")
    # The ceiling app has no long poll, so only the pipeline is compared with it.
    assert [(r["scenario"], r["target"]) for r in rows] == [
        ("pipeline", "embedded"),
        ("pipeline", "ceiling"),
        ("latency", "embedded"),
    ]
    broker, ceiling, latency = rows
    for row in rows:
        assert_sane(row)
    assert ceiling["storage_writes"] is None and ceiling["mean_batch"] is None
    assert broker["ceiling_jobs_per_s"] == ceiling["jobs_per_s"]
    assert broker["ceiling_ratio"] == round(broker["jobs_per_s"] / ceiling["jobs_per_s"], 2)  # type: ignore[operator]
    assert latency["ceiling_ratio"] is None


def test_file_storage_run_leaves_nothing_behind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    [row] = bench(
        capsys,
        *("--jobs", str(JOBS), "--storage", f"file://{tmp_path}"),
        *("--storage-latency-ms", "1", "--commit-interval-ms", "2"),
    )
    assert_sane(row)
    assert_broker_figures(row)
    assert row["storage_latency_ms"] == 1.0 and row["commit_interval_ms"] == 2
    # Every storage call waits 1 ms more.
    assert isinstance(row["mean_commit_ms"], float) and row["mean_commit_ms"] >= 1
    assert list(tmp_path.iterdir()) == []


def test_s3_storage(capsys: pytest.CaptureFixture[str], moto_server: str, s3_bucket: str) -> None:
    url = f"s3://{s3_bucket}/bench?endpoint={moto_server}&region=us-east-1"
    [row] = bench(capsys, "--jobs", str(JOBS), "--storage", url)
    assert_sane(row)
    assert_broker_figures(row)
    # A broker reads queue.json once when it takes the lead; nothing in the window reads it.
    assert row["storage_reads"] == 0


@pytest.fixture
def running_broker() -> Iterator[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "osqueue_cli.bench._broker_process", "--storage", "memory://"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        announced = json.loads(proc.stdout.readline())
        yield announced["url"], announced["pid"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_against_a_running_broker(
    capsys: pytest.CaptureFixture[str], running_broker: tuple[str, int]
) -> None:
    url, pid = running_broker
    rows = bench(
        capsys, "--scenario", "pipeline,drain", "--jobs", str(JOBS), "--broker", url, "--broker-pid", str(pid)
    )
    for row in rows:
        assert_sane(row)
        assert row["target"] == url
        # Storage counts come only from an embedded broker; the rest comes over HTTP and /proc.
        assert row["storage_writes"] is None
        assert row["mean_batch"] is not None and row["broker_cpu_pct"] is not None


@pytest.mark.parametrize(
    "args",
    [
        ["--broker", "http://127.0.0.1:1", "--storage", "file://x"],
        ["--broker", "http://127.0.0.1:1", "--commit-interval-ms", "5"],
        ["--commit-interval-ms", "-1"],
        ["--moto", "--storage", "file://x"],
        ["--broker-pid", "1"],
        ["--jobs", "0"],
        ["--batch-size", "5000"],
    ],
)
def test_contradictory_options_are_refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert main(["bench", *args]) == 1
    assert capsys.readouterr().err.startswith("osqueue bench: ")


def test_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--scenario", "pipeline,nope"])
    assert exit_info.value.code == 2
    assert "choose from pipeline" in capsys.readouterr().err
