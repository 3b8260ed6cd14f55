"""`osqueue bench`: throughput and latency of a broker under load from raw clients.

The load comes from minimal clients (a raw keep-alive HTTP/1.1 client for REST and Connect,
`websockets` for WebSocket), one connection per producer or worker task, so the figure is the
broker's and not a general-purpose client's. An embedded broker runs in a child process.
"""

from __future__ import annotations

from ._command import COMMAND

__all__ = ["COMMAND"]
