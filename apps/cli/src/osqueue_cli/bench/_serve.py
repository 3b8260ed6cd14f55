"""Serving an ASGI app as a benchmark target in its own process."""

from __future__ import annotations

import json
import os
import socket
import sys

import uvicorn
from starlette.types import ASGIApp


def bind_free_port(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    # Listening before the address is announced: early connections wait in the backlog.
    sock.listen(2048)
    return sock


def announce(url: str, **extra: object) -> None:
    """The first stdout line tells the parent where to send load (see `_targets.py`)."""
    sys.stdout.write(json.dumps({"url": url, "pid": os.getpid(), **extra}) + "\n")
    sys.stdout.flush()


def serve_forever(app: ASGIApp) -> None:
    """Serve `app` with uvicorn's defaults (uvloop and httptools when installed), no access log."""
    sock = bind_free_port()
    host, port = sock.getsockname()
    announce(f"http://{host}:{port}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
