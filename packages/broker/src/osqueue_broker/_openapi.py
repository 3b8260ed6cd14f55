"""The OpenAPI 3.1 document of the REST API, generated from the request and response Structs."""

from __future__ import annotations

from typing import Any

import msgspec
from osqueue_types import DEFAULT_QUEUE

from . import _wire as w
from ._operations import LIST_STATUSES

_REF = "#/components/schemas/{name}"
_ERROR_STATUSES = {
    "400": "Bad input (InvalidRequestError, BrokerProtocolError)",
    "401": "Missing or wrong token (AuthError)",
    "413": "Body or payload too large (PayloadTooLargeError)",
    "503": "Not the leader (NotLeaderError, with `leader`), shutting down, or storage failing",
}


def _ref(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return {"$ref": _REF.format(name=struct.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    *,
    body: type[msgspec.Struct] | None = None,
    reply: type[msgspec.Struct] | dict[str, Any] | None = None,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    not_found: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if reply is None:
        responses[status] = {"description": "Done (empty body)"}
    else:
        schema = reply if isinstance(reply, dict) else _ref(reply)
        responses[status] = {"description": "OK", **_json(schema)}
    error = _json(_ref(w.ErrorReply))
    for code, text in _ERROR_STATUSES.items():
        responses[code] = {"description": text, **error}
    if not_found:
        responses["404"] = {"description": "No such job (JobNotFoundError)", **error}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(_ref(body))}
    if params:
        op["parameters"] = params
    return op


def _query(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}


_JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_PAGE_RANGE = {"type": "integer", "minimum": 0, "maximum": w.MAX_PAGE}
_PAGE = [_query("offset", _PAGE_RANGE, "Skip this many"), _query("limit", _PAGE_RANGE, "At most this many")]
_CLAIM_REPLY = {
    "anyOf": [
        {**_ref(w.ClaimedJobReply), "description": "Without `limit`: the claimed job"},
        {**_ref(w.NoJobReply), "description": "Without `limit`: no job"},
        {**_ref(w.ClaimJobsReply), "description": "With `limit`: the claimed jobs"},
    ]
}
_THROTTLE_REPLY = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "totalReads": {"type": "integer"},
        "throttledReads": {"type": "integer"},
        "totalWrites": {"type": "integer"},
        "throttledWrites": {"type": "integer"},
        "totalDelayMs": {"type": "number"},
    },
    "required": ["enabled"],
}


def _queue_schema(queue: str) -> dict[str, Any]:
    """A broker serves one queue: its name, or nothing (meaning the default)."""
    return {"enum": [queue, ""], "description": "The queue this broker serves"}


def build_openapi(queue: str = DEFAULT_QUEUE) -> dict[str, Any]:
    """The document for a broker serving `queue`."""
    queue_param = _query("queue", _queue_schema(queue), "Queue name (this broker's queue)")
    structs: list[type[msgspec.Struct]] = [
        w.SubmitJobBody,
        w.SubmitJobsBody,
        w.ClaimJobBody,
        w.WorkerBody,
        w.CompleteJobsBody,
        w.FailJobBody,
        w.DeadLettersBody,
        w.SubmitJobReply,
        w.SubmitJobsReply,
        w.ClaimedJobReply,
        w.ClaimJobsReply,
        w.NoJobReply,
        w.CompleteJobsReply,
        w.FailJobReply,
        w.StatsReply,
        w.JobReply,
        w.ListJobsReply,
        w.DeadLettersReply,
        w.CountReply,
        w.HealthReply,
        w.ErrorReply,
    ]
    _, components = msgspec.json.schema_components(structs, ref_template=_REF)
    # Either a non-empty jobIds or all: true (msgspec cannot say "one of these two fields").
    components["DeadLettersBody"]["oneOf"] = [
        {"required": ["jobIds"], "properties": {"jobIds": {"type": "array", "minItems": 1}}},
        {"required": ["all"], "properties": {"all": {"const": True}}},
    ]
    for schema in components.values():
        if "queue" in schema.get("properties", {}):
            schema["properties"]["queue"] = {
                "anyOf": [_queue_schema(queue), {"type": "null"}],
                "default": None,
            }
    paths: dict[str, Any] = {
        "/healthz": {"get": _op("Liveness and leadership (no auth)", reply=w.HealthReply)},
        "/state": {"get": _op("The raw queue.json of the last commit", reply={"type": "object"})},
        "/v1/jobs": {
            "post": _op("Submit a job", body=w.SubmitJobBody, reply=w.SubmitJobReply, params=[queue_param]),
            "get": _op(
                "List jobs with the queue counters",
                reply=w.ListJobsReply,
                params=[
                    _query(
                        "status",
                        {"enum": list(LIST_STATUSES)},
                        "Only jobs in this status; `unclaimed` includes the delayed ones, `delayed` "
                        "is the unclaimed jobs whose `runAt` is still ahead",
                    ),
                    _query("type", {"type": "string"}, "Only jobs of this type"),
                    *_PAGE,
                    queue_param,
                ],
            ),
        },
        "/v1/jobs/batch": {
            "post": _op(
                "Submit many jobs in one commit",
                body=w.SubmitJobsBody,
                reply=w.SubmitJobsReply,
                params=[queue_param],
            )
        },
        "/v1/jobs/claim": {
            "post": _op(
                "Claim a job (or up to `limit`), optionally waiting up to `waitMs`",
                body=w.ClaimJobBody,
                reply=_CLAIM_REPLY,
                params=[queue_param],
            )
        },
        "/v1/jobs/complete": {
            "post": _op(
                "Complete many jobs of one worker in one commit; ids it does not hold come back in "
                "`notFound`",
                body=w.CompleteJobsBody,
                reply=w.CompleteJobsReply,
                params=[queue_param],
            )
        },
        "/v1/jobs/{id}": {
            "get": _op("One job", reply=w.JobReply, params=[_JOB_ID, queue_param], not_found=True)
        },
        "/v1/jobs/{id}/heartbeat": {
            "post": _op(
                "Extend the lease",
                body=w.WorkerBody,
                status="204",
                params=[_JOB_ID, queue_param],
                not_found=True,
            )
        },
        "/v1/jobs/{id}/complete": {
            "post": _op(
                "Complete the job",
                body=w.WorkerBody,
                status="204",
                params=[_JOB_ID, queue_param],
                not_found=True,
            )
        },
        "/v1/jobs/{id}/fail": {
            "post": _op(
                "Give the job back as failed",
                body=w.FailJobBody,
                reply=w.FailJobReply,
                params=[_JOB_ID, queue_param],
                not_found=True,
            )
        },
        "/v1/stats": {"get": _op("Queue counters", reply=w.StatsReply, params=[queue_param])},
        "/v1/dead-letters": {
            "get": _op("Page through dead letters", reply=w.DeadLettersReply, params=[*_PAGE, queue_param])
        },
        "/v1/dead-letters/requeue": {
            "post": _op(
                "Requeue dead letters",
                body=w.DeadLettersBody,
                reply=w.CountReply,
                params=[queue_param],
                not_found=True,
            )
        },
        "/v1/dead-letters/delete": {
            "post": _op(
                "Delete dead letters",
                body=w.DeadLettersBody,
                reply=w.CountReply,
                params=[queue_param],
                not_found=True,
            )
        },
        "/v1/throttle-stats": {"get": _op("Storage throttle counters", reply=_THROTTLE_REPLY)},
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {}}}}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "osqueue broker", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
    }
