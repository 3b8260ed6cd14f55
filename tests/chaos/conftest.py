"""Fixtures of the chaos suites: an S3 URL and reports (broker fleets and storage URLs are shared)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..conftest import create_s3_bucket

Report = Callable[[str, dict[str, Any]], Path]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: steady-load soak test (deselect with -m 'not soak')")


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
