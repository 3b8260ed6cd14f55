"""Noticing that the client of a Connect call hung up, so a parked claim can be withdrawn.

connect-python hands a method its decoded request but not the ASGI `receive`. The edge in front
of the Connect app records, per request, the `receive` and whether the body has been read;
once it has, the next `receive()` only returns when the client disconnects (as on REST).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from starlette.types import Receive

_current: ContextVar[Hangup | None] = ContextVar("osqueue_connect_hangup", default=None)


class Hangup:
    __slots__ = ("body_read", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.body_read = False

    def watch(self) -> asyncio.Future[Any] | None:
        """A future done when the client hangs up (cancel it once answered); None while the
        body is still unread, when `receive` cannot tell yet."""
        return asyncio.ensure_future(self.receive()) if self.body_read else None


@contextmanager
def tracked(receive: Receive) -> Iterator[Hangup]:
    """Track the request served inside the block (methods run in the same task)."""
    hangup = Hangup(receive)
    token = _current.set(hangup)
    try:
        yield hangup
    finally:
        _current.reset(token)


def client_gone() -> asyncio.Future[Any] | None:
    """For the Connect call being served: a future done when its client hangs up."""
    hangup = _current.get()
    return hangup.watch() if hangup is not None else None
