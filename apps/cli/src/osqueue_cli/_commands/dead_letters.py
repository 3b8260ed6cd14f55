"""`osqueue dead-letters`: list jobs that ran out of attempts; requeue or delete them."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from rich.table import Table

from .._client_options import add_client_options, client_from_args
from .._output import age, console, print_json, shorten
from .._registry import Command

if TYPE_CHECKING:
    from osqueue_client import DeadLetterList, DeadLetterSelection


def _configure(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--requeue", nargs="+", metavar="ID", help="put these jobs back on the queue")
    action.add_argument("--all", action="store_true", help="put every dead letter back on the queue")
    action.add_argument("--delete", nargs="+", metavar="ID", help="drop these dead letters for good")
    action.add_argument("--delete-all", action="store_true", help="drop every dead letter for good")
    parser.add_argument("--limit", type=int, default=50, help="list at most this many")
    parser.add_argument("--offset", type=int, default=0, help="skip this many first")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    add_client_options(parser)


def _run(args: argparse.Namespace) -> int:
    if args.requeue or args.all:
        count = asyncio.run(_change(args, "all" if args.all else args.requeue, requeue=True))
        print(f"requeued {count} job(s)")
        return 0 if args.all or count == len(args.requeue) else 1
    if args.delete or args.delete_all:
        count = asyncio.run(_change(args, "all" if args.delete_all else args.delete, requeue=False))
        print(f"deleted {count} dead letter(s)")
        return 0 if args.delete_all or count == len(args.delete) else 1
    listing = asyncio.run(_fetch(args))
    if args.json:
        print_json(listing)
        return 0
    out = console()
    out.print(f"{len(listing.dead_letters)} of {listing.total} dead letter(s) in queue {args.queue!r}")
    table = Table()
    for column in ("id", "type", "attempts", "dead", "reason"):
        table.add_column(column, no_wrap=column == "id")
    table.add_column("payload", overflow="ellipsis", max_width=50)
    for letter in listing.dead_letters:
        job = letter.job
        table.add_row(
            job.id,
            job.type or "-",
            f"{job.attempts}/{job.max_attempts}",
            age(letter.dead_at),
            shorten(letter.reason, 60),
            shorten(json.dumps(job.payload)),
        )
    out.print(table)
    return 0


async def _fetch(args: argparse.Namespace) -> DeadLetterList:
    async with client_from_args(args) as client:
        return await client.dead_letters(offset=args.offset, limit=args.limit)


async def _change(args: argparse.Namespace, selection: DeadLetterSelection, *, requeue: bool) -> int:
    async with client_from_args(args) as client:
        if requeue:
            return await client.requeue_dead_letters(selection)
        return await client.delete_dead_letters(selection)


COMMAND = Command(
    name="dead-letters",
    help="list dead letters; requeue or delete them",
    configure=_configure,
    run=_run,
    order=60,
)
