"""Fixtures of the chaos suites: broker processes that are always cleaned up, storage URLs, reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import create_s3_bucket
from ._brokers import BrokerFleet

Report = Callable[[str, dict[str, Any]], Path]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: steady-load soak test (deselect with -m 'not soak')")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[BrokerFleet]:
    """Broker processes for one test; every one is resumed and killed at teardown, pass or fail."""
    log_dir = tmp_path / "broker-logs"
    log_dir.mkdir()
    brokers = BrokerFleet(log_dir)
    try:
        yield brokers
    finally:
        brokers.close()


@pytest.fixture(params=["s3", "file"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the brokers (and the clients, for discovery) keep queue.json."""
    if request.param == "s3":
        endpoint: str = request.getfixturevalue("moto_server")
        return f"s3://{create_s3_bucket(endpoint)}/chaos?endpoint={endpoint}"
    return f"file://{tmp_path / 'state'}"


@pytest.fixture
def s3_url(moto_server: str) -> str:
    return f"s3://{create_s3_bucket(moto_server)}/chaos?endpoint={moto_server}"


def write_report(config: pytest.Config, name: str, summary: dict[str, Any]) -> Path:
    """Prints a figure summary (visible with -s) and writes it to test-output/chaos/<name>.json."""
    out_dir = config.rootpath / "test-output" / "chaos"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    text = json.dumps(summary, indent=2, sort_keys=True, default=str)
    path.write_text(text + "\n")
    print(f"\n[chaos] {name}:\n{text}")
    return path


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    return lambda name, summary: write_report(request.config, name, summary)
