"""`osqueue broker`: run a broker until SIGINT/SIGTERM.

With no options it listens on 127.0.0.1:8080 and keeps the queue in ./.osqueue/ (jobs survive
a restart). A second broker on the same storage stands by and takes over when the leader
stops. Flags override the environment variables named in each option's help.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._broker_settings import broker_config, broker_storage, describe_location
from .._registry import Command, CommandError

if TYPE_CHECKING:
    from osqueue_broker import BrokerConfig, BrokerServer
    from osqueue_types import StorageBackend

# How often a running broker checks whether it gained or lost leadership, to say so.
_LEADERSHIP_POLL_S = 0.5


def _configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", help="interface to listen on (env BROKER_HOST; default 127.0.0.1)")
    add("--port", type=int, help="port to listen on, 0 for any free one (env BROKER_PORT; default 8080)")
    add(
        "--storage",
        metavar="URL",
        help="where queue.json lives: memory://, file://DIR, s3://BUCKET/PREFIX?endpoint=URL, "
        "gcs://BUCKET/PREFIX (env OSQUEUE_STORAGE or STORAGE_URL, or STORAGE_BACKEND with "
        "S3_BUCKET/S3_PREFIX/S3_REGION/S3_ENDPOINT, GCS_BUCKET/GCS_PREFIX, FILE_STORAGE_DIR; "
        "default file://./.osqueue)",
    )
    add("--queue", help="queue this broker serves (env OSQUEUE_QUEUE; default 'default')")
    add("--auth-token", metavar="TOKEN", help="require this bearer token (env OSQUEUE_AUTH_TOKEN)")
    add(
        "--group-commit-interval-ms",
        type=int,
        metavar="MS",
        help="minimum time between storage writes; trades latency for fewer writes "
        "(env GROUP_COMMIT_INTERVAL_MS; default 0)",
    )
    add(
        "--heartbeat-interval-ms",
        type=int,
        metavar="MS",
        help="how often the leader refreshes its lease (env BROKER_HEARTBEAT_INTERVAL_MS; default 3000)",
    )
    add(
        "--heartbeat-timeout-ms",
        type=int,
        metavar="MS",
        help="a leader silent this long is replaced; must exceed twice the interval "
        "(env BROKER_HEARTBEAT_TIMEOUT_MS; default 10000)",
    )
    add(
        "--job-heartbeat-timeout-ms",
        type=int,
        metavar="MS",
        help="a job whose worker is silent this long is handed out again "
        "(env JOB_HEARTBEAT_TIMEOUT_MS; default 30000)",
    )
    add(
        "--max-batch-size",
        type=int,
        help="most mutations per storage write (env MAX_BATCH_SIZE; default none)",
    )
    add(
        "--advertise-address",
        metavar="HOST:PORT",
        help="address written to the state for clients to find this broker (env BROKER_URL; "
        "default the bound address, or the host name for 0.0.0.0)",
    )
    add(
        "--idempotency-retention-ms",
        type=int,
        metavar="MS",
        help="how long a repeated idempotency key returns the first job's id; each key is kept "
        "in queue.json that long (env IDEMPOTENCY_RETENTION_MS; default 300000, 5 minutes)",
    )
    add(
        "--cors-origins",
        metavar="ORIGINS",
        help="comma-separated browser origins (https://host[:port], or * for any) allowed to call "
        "the broker (env OSQUEUE_CORS_ORIGINS; default none: no CORS headers)",
    )
    add(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="logging threshold",
    )


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = broker_config(args)
    storage = broker_storage(args)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(storage, config))
    return 0


async def _serve(storage: StorageBackend, config: BrokerConfig) -> None:
    from osqueue_broker import BrokerServer
    from osqueue_types import StorageBackendError, queue_state_key

    key = queue_state_key(config.queue)
    location = describe_location(storage, key)
    try:
        # Fail now, with the reason, rather than stand by forever on storage that cannot be read.
        await storage.read(key)
    except StorageBackendError as exc:
        await storage.aclose()
        raise CommandError(f"cannot read {location}: {exc.message}") from None
    server = BrokerServer.from_config(storage, config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        try:
            await server.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            ) from None
        _say(_status_line(server, location, first=True))
        await _watch_leadership(server, location, stopping)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.stop()
        await storage.aclose()


async def _watch_leadership(server: BrokerServer, location: str, stopping: asyncio.Event) -> None:
    leading = server.is_leader
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=_LEADERSHIP_POLL_S)
        except TimeoutError:
            pass
        if server.is_leader != leading and not stopping.is_set():
            leading = server.is_leader
            _say(_status_line(server, location, first=False))


def _status_line(server: BrokerServer, location: str, *, first: bool) -> str:
    queue = server.config.queue
    if server.is_leader:
        role = "leading" if first else "now leading"
        return f"osqueue broker {role} queue '{queue}' at {server.url}; state in {location}"
    leader = server.ops.leader
    role = "standby" if first else "lost leadership; standby"
    if leader == server.advertised_address:
        holder = "the previous broker at this address still holds the lease"
    else:
        holder = f"leader: {leader or 'unknown'}"
    return (
        f"osqueue broker {role} for queue '{queue}' at {server.url} ({holder}); "
        f"state in {location}; takes over if the leader stops"
    )


def _say(line: str) -> None:
    print(line, flush=True)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # optional, and not on Windows
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


COMMAND = Command(
    name="broker",
    help="run a broker (default: 127.0.0.1:8080, state in ./.osqueue/)",
    description=__doc__,
    configure=_configure,
    run=_run,
    order=10,
)
