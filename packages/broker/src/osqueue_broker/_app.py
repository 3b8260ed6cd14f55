"""The Starlette application: REST routes, the WebSocket endpoint and the mounted Connect app."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET
from osqueue_types import InvalidRequestError, OsqueueError, StorageBackend
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp

from ._auth import TokenAuth
from ._connect import BoundedGzip, ConnectEdge, ConnectQueueService, QueueConnectApp
from ._hot import HotPaths
from ._http import error_response, json_response
from ._metrics import BrokerMetrics
from ._openapi import build_openapi
from ._operations import QueueOperations
from ._rest import RestApi
from ._wire import HealthReply
from ._ws import WebSocketRpc


def build_app(
    ops: QueueOperations,
    auth: TokenAuth,
    metrics: BrokerMetrics,
    *,
    storage: StorageBackend,
    max_payload_bytes: int,
    max_request_bytes: int,
    cors_origins: tuple[str, ...] = (),
) -> tuple[Starlette, ASGIApp]:
    """The Starlette app, and the stack to serve: the app behind the hot-path shortcut (and,
    with `cors_origins`, both behind CORS, so hot routes answer browsers too)."""
    rest = RestApi(
        ops, auth, storage=storage, max_payload_bytes=max_payload_bytes, max_request_bytes=max_request_bytes
    )
    ws = WebSocketRpc(ops, auth, max_payload_bytes=max_payload_bytes)
    connect_app = QueueConnectApp(
        ConnectQueueService(ops, auth, max_payload_bytes=max_payload_bytes),
        read_max_bytes=max_request_bytes,
        compressions=[BoundedGzip(max_request_bytes)],
    )
    connect_edge = ConnectEdge(connect_app, max_request_bytes=max_request_bytes)
    openapi = msgspec.json.encode(build_openapi(ops.queue))

    async def healthz(request: Request) -> Response:
        leader = ops.is_leader
        return json_response(
            HealthReply(
                status="ok",
                leader=leader,
                broker_address=ops.address,
                broker_heartbeat=ops.broker_heartbeat() if leader else UNSET,
            )
        )

    async def metrics_text(request: Request) -> Response:
        if auth.enabled:
            auth.check_header(request.headers.get("authorization"))
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def openapi_json(request: Request) -> Response:
        if auth.enabled:
            auth.check_header(request.headers.get("authorization"))
        return Response(openapi, media_type="application/json")

    async def osqueue_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OsqueueError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = f"no route {request.method} {request.url.path}"
        response = error_response(InvalidRequestError(message), exc.status_code)
        response.headers.update(exc.headers or {})
        return response

    handlers: dict[Any, Any] = {OsqueueError: osqueue_error, HTTPException: http_error}
    app = Starlette(
        routes=[
            *rest.routes(),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
            WebSocketRoute("/v1/ws", ws.endpoint),
            Mount(connect_app.path, app=connect_edge),
        ],
        exception_handlers=handlers,
    )
    served: ASGIApp = HotPaths(app, rest, connect=connect_edge, connect_path=connect_app.path)
    if cors_origins:
        served = CORSMiddleware(
            served,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],  # Authorization, Content-Type and Connect's own headers
            max_age=600,
        )
    return app, served
