"""osqueue-dashboard: a web dashboard for an osqueue broker, talking to it through osqueue-client."""

from __future__ import annotations

from ._app import create_app
from ._serve import DEFAULT_HOST, DEFAULT_PORT, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve"]
