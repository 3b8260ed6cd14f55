"""The committed generated code is exactly what tools/gen_proto.py produces from queue.proto."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

GEN_PROTO = Path(__file__).resolve().parents[2] / "tools" / "gen_proto.py"


@pytest.fixture(scope="module")
def gen_proto() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_proto", GEN_PROTO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(gen_proto: ModuleType) -> dict[str, bytes]:
    files: dict[str, bytes] = gen_proto.generate()
    return files


def test_committed_code_is_fresh(gen_proto: ModuleType, generated: dict[str, bytes]) -> None:
    stale = gen_proto.stale_files(generated)
    assert stale == [], f"stale: {stale}; run `uv run python tools/gen_proto.py` and commit"
    for name, data in generated.items():
        assert (gen_proto.TARGET_DIR / name).read_bytes() == data


def test_connect_stub_imports_its_pb2_module_relatively(generated: dict[str, bytes]) -> None:
    assert b"\nfrom . import queue_pb2 as " in generated["queue_connect.py"]
    assert b'"/osqueue.v1.QueueService/SubmitJob"' in generated["queue_connect.py"]


def test_check_detects_edits_and_leftovers_and_write_repairs_them(
    gen_proto: ModuleType, generated: dict[str, bytes], tmp_path: Path
) -> None:
    shutil.copytree(gen_proto.TARGET_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "queue_pb2.pyi").write_bytes(generated["queue_pb2.pyi"] + b"\n")
    (tmp_path / "queue_connect.py").unlink()
    (tmp_path / "old_pb2.py").write_text("")
    assert gen_proto.stale_files(generated, tmp_path) == ["queue_pb2.pyi", "queue_connect.py", "old_pb2.py"]

    gen_proto.write(generated, tmp_path)
    assert gen_proto.stale_files(generated, tmp_path) == []
    assert (tmp_path / "__init__.py").exists()
