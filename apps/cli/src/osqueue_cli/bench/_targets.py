"""What the load is sent to: a broker or the ceiling app in a child process, or a broker by URL.

A child process keeps the target off the load generator's event loop (and, on a machine with
two cores, on a core of its own). It announces `{"url", "pid"}` on its first stdout line; an
embedded broker also answers `counts` on stdin with its storage call counts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass
from typing import IO, Any, Protocol, Self

_START_TIMEOUT_S = 60.0


class TargetError(Exception):
    """The target could not be started or stopped working."""


@dataclass(frozen=True)
class StorageCounts:
    reads: int
    writes: int


class Target(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int | None:
        """The process to measure CPU of, when known."""
        ...

    @property
    def label(self) -> str: ...

    async def storage_counts(self) -> StorageCounts | None: ...

    async def close(self) -> None: ...


class ChildTarget:
    """`python -m <module> <args>` in its own process."""

    def __init__(
        self, process: asyncio.subprocess.Process, log: IO[bytes], announced: dict[str, Any], label: str
    ):
        self._process = process
        self._log = log
        self._url: str = announced["url"]
        self._pid: int = announced["pid"]
        self._label = label
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, module: str, args: list[str], label: str, env: dict[str, str] | None = None) -> Self:
        # The child's log goes to a file (kept until `close`): a pipe nobody reads would fill up
        # and stall the child.
        log = tempfile.TemporaryFile()  # noqa: SIM115
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
            announced = json.loads(line)
        except (TimeoutError, ValueError) as exc:
            process.kill()
            await process.wait()
            raise TargetError(f"{label} did not start: {_tail(log)}") from exc
        return cls(process, log, announced, label)

    @property
    def url(self) -> str:
        return self._url

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def label(self) -> str:
        return self._label

    async def ask(self, command: str) -> dict[str, Any]:
        """Send one line on the child's stdin; return the JSON line it answers."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        async with self._lock:
            stdin.write(command.encode() + b"\n")
            await stdin.drain()
            line = await asyncio.wait_for(stdout.readline(), 10.0)
        if not line:
            raise TargetError(f"{self._label} exited: {_tail(self._log)}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def storage_counts(self) -> StorageCounts | None:
        return None

    async def close(self) -> None:
        if self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10.0)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._log.close()


class EmbeddedBroker(ChildTarget):
    """An osqueue broker started by the benchmark (see `_broker_process.py`)."""

    async def storage_counts(self) -> StorageCounts | None:
        answer = await self.ask("counts")
        return StorageCounts(int(answer["reads"]), int(answer["writes"]))


async def launch_broker(
    storage_url: str, latency_ms: float, commit_interval_ms: int, env: dict[str, str] | None = None
) -> EmbeddedBroker:
    args = ["--storage", storage_url, "--storage-latency-ms", str(latency_ms)]
    args += ["--group-commit-interval-ms", str(commit_interval_ms)]
    return await EmbeddedBroker.start(
        "osqueue_cli.bench._broker_process", args, f"broker on {storage_url}", env
    )


async def launch_ceiling() -> ChildTarget:
    return await ChildTarget.start("osqueue_cli.bench._ceiling_app", [], "ceiling app")


class RemoteTarget:
    """A broker that is already running; its CPU is measured only when its pid is given."""

    def __init__(self, url: str, pid: int | None) -> None:
        self._url = url.rstrip("/")
        self._pid = pid

    @property
    def url(self) -> str:
        return self._url

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def label(self) -> str:
        return self._url

    async def storage_counts(self) -> StorageCounts | None:
        return None

    async def close(self) -> None:
        return None


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    text = log.read().decode("utf-8", "replace").strip()
    return text[-2000:] or "(no output)"
