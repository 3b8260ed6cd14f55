"""Options shared by every command that talks to a broker, and the client built from them."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from osqueue_client import OsqueueClient, TransportName

DEFAULT_BROKER_URL = "http://127.0.0.1:8080"
TRANSPORTS = ("connect", "rest", "ws")
DEFAULT_TIMEOUT = 10.0


def add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("broker connection")
    group.add_argument(
        "--broker",
        metavar="URL",
        default=None,
        help=f"broker URL (env BROKER_URL; default {DEFAULT_BROKER_URL} unless --storage is given)",
    )
    group.add_argument(
        "--storage",
        metavar="URL",
        default=os.environ.get("OSQUEUE_STORAGE") or None,
        help="find the leading broker from the queue's state on this storage, "
        "e.g. file://./.osqueue or s3://bucket/prefix (env OSQUEUE_STORAGE)",
    )
    group.add_argument(
        "--auth-token",
        metavar="TOKEN",
        # None lets the client read $OSQUEUE_AUTH_TOKEN, and keeps the token out of --help.
        default=None,
        help="bearer token the broker requires (env OSQUEUE_AUTH_TOKEN)",
    )
    group.add_argument(
        "--queue",
        default=os.environ.get("OSQUEUE_QUEUE") or "default",
        help="queue name (env OSQUEUE_QUEUE)",
    )
    group.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=os.environ.get("OSQUEUE_TRANSPORT") or "connect",
        help="protocol to talk to the broker (env OSQUEUE_TRANSPORT)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="how long to keep trying to reach a broker (through a failover) before giving up",
    )


def broker_url(args: argparse.Namespace) -> str | None:
    """--broker, else $BROKER_URL, else the default; None when only --storage locates the broker."""
    if args.broker:
        return cast(str, args.broker)
    if args.storage:
        return None
    return os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL


def client_from_args(args: argparse.Namespace) -> OsqueueClient:
    from osqueue_client import OsqueueClient

    return OsqueueClient(
        broker_url(args),
        storage=args.storage,
        transport=cast("TransportName", args.transport),
        auth_token=args.auth_token,
        queue=args.queue,
        failover_deadline=args.timeout,
    )
