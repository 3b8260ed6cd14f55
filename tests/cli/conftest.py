"""Run the real `osqueue` command in subprocesses."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from ..conftest import free_port

OSQUEUE = str(Path(sys.executable).parent / "osqueue")
REPO = Path(__file__).resolve().parents[2]

# Variables the broker and client commands read: none may leak in from the developer's shell.
_CONFIG_VARIABLES = (
    "BROKER_HOST",
    "BROKER_PORT",
    "BROKER_URL",
    "OSQUEUE_QUEUE",
    "OSQUEUE_AUTH_TOKEN",
    "OSQUEUE_STORAGE",
    "OSQUEUE_TRANSPORT",
    "STORAGE_URL",
    "STORAGE_BACKEND",
    "FILE_STORAGE_DIR",
    "S3_BUCKET",
    "S3_PREFIX",
    "S3_REGION",
    "S3_ENDPOINT",
    "GCS_BUCKET",
    "GCS_PREFIX",
    "GROUP_COMMIT_INTERVAL_MS",
    "BROKER_HEARTBEAT_INTERVAL_MS",
    "BROKER_HEARTBEAT_TIMEOUT_MS",
    "JOB_HEARTBEAT_TIMEOUT_MS",
    "MAX_BATCH_SIZE",
    "S3_MAX_READS_PER_MINUTE",
    "S3_MAX_WRITES_PER_MINUTE",
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _CONFIG_VARIABLES}
    env.update(extra or {})
    return env


def osqueue(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `osqueue ARGS` to completion."""
    return subprocess.run(
        [OSQUEUE, *args],
        env=clean_env(env),
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Running:
    """A long-running `osqueue` process whose stdout lines are read as they come."""

    def __init__(self, args: list[str], *, env: Mapping[str, str] | None, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [OSQUEUE, *args],
            env=clean_env(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, timeout: float = 20) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout}s") from None
        if line is None:
            assert self.process.stderr is not None
            raise AssertionError(
                f"the process ended (exit {self.process.wait()}): {self.process.stderr.read()}"
            )
        return line

    def pending_lines(self) -> list[str]:
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return lines
            if line is not None:
                lines.append(line)

    def interrupt(self, sig: signal.Signals = signal.SIGINT, timeout: float = 15) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Launcher:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: list[Running] = []

    def start(self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Running:
        process = Running(list(args), env=env, cwd=cwd or self.cwd)
        self.running.append(process)
        return process

    def broker(self, *args: str, env: Mapping[str, str] | None = None) -> tuple[Running, str]:
        """`osqueue broker ARGS` on a free port; returns it after its start line, and its URL."""
        port = free_port()
        broker = self.start("broker", "--port", str(port), *args, env=env)
        line = broker.next_line()
        assert f"at http://127.0.0.1:{port}" in line, line
        return broker, f"http://127.0.0.1:{port}"


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    """Starts `osqueue` processes in tmp_path; kills whatever is left at teardown."""
    launched = Launcher(tmp_path)
    yield launched
    for process in launched.running:
        process.kill()


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)
