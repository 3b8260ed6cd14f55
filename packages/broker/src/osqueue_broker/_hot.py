"""A shortcut in front of the Starlette app for the requests workers and producers send most.

POST /v1/jobs, /v1/jobs/batch, /v1/jobs/claim, /v1/jobs/complete and
/v1/jobs/{id}/{heartbeat,complete,fail} go straight to their REST handlers, and every Connect
call straight to the Connect app (which answers its own errors); Starlette's middleware stack
and route scan are skipped. Everything else, and every answer's shape, is the app's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ._rest import RestApi

_JOBS_PREFIX = "/v1/jobs/"


class HotPaths:
    def __init__(self, app: ASGIApp, rest: RestApi, *, connect: ASGIApp, connect_path: str) -> None:
        self.app = app
        self._posts = rest.hot_posts
        self._job_posts = rest.hot_job_posts
        self._connect = connect
        self._connect_prefix = connect_path.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(self._connect_prefix):
                await self._connect(scope, receive, send)
                return
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self._posts.get(path)
            if handler is None and path.startswith(_JOBS_PREFIX):
                job_id, _, action = path[len(_JOBS_PREFIX) :].partition("/")
                handler = self._job_posts.get(action) if job_id else None
                if handler is not None:
                    scope["path_params"] = {"id": job_id}
            if handler is not None:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
