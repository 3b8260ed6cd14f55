"""Fixtures of the end-to-end suites: figure reports under test-output/e2e/ (broker fleets and
storage URLs are shared)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Report = Callable[[str, str, dict[str, Any]], Path]


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
