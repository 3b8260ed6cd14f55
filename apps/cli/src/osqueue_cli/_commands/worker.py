"""osqueue worker MODULE:ATTR: run handlers for jobs until SIGINT/SIGTERM.

ATTR is a dict of handlers ({"email:send": send_email}), a Worker, or a factory: a callable
(sync or async) taking the client, or nothing, and returning either of those.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._client_options import add_client_options, broker_url, client_from_args
from .._registry import Command, CommandError

if TYPE_CHECKING:
    from osqueue_client import OsqueueClient
    from osqueue_worker import Worker


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="MODULE:ATTR",
        help="a dict {type: fn}, a Worker, or a factory returning one (e.g. myapp.tasks:handlers)",
    )
    parser.add_argument("--concurrency", type=int, default=1, help="jobs run at the same time")
    parser.add_argument("--worker-id", default=None, help="this worker's id (default: host-pid-random)")
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often running jobs are heartbeated (keep it well under the broker's job heartbeat timeout)",
    )
    parser.add_argument(
        "--job-timeout", type=float, default=None, metavar="SECONDS", help="cancel slower jobs"
    )
    parser.add_argument("--claim-wait", type=float, default=30.0, metavar="SECONDS", help="long-poll time")
    parser.add_argument(
        "--grace-period",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long running jobs may finish before they are given back",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="logging threshold"
    )
    add_client_options(parser)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    target = load_target(args.target)
    worker = asyncio.run(_serve(args, target))
    if worker.lingering_threads:
        _exit_without_handler_threads(worker.lingering_threads)
    return 0


def _exit_without_handler_threads(count: int) -> None:
    """Python joins thread-pool threads at exit, so a sync handler that never returns would keep
    a stopped worker process alive for good. Its job was already given back: exit without it."""
    logging.getLogger("osqueue.worker").warning(
        "%d sync handler thread(s) still running after the worker stopped (their jobs were "
        "given back); exiting without waiting for them",
        count,
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def load_target(spec: str) -> object:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CommandError(f"expected MODULE:ATTR such as myapp.tasks:handlers, got {spec!r}")
    # Like `python -m`, find modules in the current directory.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise CommandError(f"cannot import module {module_name!r}: {exc}") from None
        raise
    value: object = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise CommandError(f"module {module_name!r} has no attribute {attr!r}") from None
    return value


async def _serve(args: argparse.Namespace, target: object) -> Worker:
    from osqueue_worker import Worker

    if isinstance(target, Worker):
        # Built with its own client: runs as configured, the connection options do not apply.
        await target.run()
        return target
    client = client_from_args(args)
    try:
        built = await _build(target, client, args)
        print(
            f"osqueue worker {built.worker_id}: types {', '.join(built.job_types)}; "
            f"broker {broker_url(args) or 'from ' + args.storage}; queue {args.queue!r}; "
            f"concurrency {built.concurrency}",
            file=sys.stderr,
            flush=True,
        )
        await built.run()
    finally:
        await client.aclose()
    return built


async def _build(target: object, client: OsqueueClient, args: argparse.Namespace) -> Worker:
    from osqueue_worker import Worker

    value = target
    if callable(value) and not isinstance(value, Mapping):
        value = value(client) if _takes_argument(value) else value()
        if inspect.isawaitable(value):
            value = await value
    if isinstance(value, Worker):
        return value
    if isinstance(value, Mapping):
        try:
            return Worker(
                client,
                _handlers(value),
                worker_id=args.worker_id,
                concurrency=args.concurrency,
                heartbeat_interval=args.heartbeat_interval,
                job_timeout=args.job_timeout,
                claim_wait=args.claim_wait,
                grace_period=args.grace_period,
            )
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    raise CommandError(
        f"{args.target} is a {type(value).__name__}; expected a dict of handlers, a Worker, or a factory"
    )


def _handlers(value: Mapping[Any, Any]) -> dict[str, Any]:
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise CommandError(f"handler keys must be job type strings, got {bad[0]!r}")
    return dict(value)


def _takes_argument(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


COMMAND = Command(
    name="worker",
    help="run job handlers from MODULE:ATTR",
    description=__doc__,
    configure=_configure,
    run=_run,
    order=20,
)
