"""`osqueue bench`: argument parsing and the command's entry point (heavy imports happen in `run`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .._registry import Command, CommandError

if TYPE_CHECKING:
    from ._session import BenchOptions

T = TypeVar("T")

_PIPE_WIDTH = 200
_SCENARIOS = ("pipeline", "submit", "drain", "latency", "backlog", "batch-submit", "batch-claim")
_TRANSPORTS = ("rest", "ws", "connect")

_DESCRIPTION = """\
Measure a broker's throughput and latency. Without --broker, each scenario gets a fresh broker
in a child process on --storage (so broker and load generator do not share a CPU).

scenarios (comma-separated, or "all"):
  pipeline      producers submit --jobs while workers claim and complete them
  submit        producers submit --jobs (no workers)
  drain         --jobs are queued first (untimed), then workers claim and complete them
  latency       an idle worker waits in a long poll; time from a submit's answer to the worker
                receiving the job
  backlog       pipeline after --prefill jobs were queued (default 20,000)
  batch-submit  producers submit --batch-size jobs per request
  batch-claim   --jobs are queued first, then workers claim --batch-size per request and
                complete each claimed batch with one request
"""


def _choices(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = list(allowed) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} or all (got {text!r})")
        return names

    return parse


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add(
        "--scenario",
        type=_choices(_SCENARIOS),
        default=["pipeline"],
        help="scenarios to run (default: pipeline)",
    )
    add(
        "--transport",
        type=_choices(_TRANSPORTS),
        default=["rest"],
        help="rest, ws, connect or all (default: rest)",
    )
    add("--jobs", type=int, help="jobs per scenario (default: per scenario, e.g. 5000 for pipeline)")
    add("--producers", type=int, help="producer tasks, one connection each (default: per scenario)")
    add("--workers", type=int, help="worker tasks, one connection each (default: per scenario)")
    add("--prefill", type=int, help="jobs queued (untimed) before the clock starts")
    add("--batch-size", type=int, default=100, help="jobs per request in the batch scenarios (default: 100)")
    add("--wait-ms", type=int, default=1000, help="long-poll wait of the workers' claims (default: 1000)")
    add("--storage", default="memory://", help="storage URL of the embedded broker (default: memory://)")
    add("--storage-latency-ms", type=float, default=0.0, help="latency added to every storage call")
    add(
        "--commit-interval-ms",
        type=int,
        default=0,
        help="the embedded broker's minimum time between commits (GROUP_COMMIT_INTERVAL_MS; default: 0)",
    )
    add("--moto", action="store_true", help="start moto_server and benchmark the S3 backend on it")
    add("--broker", metavar="URL", help="benchmark this running broker instead of an embedded one")
    add("--broker-pid", type=int, help="process id of --broker, to report its CPU")
    add("--auth-token", help="bearer token for --broker")
    add("--ceiling", action="store_true", help="also run REST scenarios against the ceiling app")
    add(
        "--timeout", type=float, default=300.0, help="wall-clock limit per scenario in seconds (default: 300)"
    )
    add("--request-timeout", type=float, default=60.0, help="limit per request in seconds (default: 60)")
    add("--json", action="store_true", help="print one JSON line per scenario on stdout")


def _options(args: argparse.Namespace) -> BenchOptions:
    from ._session import BenchOptions

    for name in ("jobs", "producers", "workers", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    if args.prefill is not None and args.prefill < 0:
        raise CommandError("--prefill must not be negative")
    if args.batch_size > 1000:
        raise CommandError("--batch-size must be at most 1000 (the broker's claim limit)")
    if args.broker and (
        args.moto or args.storage != "memory://" or args.storage_latency_ms or args.commit_interval_ms
    ):
        raise CommandError(
            "--broker is configured on its own: drop --storage, --moto, --storage-latency-ms, "
            "--commit-interval-ms"
        )
    if args.commit_interval_ms < 0 or args.storage_latency_ms < 0:
        raise CommandError("--commit-interval-ms and --storage-latency-ms must not be negative")
    if args.moto and args.storage != "memory://":
        raise CommandError("--moto chooses the storage itself: drop --storage")
    if args.broker_pid is not None and not args.broker:
        raise CommandError("--broker-pid goes with --broker")
    return BenchOptions(
        scenarios=args.scenario,
        transports=args.transport,
        jobs=args.jobs,
        producers=args.producers,
        workers=args.workers,
        prefill=args.prefill,
        batch_size=args.batch_size,
        wait_ms=args.wait_ms,
        storage=args.storage,
        storage_latency_ms=args.storage_latency_ms,
        commit_interval_ms=args.commit_interval_ms,
        moto=args.moto,
        broker=args.broker,
        broker_pid=args.broker_pid,
        auth_token=args.auth_token,
        ceiling=args.ceiling,
        timeout_s=args.timeout,
        request_timeout_s=args.request_timeout,
    )


def _run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .._output import console
    from ._report import print_json_lines, print_report
    from ._session import Session
    from ._targets import TargetError

    options = _options(args)
    # Piped or captured, the table still gets room for every column.
    stderr = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH, highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=stderr, refresh_per_second=4) as progress:
            results = _run_loop(Session(options, progress).run())
    except TargetError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print_json_lines(results, sys.stdout)
        print_report(results, stderr)
    else:
        print_report(results, console())
    return 1 if any(r.timed_out or r.aborted for r in results) else 0


def _run_loop(main: Coroutine[Any, Any, T]) -> T:
    """uvloop where it is installed: the load generator's own overhead is part of every figure."""
    import asyncio

    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop is optional (not on Windows)
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)


COMMAND = Command(
    name="bench",
    help="measure a broker's throughput and latency",
    description=_DESCRIPTION,
    configure=_configure,
    run=_run,
    order=90,
)
