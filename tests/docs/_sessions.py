"""Groups documentation code blocks into sessions and runs them like a user would.

A session is one block, or every block of one file marked with the same `session=NAME`. Its
blocks run in document order, in one fresh working directory, against one broker when any of
them asks for it. Python blocks share one interpreter (`_runner.py`); bash blocks run in
bash; json blocks marked `queue-state` must decode as queue.json.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec
from osqueue_types import decode_state

from ._broker import BackgroundBroker
from ._markdown import CodeBlock

RUNNER = Path(__file__).with_name("_runner.py")
PYTHON_LANGS = frozenset({"python", "py"})
SHELL_LANGS = frozenset({"bash", "sh", "shell", "console"})
DEFAULT_TIMEOUT = 30.0
# How long a block has to end once it got SIGTERM (a worker drains, a server closes).
_STOP_TIMEOUT = 15.0
# Configuration the samples' programs read: none may leak in from the shell running the tests.
_CONFIG_PREFIXES = (
    "BROKER_",
    "STORAGE_",
    "FILE_STORAGE_",
    "S3_",
    "GCS_",
    "AWS_",
    "OSQUEUE_",
    "GROUP_COMMIT_",
    "JOB_HEARTBEAT_",
    "MAX_",
)


class SampleFailed(AssertionError):
    pass


@dataclass(frozen=True)
class Session:
    name: str
    blocks: tuple[CodeBlock, ...]

    def flag(self, name: str) -> bool:
        return any(name in block.options.flags for block in self.blocks)

    def value(self, key: str) -> str | None:
        """A session-wide option (broker storage, token, bucket): all blocks giving it must agree."""
        given = {block.options.values[key] for block in self.blocks if key in block.options.values}
        if len(given) > 1:
            raise SampleFailed(f"session {self.name}: conflicting {key}= values {sorted(given)}")
        return given.pop() if given else None


def runnable(block: CodeBlock) -> bool:
    """Python blocks always run; others only when marked (bash: which commands are safe here)."""
    if block.options.skip is not None:
        return False
    if block.lang in PYTHON_LANGS:
        return True
    return bool(block.options.flags or block.options.values)


def sessions(blocks: list[CodeBlock]) -> list[Session]:
    grouped: dict[str, list[CodeBlock]] = {}
    for block in blocks:
        if not runnable(block):
            continue
        name = block.options.values.get("session")
        key = f"{block.path}::{name}" if name else block.where
        grouped.setdefault(key, []).append(block)
    return [Session(key, tuple(group)) for key, group in grouped.items()]


def sample_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class _PythonRunner:
    """One interpreter for a session's python blocks; its output goes to a log file."""

    def __init__(self, workdir: Path, env: dict[str, str], log: IO[bytes]) -> None:
        read_fd, write_fd = os.pipe()
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            cwd=workdir,
            env={**env, "DOC_TEST_RESULT_FD": str(write_fd)},
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r")

    def run(self, block: CodeBlock, timeout: float) -> None:
        stop_after = block.options.number("stop-after")
        request = {
            "source": block.source,
            "path": str(block.path),
            "line": block.line,
            "stop_after": stop_after,
        }
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        limit = timeout if stop_after is None else stop_after + _STOP_TIMEOUT
        ready, _, _ = select.select([self._results], [], [], limit)
        if not ready:
            why = "" if stop_after is None else f" (SIGTERM sent after {stop_after:g}s)"
            raise SampleFailed(f"{block.where}: still running after {limit:g}s{why}\n{_tail(self._log)}")
        line = self._results.readline()
        if not line:
            raise SampleFailed(f"{block.where}: the interpreter died\n{_tail(self._log)}")
        outcome = json.loads(line)
        if not outcome["ok"]:
            raise SampleFailed(f"{block.where} failed:\n{outcome['error']}\noutput:\n{_tail(self._log)}")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._results.close()


