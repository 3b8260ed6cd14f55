"""The ceiling yardstick: submit/claim/complete/stats over a Python dict under Starlette/uvicorn.

No storage, no batching, no durability: the most this web stack can do on this machine, so a
broker's figure is reported as a fraction of it, measured in the same run. `tools/ceiling_app.py`
serves this app for running it by hand under uvicorn.

Run on its own with `python -m osqueue_cli.bench._ceiling_app`: it serves on a free port of
127.0.0.1 and prints `{"url": ..., "pid": ...}` on its first line.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._serve import serve_forever

_jobs: dict[str, Any] = {}
_unclaimed: OrderedDict[str, None] = OrderedDict()
_completed = 0
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _json(value: object) -> Response:
    return Response(_encode(value), media_type="application/json")


async def _submit(request: Request) -> Response:
    body = _decode(await request.body())
    job_id = str(uuid.uuid4())
    _jobs[job_id] = body
    _unclaimed[job_id] = None
    return _json({"jobId": job_id})


async def _claim(request: Request) -> Response:
    _decode(await request.body())
    if not _unclaimed:
        return Response(b"{}", media_type="application/json")
    job_id, _ = _unclaimed.popitem(last=False)
    return _json({"jobId": job_id, "payload": _jobs[job_id]["payload"], "type": "bench"})


async def _complete(request: Request) -> Response:
    global _completed
    _jobs.pop(request.path_params["id"], None)
    _completed += 1
    return Response(status_code=204)


async def _stats(request: Request) -> Response:
    return _json({"total": len(_jobs), "unclaimed": len(_unclaimed), "completedTotal": _completed})


app = Starlette(
    routes=[
        Route("/v1/jobs", _submit, methods=["POST"]),
        Route("/v1/jobs/claim", _claim, methods=["POST"]),
        Route("/v1/jobs/{id}/complete", _complete, methods=["POST"]),
        Route("/v1/stats", _stats),
    ]
)

if __name__ == "__main__":
    serve_forever(app)
