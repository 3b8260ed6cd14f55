"""Fixtures of the end-to-end suites: storage URLs, broker processes cleaned up whatever happens,
and figure reports under test-output/e2e/."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import create_s3_bucket
from ._processes import BrokerProcess

Launch = Callable[[str, dict[str, str]], BrokerProcess]
Report = Callable[[str, str, dict[str, Any]], Path]


@pytest.fixture(params=["s3", "file"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the brokers keep queue.json and where the clients find the leader."""
    if request.param == "s3":
        endpoint: str = request.getfixturevalue("moto_server")
        return f"s3://{create_s3_bucket(endpoint)}/e2e?endpoint={endpoint}"
    return f"file://{tmp_path / 'state'}"


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Starts broker processes; every one is stopped (or killed) at teardown, pass or fail."""
    log_dir = tmp_path / "broker-logs"
    log_dir.mkdir()
    brokers: list[BrokerProcess] = []

    def start(name: str, env: dict[str, str]) -> BrokerProcess:
        broker = BrokerProcess(name, env, log_dir)
        brokers.append(broker)
        return broker

    try:
        yield start
    finally:
        for broker in brokers:
            broker.close()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """`report(name, key, figures)`: prints the figures (visible with -s) and stores them under
    `key` in test-output/e2e/<name>.json, next to the other keys already there."""

    def write(name: str, key: str, figures: dict[str, Any]) -> Path:
        out_dir = request.config.rootpath / "test-output" / "e2e"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.json"
        try:
            stored: dict[str, Any] = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            stored = {}
        stored[key] = figures
        path.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        print(f"\n[e2e] {name} / {key}:\n{json.dumps(figures, indent=2, sort_keys=True)}")
        return path

    return write
