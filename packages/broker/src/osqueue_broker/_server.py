"""BrokerServer: election, group-commit engine and the HTTP server, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator, Sequence
from types import TracebackType

import uvicorn
from osqueue_core import BrokerElection, GroupCommitEngine
from osqueue_types import (
    DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
    DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_HEARTBEAT_TIMEOUT_MS,
    DEFAULT_IDEMPOTENCY_RETENTION_MS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_QUEUE,
    EngineStateError,
    StorageBackend,
    queue_state_key,
)
from starlette.applications import Starlette

from ._app import build_app
from ._auth import TokenAuth
from ._config import DEFAULT_HOST, DEFAULT_MAX_WAIT_MS, DEFAULT_PORT, BrokerConfig
from ._lease import release_lease
from ._metrics import BrokerMetrics
from ._operations import QueueOperations

logger = logging.getLogger("osqueue.broker")

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
# How long in-flight requests get to finish once the engine has made its last commit.
_GRACEFUL_SHUTDOWN_S = 5


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the broker decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BrokerServer:
    """One broker for one queue: REST, WebSocket and Connect on one port.

    `start()` binds the port (0 picks a free one), campaigns for leadership (standing by and
    retrying on its own if another broker leads) and serves. `stop()` refuses new requests,
    lets the engine commit what it already accepted, hands the lease back (a standby takes
    over at its next look), then closes the server. `serve()` does both around SIGTERM/SIGINT.
    With `cors_origins` ("*" for any), browsers on those origins may call REST and Connect.
    """

    def __init__(
        self,
        storage: StorageBackend,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        queue: str = DEFAULT_QUEUE,
        heartbeat_interval_ms: int = DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
        heartbeat_timeout_ms: int = DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS,
        group_commit_interval_ms: int = 0,
        max_batch_size: int | None = None,
        job_heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
        auth_token: str | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_wait_ms: int = DEFAULT_MAX_WAIT_MS,
        advertise_address: str | None = None,
        idempotency_retention_ms: int = DEFAULT_IDEMPOTENCY_RETENTION_MS,
        cors_origins: Sequence[str] = (),
    ) -> None:
        config = BrokerConfig(
            host=host,
            port=port,
            queue=queue,
            heartbeat_interval_ms=heartbeat_interval_ms,
            heartbeat_timeout_ms=heartbeat_timeout_ms,
            group_commit_interval_ms=group_commit_interval_ms,
            max_batch_size=max_batch_size,
            job_heartbeat_timeout_ms=job_heartbeat_timeout_ms,
            auth_token=auth_token,
            max_payload_bytes=max_payload_bytes,
            max_request_bytes=max_request_bytes,
            max_wait_ms=max_wait_ms,
            advertise_address=advertise_address,
            idempotency_retention_ms=idempotency_retention_ms,
            cors_origins=tuple(cors_origins),
        )
        config.validate()
        queue_state_key(queue)  # refuses an invalid queue name now rather than at start
        self.config = config
        self.storage = storage
        self.metrics = BrokerMetrics()
        self.ops = QueueOperations(queue=queue, max_wait_ms=max_wait_ms, metrics=self.metrics)
        self.app: Starlette
        self.app, self._served = build_app(
            self.ops,
            TokenAuth(auth_token),
            self.metrics,
            storage=storage,
            max_payload_bytes=max_payload_bytes,
            max_request_bytes=max_request_bytes,
            cors_origins=config.cors_origins,
        )
        self.election: BrokerElection | None = None
        self._address: str | None = None
        self._server: _EmbeddedServer | None = None
        self._serving: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, storage: StorageBackend, config: BrokerConfig) -> BrokerServer:
        return cls(
            storage,
            config.host,
            config.port,
            queue=config.queue,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            heartbeat_timeout_ms=config.heartbeat_timeout_ms,
            group_commit_interval_ms=config.group_commit_interval_ms,
            max_batch_size=config.max_batch_size,
            job_heartbeat_timeout_ms=config.job_heartbeat_timeout_ms,
            auth_token=config.auth_token,
            max_payload_bytes=config.max_payload_bytes,
            max_request_bytes=config.max_request_bytes,
            max_wait_ms=config.max_wait_ms,
            advertise_address=config.advertise_address,
            idempotency_retention_ms=config.idempotency_retention_ms,
            cors_origins=config.cors_origins,
        )

    @property
    def address(self) -> str:
        """`host:port` actually bound (the real port when started with port 0)."""
        if self._address is None:
            raise EngineStateError("the broker is not started")
        return self._address

    @property
    def url(self) -> str:
        host, _, port = self.address.rpartition(":")
        if host in _WILDCARD_HOSTS:
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    @property
    def advertised_address(self) -> str:
        """The address written to queue.json and handed to clients as the leader's."""
        return self.ops.address

    @property
    def is_leader(self) -> bool:
        return self.ops.is_leader

    async def start(self) -> None:
        if self._serving is not None:
            raise EngineStateError("the broker was already started")
        config = self.config
        sock = _bind(config.host, config.port)
        try:
            host, port = sock.getsockname()[:2]
            self._address = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
            self.ops.address = config.advertise_address or _advertise(config.host, port, self._address)
            election = BrokerElection(
                self.storage,
                queue_state_key(config.queue),
                address=self.ops.address,
                heartbeat_interval_ms=config.heartbeat_interval_ms,
                heartbeat_timeout_ms=config.heartbeat_timeout_ms,
                engine_factory=self._engine,
                on_leader=self.ops.on_leader,
                on_standby=self.ops.on_standby,
            )
            self.ops.election = election
            await election.start()
            self.election = election
        except BaseException:
            sock.close()
            raise
        server = self._server = _EmbeddedServer(
            uvicorn.Config(
                self._served,
                http="httptools",
                ws="websockets-sansio",
                ws_max_size=config.max_request_bytes,
                lifespan="off",
                access_log=False,
                log_config=None,
                proxy_headers=False,
                server_header=False,
                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
            )
        )
        self._serving = asyncio.create_task(server.serve(sockets=[sock]), name="osqueue-broker-http")
        while not server.started:
            if self._serving.done():
                await self._serving  # raises what stopped it
                raise EngineStateError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.005)
        logger.info(
            "osqueue broker on %s (queue %s, %s)",
            self._address,
            config.queue,
            "leader" if self.is_leader else f"standby, leader {self.ops.leader}",
        )

    async def stop(self) -> None:
        """Graceful: refuse new work, commit what was accepted, hand the lease back, answer, close."""
        self.ops.begin_shutdown()
        election, self.election = self.election, None
        if election is not None:
            engine = election.engine
            await election.stop()
            if engine is not None:
                await release_lease(engine)
        serving, self._serving = self._serving, None
        if serving is not None and self._server is not None:
            await asyncio.sleep(0.05)  # WebSocket handlers whose commit just landed send their answers
            self._server.should_exit = True
            await serving

    async def serve(self) -> None:
        """Start, run until SIGTERM or SIGINT, then stop gracefully."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await self.start()
            await stopping.wait()
            logger.info("signal received: shutting down")
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()

    async def __aenter__(self) -> BrokerServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _engine(self, broker_id: str) -> GroupCommitEngine:
        config = self.config
        return GroupCommitEngine(
            self.storage,
            queue_state_key(config.queue),
            broker_id=broker_id,
            group_commit_interval_ms=config.group_commit_interval_ms,
            max_batch_size=config.max_batch_size,
            heartbeat_timeout_ms=config.job_heartbeat_timeout_ms,
            idempotency_retention_ms=config.idempotency_retention_ms,
            on_commit=self.ops.on_commit,
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it a response written in two parts waits out the peer's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _advertise(host: str, port: int, bound: str) -> str:
    """A wildcard bind is advertised under the machine's host name."""
    if host in _WILDCARD_HOSTS:
        return f"{socket.gethostname()}:{port}"
    return bound
