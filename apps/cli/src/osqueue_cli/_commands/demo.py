"""`osqueue demo`: a broker, workers, a trickle of jobs and the dashboard in one process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .._registry import Command


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3001, help="dashboard port (default 3001)")
    parser.add_argument("--broker-port", type=int, default=0, help="broker port (default: a free port)")
    parser.add_argument("--workers", type=int, default=3, help="demo workers (default 3)")
    parser.add_argument("--jobs-per-second", type=float, default=1.5, help="demo submit rate (default 1.5)")
    parser.add_argument(
        "--data-dir", metavar="DIR", default=None, help="keep the queue in DIR (default: in memory)"
    )


def _run(args: argparse.Namespace) -> int:
    from osqueue_dashboard.demo import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_demo(
                args.host,
                args.port,
                workers=args.workers,
                jobs_per_second=args.jobs_per_second,
                data_dir=args.data_dir,
                broker_port=args.broker_port,
            )
        )
    return 0


COMMAND = Command(
    name="demo",
    help="run a broker, demo workers, demo jobs and the dashboard together",
    configure=_configure,
    run=_run,
    order=65,
)
