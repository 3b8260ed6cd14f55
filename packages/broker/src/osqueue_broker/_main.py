"""`python -m osqueue_broker`: a broker configured from the environment (see BrokerConfig.from_env
and osqueue_storage.storage_from_env), running until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from osqueue_storage import storage_from_env
from osqueue_types import OsqueueError

from ._config import BrokerConfig
from ._server import BrokerServer


def run_from_env(env: Mapping[str, str] | None = None) -> int:
    """Run a broker until a signal; 0 after a graceful stop, 2 for a bad configuration."""
    env = os.environ if env is None else env
    try:
        config = BrokerConfig.from_env(env)
        storage = storage_from_env(env)
    except OsqueueError as exc:
        print(f"osqueue broker: {exc.message}", file=sys.stderr)
        return 2

    async def run() -> None:
        try:
            await BrokerServer.from_config(storage, config).serve()
        finally:
            await storage.aclose()

    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop is optional (not on Windows)
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            runner.run(run())
        except OsqueueError as exc:
            logging.getLogger("osqueue.broker").error("broker failed: %s", exc.message)
            return 1
        except OSError as exc:
            logging.getLogger("osqueue.broker").error(
                "cannot listen on %s:%s: %s", config.host, config.port, exc.strerror or exc
            )
            return 1
    return 0


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sys.exit(run_from_env())
