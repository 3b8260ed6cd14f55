"""`osqueue submit TYPE JSON`: add one job and print its id."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from .._client_options import add_client_options, client_from_args
from .._registry import Command, CommandError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("type", metavar="TYPE", help="job type, e.g. email:send")
    parser.add_argument("payload", metavar="JSON", help="the job's payload as JSON ('-' reads stdin)")
    parser.add_argument("--max-attempts", type=int, default=None, help="attempts before dead-lettering")
    parser.add_argument(
        "--delay", type=float, default=None, metavar="SECONDS", help="claimable only after this"
    )
    parser.add_argument("--priority", type=int, default=None, help="higher is claimed first")
    parser.add_argument("--idempotency-key", default=None, help="repeating a key returns the first job's id")
    add_client_options(parser)


def _run(args: argparse.Namespace) -> int:
    payload = _parse_payload(sys.stdin.read() if args.payload == "-" else args.payload)
    job_id = asyncio.run(_submit(args, payload))
    print(job_id)
    return 0


def _parse_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"the payload is not valid JSON: {exc}") from None


async def _submit(args: argparse.Namespace, payload: Any) -> str:
    async with client_from_args(args) as client:
        return await client.submit(
            args.type,
            payload,
            max_attempts=args.max_attempts,
            delay=args.delay,
            priority=args.priority,
            idempotency_key=args.idempotency_key,
        )


COMMAND = Command(
    name="submit",
    help="submit a job and print its id",
    configure=_configure,
    run=_run,
    order=30,
)
