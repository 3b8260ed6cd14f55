"""`osqueue stats`: the queue's counters."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from rich.table import Table

from .._client_options import add_client_options, client_from_args
from .._output import console, print_json
from .._registry import Command

if TYPE_CHECKING:
    from osqueue_client import QueueStats


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    add_client_options(parser)


def _run(args: argparse.Namespace) -> int:
    stats = asyncio.run(_fetch(args))
    if args.json:
        print_json(stats)
        return 0
    out = console()
    out.print(f"queue {args.queue!r} at {stats.broker_address}")
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in (
        ("total", stats.total),
        ("unclaimed", stats.unclaimed),
        ("in progress", stats.in_progress),
        ("delayed", stats.delayed),
        ("dead letters", stats.dead_letters),
        ("completed (all time)", stats.completed_total),
    ):
        table.add_row(label, str(value))
    out.print(table)
    return 0


async def _fetch(args: argparse.Namespace) -> QueueStats:
    async with client_from_args(args) as client:
        return await client.stats()


COMMAND = Command(name="stats", help="show the queue's counters", configure=_configure, run=_run, order=40)
