"""The codebase stays ruff-clean and mypy-strict-clean (configured in the root pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "osqueue_types",
    "osqueue_proto",
    "osqueue_storage",
    "osqueue_core",
    "osqueue_client",
    "osqueue_worker",
    "osqueue_broker",
    "osqueue_cli",
    "osqueue_dashboard",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", "packages", "apps", "tools", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_every_package() -> None:
    args = [arg for name in PACKAGES for arg in ("-p", name)]
    result = _run("mypy", *args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_tests_and_tools() -> None:
    result = _run("mypy", "tests", "tools")
    assert result.returncode == 0, result.stdout + result.stderr
