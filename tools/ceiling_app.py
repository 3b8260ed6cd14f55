"""Ceiling yardstick for broker benchmarks: the queue's REST endpoints over a Python dict.

`POST /v1/jobs`, `POST /v1/jobs/claim`, `POST /v1/jobs/{id}/complete` and `GET /v1/stats`
under Starlette/uvicorn with no storage, no batching and no durability: the most this web stack
can do on a given machine. A broker's throughput is reported as a fraction of this ceiling,
measured in the same run (`osqueue bench --ceiling` runs the same app, packaged as
`osqueue_cli.bench._ceiling_app`). This file stands alone so it can be run by hand:

    uvicorn ceiling_app:app --app-dir tools --port 8191 --no-access-log
    osqueue bench --broker http://127.0.0.1:8191 --broker-pid <its pid> --scenario pipeline,submit,drain

Needs only starlette, msgspec and uvicorn.
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

jobs: dict[str, Any] = {}
unclaimed: OrderedDict[str, None] = OrderedDict()
completed = 0
enc = msgspec.json.encode
dec = msgspec.json.decode


async def submit(req: Request) -> Response:
    b = dec(await req.body())
    jid = str(uuid.uuid4())
    jobs[jid] = b
    unclaimed[jid] = None
    return Response(enc({"jobId": jid}), media_type="application/json")


async def claim(req: Request) -> Response:
    dec(await req.body())
    if not unclaimed:
        return Response(b"{}", media_type="application/json")
    jid, _ = unclaimed.popitem(last=False)
    return Response(
        enc({"jobId": jid, "payload": jobs[jid]["payload"], "type": "bench"}), media_type="application/json"
    )


async def complete(req: Request) -> Response:
    global completed
    jobs.pop(req.path_params["id"], None)
    completed += 1
    return Response(status_code=204)


async def stats(req: Request) -> Response:
    return Response(
        enc({"total": len(jobs), "unclaimed": len(unclaimed), "completedTotal": completed}),
        media_type="application/json",
    )


app = Starlette(
    routes=[
        Route("/v1/jobs", submit, methods=["POST"]),
        Route("/v1/jobs/claim", claim, methods=["POST"]),
        Route("/v1/jobs/{id}/complete", complete, methods=["POST"]),
        Route("/v1/stats", stats),
    ]
)
