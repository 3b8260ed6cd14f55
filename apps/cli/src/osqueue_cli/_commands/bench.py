"""`osqueue bench`: the command lives in its own subpackage, `osqueue_cli.bench`."""

from __future__ import annotations

from ..bench import COMMAND

__all__ = ["COMMAND"]
