"""`osqueue jobs`: list jobs waiting or in progress."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, get_args

from osqueue_types import ListStatus
from rich.table import Table

from .._client_options import add_client_options, client_from_args
from .._output import age, console, print_json, shorten
from .._registry import Command

if TYPE_CHECKING:
    from osqueue_client import JobList


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=get_args(ListStatus), default=None, help="only this status")
    parser.add_argument("--type", default=None, help="only jobs of this type")
    parser.add_argument("--limit", type=int, default=50, help="at most this many jobs")
    parser.add_argument("--offset", type=int, default=0, help="skip this many jobs first")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    add_client_options(parser)


def _run(args: argparse.Namespace) -> int:
    listing = asyncio.run(_fetch(args))
    if args.json:
        print_json(listing)
        return 0
    shown = len(listing.jobs)
    out = console()
    out.print(
        f"{shown} job(s) shown; queue {args.queue!r} at {listing.broker_address}: "
        f"{listing.unclaimed} unclaimed, {listing.in_progress} in progress, {listing.delayed} delayed"
    )
    table = Table()
    for column in ("id", "type", "status", "attempts", "priority", "worker", "created", "runs", "last error"):
        table.add_column(column, no_wrap=column == "id")
    table.add_column("payload", overflow="ellipsis", max_width=50)
    for job in listing.jobs:
        table.add_row(
            job.id,
            job.type or "-",
            str(job.status),
            f"{job.attempts}/{job.max_attempts}",
            str(job.priority),
            job.worker_id or "-",
            age(job.created_at),
            age(job.run_at),
            shorten(job.last_error or "-", 40),
            shorten(json.dumps(job.payload)),
        )
    out.print(table)
    return 0


async def _fetch(args: argparse.Namespace) -> JobList:
    async with client_from_args(args) as client:
        return await client.list_jobs(
            status=args.status, type=args.type, offset=args.offset, limit=args.limit
        )


COMMAND = Command(
    name="jobs",
    help="list jobs that wait or run",
    configure=_configure,
    run=_run,
    order=50,
)
