"""Brokers as separate processes (`python -m osqueue_broker`), so they can be SIGKILLed and SIGSTOPped.

`BrokerProcess` runs one broker configured through the environment, on a fixed port so that a
restart comes back at the same address. `BrokerFleet` starts them and, at teardown, resumes
any stopped one and kills them all, whatever state the test left them in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx

from .conftest import free_port

# Short leases keep failover within a couple of seconds (interval < timeout / 2 is enforced).
FAST_LEASE_ENV = {
    "BROKER_HEARTBEAT_INTERVAL_MS": "250",
    "BROKER_HEARTBEAT_TIMEOUT_MS": "1200",
}


class BrokerProcess:
    """One broker process; `start()` can be called again after a kill (same port, new broker id)."""

    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, **env, "BROKER_HOST": "127.0.0.1", "BROKER_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is already running"
        if self._log is None:
            self._log = self.log_path.open("ab")
        self._log.write(f"\n==== start {self.starts + 1} ====\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "osqueue_broker"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1

    async def wait_serving(self, timeout: float = 20.0) -> None:
        """Until /healthz answers (the broker has campaigned once and listens)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            if await self.health() is not None:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not serve within {timeout}s:\n{self.log_tail()}")

    async def health(self) -> dict[str, Any] | None:
        """The /healthz answer, or None when the broker does not answer in time."""
        try:
            async with httpx.AsyncClient(timeout=0.5) as http:
                response = await http.get(self.url + "/healthz")
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def is_leader(self) -> bool:
        health = await self.health()
        return bool(health and health.get("leader"))

    def kill(self) -> None:
        """SIGKILL: no last commit, no goodbye; the process is reaped before returning."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def rss_bytes(self) -> int:
        """Resident set size from /proc (Linux)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS in /proc/{self.pid}/status")

    def log_tail(self, chars: int = 3000) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def close(self) -> None:
        """Resume (a stopped process ignores SIGTERM), ask it to stop, then kill it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class BrokerFleet:
    """The broker processes of one test, all closed by the fixture that owns the fleet."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.brokers: list[BrokerProcess] = []

    async def launch(self, name: str, env: Mapping[str, str]) -> BrokerProcess:
        broker = BrokerProcess(name, env, self.log_dir)
        self.brokers.append(broker)
        broker.start()
        await broker.wait_serving()
        return broker

    async def leader(self, timeout: float = 15.0) -> BrokerProcess:
        """The one broker that says it leads, waiting for an election if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for broker in self.brokers:
                if broker.alive and await broker.is_leader():
                    return broker
            await asyncio.sleep(0.02)
        raise AssertionError(f"no broker leads after {timeout}s:\n{self.log_tails()}")

    async def claimed_leaders(self) -> list[str]:
        """Names of the running brokers that say, right now, that they lead."""
        running = [broker for broker in self.brokers if broker.alive]
        answers = await asyncio.gather(*(broker.is_leader() for broker in running))
        return [broker.name for broker, leads in zip(running, answers, strict=True) if leads]

    def log_tails(self) -> str:
        return "\n".join(f"--- {b.name} ---\n{b.log_tail()}" for b in self.brokers)

    def close(self) -> None:
        for broker in self.brokers:
            broker.close()
