"""Brokers as real processes (`python -m osqueue_broker`, configured through the environment).

A `BrokerProcess` can be SIGKILLed like a crashed machine; `close()` always cleans it up.
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

from ..conftest import free_port


class BrokerProcess:
    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, **env, "BROKER_HOST": "127.0.0.1", "BROKER_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "osqueue_broker"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    async def wait_serving(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            if await self.health() is not None:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not serve within {timeout}s:\n{self.log_tail()}")

    async def health(self) -> dict[str, Any] | None:
        """The /healthz answer, or None when the broker does not answer."""
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
        """SIGKILL, as a crash: no last commit; reaped before returning."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def close(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def wait_for_leader(brokers: list[BrokerProcess], timeout: float = 15.0) -> BrokerProcess:
    """The live broker that says it leads, polling every 10 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for broker in brokers:
            if broker.alive and await broker.is_leader():
                return broker
        await asyncio.sleep(0.01)
    tails = "\n".join(f"--- {b.name} ---\n{b.log_tail()}" for b in brokers)
    raise AssertionError(f"no broker leads after {timeout}s:\n{tails}")
