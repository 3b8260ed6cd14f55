"""The subcommand registry.

Every module in `osqueue_cli._commands` that defines `COMMAND = Command(...)` becomes an
`osqueue <name>` subcommand; adding a command means adding one module there. Command modules
keep their top-level imports light (argparse and this module): heavy imports belong in `run`,
so `osqueue --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from . import _commands


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    # Adds the command's arguments to its subparser.
    configure: Callable[[argparse.ArgumentParser], None]
    # Runs the command; returns the process exit code.
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    # Position in `osqueue --help` (then alphabetical).
    order: int = 100


def load_commands() -> list[Command]:
    commands: dict[str, Command] = {}
    for info in pkgutil.iter_modules(_commands.__path__):
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if not isinstance(command, Command):
            continue
        if command.name in commands:
            raise RuntimeError(f"two osqueue commands are named {command.name!r}")
        commands[command.name] = command
    return sorted(commands.values(), key=lambda c: (c.order, c.name))


class CommandError(Exception):
    """A problem to report as one line on stderr (no traceback), exit status 1."""