def _tail(log: IO[bytes], limit: int = 4000) -> str:
    log.flush()
    log.seek(0)
    text = log.read().decode(errors="replace")
    return text[-limit:]


def _shell_commands(source: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments and blanks dropped."""
    commands: list[str] = []
    pending = ""
    for raw in source.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    return commands


def _run_shell(block: CodeBlock, workdir: Path, env: dict[str, str], timeout: float) -> None:
    stop_after = block.options.number("stop-after")
    if stop_after is None:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.source],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            printed = result.stdout[-2000:] + result.stderr[-2000:]
            raise SampleFailed(f"{block.where}: exit status {result.returncode}\n{printed}")
        return
    _run_until_stopped(block, workdir, env, timeout, stop_after)


def _run_until_stopped(
    block: CodeBlock, workdir: Path, env: dict[str, str], timeout: float, stop_after: float
) -> None:
    """Run a long-running command, SIGTERM it `stop_after` seconds after its first line of
    output, and require a clean exit."""
    commands = _shell_commands(block.source)
    if len(commands) != 1:
        raise SampleFailed(f"{block.where}: a stop-after shell block must hold exactly one command")
    process = subprocess.Popen(
        # `exec env`: the command (after any VAR=value) replaces bash and gets the signal itself.
        ["bash", "-c", "exec env " + commands[0]],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    output: list[str] = []
    spoke = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            spoke.set()
        spoke.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The clock starts at the program's first line (the broker's start line, the worker's
    # "started"): by then it listens for SIGTERM, however slowly it was imported.
    spoke.wait(timeout)
    time.sleep(stop_after)
    early = process.poll()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        reader.join()
        raise SampleFailed(f"{block.where}: did not stop on SIGTERM\n{''.join(output)[-3000:]}") from None
    reader.join()
    # uvicorn ends a graceful shutdown by re-raising the signal, so dying of it counts as clean.
    if early is not None or process.returncode not in (0, -signal.SIGTERM):
        state = f"ended early ({early})" if early is not None else f"exit status {process.returncode}"
        command = shlex.join(shlex.split(commands[0])[:3])
        raise SampleFailed(f"{block.where}: {command} {state}\n{''.join(output)[-3000:]}")


def _check_queue_state(block: CodeBlock) -> None:
    try:
        decode_state(block.source.encode())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SampleFailed(f"{block.where}: not a valid queue.json: {exc}") from exc


@contextmanager
def session_broker(session: Session, workdir: Path) -> Iterator[str | None]:
    if not session.flag("broker"):
        yield None
        return
    broker = BackgroundBroker(
        storage=session.value("storage") or "memory",
        workdir=workdir,
        auth_token=session.value("auth-token"),
    )
    try:
        yield broker.start()
    finally:
        broker.stop()


def run_session(session: Session, workdir: Path, env: dict[str, str]) -> None:
    runner: _PythonRunner | None = None
    with (workdir / "output.log").open("w+b") as log:
        try:
            for block in session.blocks:
                started = time.monotonic()
                timeout = block.options.number("timeout") or DEFAULT_TIMEOUT
                target = block.options.values.get("file")
                if target is not None:
                    (workdir / target).write_text(block.source, encoding="utf-8")
                    if block.lang in PYTHON_LANGS:
                        compile(block.source, str(block.path), "exec")
                elif "queue-state" in block.options.flags:
                    _check_queue_state(block)
                elif block.lang in PYTHON_LANGS:
                    runner = runner or _PythonRunner(workdir, env, log)
                    runner.run(block, timeout)
                elif block.lang in SHELL_LANGS:
                    _run_shell(block, workdir, env, timeout)
                else:
                    raise SampleFailed(f"{block.where}: cannot run a {block.lang or 'plain'} block")
                # Which block is slow, for whoever keeps this suite fast.
                log.write(f"--- {block.where} took {time.monotonic() - started:.2f}s\n".encode())
        finally:
            if runner is not None:
                runner.close()
