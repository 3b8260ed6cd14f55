"""`osqueue dashboard`: serve the web dashboard for a running broker."""

from __future__ import annotations

import argparse
import os
from typing import cast

from .._client_options import DEFAULT_BROKER_URL, TRANSPORTS
from .._registry import Command

DEFAULT_DASHBOARD_PORT = 3001


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        default=os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL,
        help=f"broker URL (env BROKER_URL; default {DEFAULT_BROKER_URL})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_DASHBOARD_PORT, help=f"port (default {DEFAULT_DASHBOARD_PORT})"
    )
    parser.add_argument(
        "--auth-token",
        metavar="TOKEN",
        default=os.environ.get("OSQUEUE_AUTH_TOKEN") or None,
        help="bearer token the broker requires; kept server-side (env OSQUEUE_AUTH_TOKEN)",
    )
    parser.add_argument(
        "--dashboard-token",
        metavar="TOKEN",
        default=os.environ.get("OSQUEUE_DASHBOARD_TOKEN") or None,
        help="token visitors must enter to see the dashboard (env OSQUEUE_DASHBOARD_TOKEN)",
    )
    parser.add_argument("--queue", default="default", help="queue name (default 'default')")
    parser.add_argument("--transport", choices=TRANSPORTS, default="rest", help="client transport")


def _run(args: argparse.Namespace) -> int:
    from osqueue_client import TransportName
    from osqueue_dashboard import serve

    print(f"osqueue dashboard for {args.broker} at http://{args.host}:{args.port}/", flush=True)
    serve(
        args.broker,
        host=args.host,
        port=args.port,
        auth_token=args.auth_token,
        dashboard_token=args.dashboard_token,
        transport=cast(TransportName, args.transport),
        queue=args.queue,
        log_level="warning",
    )
    return 0


COMMAND = Command(
    name="dashboard",
    help="serve the web dashboard for a broker",
    configure=_configure,
    run=_run,
    order=60,
)
