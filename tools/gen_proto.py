"""Regenerate osqueue-proto's protobuf and Connect code from queue.proto.

    uv run python tools/gen_proto.py           # rewrite packages/proto/src/osqueue_proto/v1/
    uv run python tools/gen_proto.py --check   # exit 1 if the committed code is stale

The .proto lives at proto/osqueue/v1/queue.proto (protobuf package `osqueue.v1`, so the Connect
paths are /osqueue.v1.QueueService/<Method>). protoc writes osqueue/v1/queue_*.py into a scratch
directory; the files are then placed in osqueue_proto/v1/. That works unchanged because the pb2
module imports nothing of ours and the Connect stub is generated with `imports=relative`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "packages" / "proto" / "proto"
PROTO_FILE = "osqueue/v1/queue.proto"
TARGET_DIR = ROOT / "packages" / "proto" / "src" / "osqueue_proto" / "v1"
GENERATED_NAMES = ("queue_pb2.py", "queue_pb2.pyi", "queue_connect.py")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_connect.py")

# The generated code embeds the protoc version and the runtime it requires; pin the generators
# so every checkout produces the same bytes.
PINNED_GENERATORS = {"grpcio-tools": "1.85.1", "protoc-gen-connect-python": "0.9.0"}


def check_generator_versions() -> None:
    for dist, wanted in PINNED_GENERATORS.items():
        found = importlib.metadata.version(dist)
        if found != wanted:
            raise SystemExit(f"gen_proto: {dist}=={wanted} is required, {found} is installed")


def connect_plugin() -> Path:
    # The plugin is a binary installed next to the interpreter by protoc-gen-connect-python.
    plugin = Path(sys.executable).parent / "protoc-gen-connect-python"
    if not plugin.exists():
        raise SystemExit(f"gen_proto: {plugin} not found; run `uv sync` (dev group)")
    return plugin


def generate() -> dict[str, bytes]:
    """Run protoc and return the generated files' contents by file name."""
    check_generator_versions()
    with tempfile.TemporaryDirectory(prefix="osqueue-gen-proto-") as scratch:
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--plugin=protoc-gen-connect-python={connect_plugin()}",
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--connect-python_out=imports=relative:{scratch}",
            PROTO_FILE,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"gen_proto: protoc failed:\n{result.stderr}")
        out_dir = Path(scratch) / Path(PROTO_FILE).parent
        return {name: (out_dir / name).read_bytes() for name in GENERATED_NAMES}


def stale_files(generated: dict[str, bytes], target: Path = TARGET_DIR) -> list[str]:
    """Names of files in `target` that differ from `generated`, are missing, or are leftovers."""
    stale = [name for name, data in generated.items() if _read(target / name) != data]
    leftovers = [
        path.name
        for path in sorted(target.iterdir())
        if path.name.endswith(GENERATED_SUFFIXES) and path.name not in generated
    ]
    return stale + leftovers


def write(generated: dict[str, bytes], target: Path = TARGET_DIR) -> None:
    for path in target.iterdir():
        if path.name.endswith(GENERATED_SUFFIXES) and path.name not in generated:
            path.unlink()
    for name, data in generated.items():
        (target / name).write_bytes(data)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed code, write nothing")
    args = parser.parse_args(argv)
    generated = generate()
    stale = stale_files(generated)
    if args.check:
        if stale:
            print(f"stale generated code: {', '.join(stale)}; run `uv run python tools/gen_proto.py`")
            return 1
        print("generated code is up to date")
        return 0
    write(generated)
    print(f"wrote {', '.join(sorted(generated))}" if stale else "generated code was already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
