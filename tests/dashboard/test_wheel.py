"""The dashboard's wheel carries its templates and static files."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "apps" / "dashboard" / "src" / "osqueue_dashboard"


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv builds the wheel")
def test_templates_and_static_files_are_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--package", "osqueue-dashboard", "--wheel", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("osqueue_dashboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"osqueue_dashboard/{path.relative_to(PACKAGE).as_posix()}"
        for folder in ("templates", "static")
        for path in (PACKAGE / folder).iterdir()
    }
    assert len(expected) > 10
    assert expected <= names
