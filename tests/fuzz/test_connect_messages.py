"""Connect: any body to any RPC, as binary protobuf or JSON, gets a Connect answer, never
`unknown` or `internal`, and a refused request changes nothing.

Bodies: messages of the RPC's own type with field values across each type's whole range
(serialised as protobuf or as Connect JSON, sometimes gzipped), random bytes, random JSON, and
corrupted encodings. A 200 carries a message of the RPC's output type; an error carries one of
the codes osqueue's typed errors map to. After each request the read RPCs still answer (an
accepted request cannot leave a job that breaks them) and nothing is logged at ERROR level.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
from typing import Any

import httpx
import osqueue_proto as pb
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import event, given
from hypothesis import strategies as st

from ._strategies import choices, corrupted, encode_json, json_values
from .conftest import SEED_WORKER, Seed, assert_no_errors_logged, broker_fuzz_settings, queue_content

FUZZ = broker_fuzz_settings(max_examples=400)
SERVICE = pb.SubmitJobRequest.DESCRIPTOR.file.services_by_name["QueueService"]
PREFIX = f"/{SERVICE.full_name}"
PROTO = "application/proto"
JSON = "application/json"
# The codes osqueue's typed errors map to (see docs/protocol.md); never unknown or internal.
TYPED_CODES = {
    "invalid_argument",
    "unauthenticated",
    "permission_denied",
    "not_found",
    "aborted",
    "resource_exhausted",
    "unavailable",
}
# Fields without which a request can only be refused (their strategies still produce bad values).
REQUIRED_FIELDS = {"payload", "job_id", "worker_id"}


def message_class(name: str) -> type[Message]:
    """The generated class of a message of osqueue.v1, by its name."""
    cls: type[Message] = getattr(pb, name)
    return cls


def input_class(method: str) -> type[Message]:
    return message_class(SERVICE.methods_by_name[method].input_type.name)


def output_class(method: str) -> type[Message]:
    return message_class(SERVICE.methods_by_name[method].output_type.name)


def int_range(bits: int) -> st.SearchStrategy[int]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return st.integers(0, 10) | st.sampled_from([low, -1, high, high - 1]) | st.integers(low, high)


def field_strategy(field: Any, seed: Seed, depth: int) -> st.SearchStrategy[Any]:
    """Values for one field; `field` is a FieldDescriptor (pure-Python or upb, hence Any)."""
    strings = {
        "job_id": choices(seed.job_ids) | st.text(max_size=10),
        "job_ids": choices(seed.job_ids) | st.text(max_size=10),
        "worker_id": st.sampled_from(["", SEED_WORKER, "w1"]) | st.text(max_size=10),
        "queue": st.sampled_from(["", "default", "default", "other"]),
        "status": st.sampled_from(["", "unclaimed", "in_progress", "dead_letter", "x"]),
        "type": st.sampled_from(["", "seed", "other"]),
        "types": st.sampled_from(["", "seed", "other"]),
    }
    value: st.SearchStrategy[Any]
    if field.type == FieldDescriptor.TYPE_INT32:
        value = int_range(32)
    elif field.type == FieldDescriptor.TYPE_INT64:
        value = int_range(64)
    elif field.type == FieldDescriptor.TYPE_BOOL:
        value = st.booleans()
    elif field.type == FieldDescriptor.TYPE_BYTES:
        payloads = json_values.map(encode_json)
        value = st.one_of(payloads, payloads, payloads, st.binary(max_size=30))
    elif field.type == FieldDescriptor.TYPE_STRING:
        value = strings.get(field.name, st.text(max_size=20))
    elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < 2:
        value = messages(message_class(field.message_type.name), seed, depth + 1)
    else:
        return st.nothing()
    return st.lists(value, max_size=3) if field.is_repeated else value


def messages(cls: type[Message], seed: Seed, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages with the fields a request needs and any subset of the others."""
    fields = {field.name: field_strategy(field, seed, depth) for field in cls.DESCRIPTOR.fields}
    needed = {name: fields.pop(name) for name in REQUIRED_FIELDS & set(fields)}
    return st.fixed_dictionaries(needed, optional=fields).map(lambda values: cls(**values))


@functools.cache
def connect_requests(seed: Seed) -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes]]:
    """(method, content type, extra headers, body)."""

    def for_method(name: str) -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes]]:
        typed = messages(input_class(name), seed)
        as_proto = typed.map(lambda m: m.SerializeToString())
        as_json = typed.map(lambda m: json_format.MessageToJson(m).encode())
        plain: dict[str, str] = {}
        gzipped = {"content-encoding": "gzip"}

        def shaped(
            content_type: str, headers: dict[str, str], bodies: st.SearchStrategy[bytes]
        ) -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes]]:
            return st.tuples(st.just(name), st.just(content_type), st.just(headers), bodies)

        # Messages of the right type weigh most: they get past decoding to the checks behind it.
        return st.one_of(
            shaped(PROTO, plain, as_proto),
            shaped(PROTO, plain, as_proto),
            shaped(PROTO, plain, as_proto),
            shaped(JSON, plain, as_json),
            shaped(PROTO, gzipped, as_proto.map(gzip.compress)),
            shaped(PROTO, plain, st.binary(max_size=60)),
            shaped(JSON, plain, json_values.map(encode_json)),
            shaped(PROTO, plain, corrupted(as_proto)),
            shaped(JSON, plain, corrupted(as_json)),
            shaped(PROTO, gzipped, st.binary(max_size=60)),
        )

    return st.one_of(*(for_method(method.name) for method in SERVICE.methods))


async def post(
    http: httpx.AsyncClient,
    method: str,
    content_type: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        f"{PREFIX}/{method}",
        content=body,
        headers={"content-type": content_type, "connect-protocol-version": "1", **(headers or {})},
    )


async def assert_reads_answer(http: httpx.AsyncClient) -> None:
    for method in ("GetStats", "ListJobs", "ListDeadLetters"):
        response = await post(http, method, PROTO, b"")
        assert response.status_code == 200, f"{method}: {response.status_code} {response.text[:300]}"
        output_class(method).FromString(response.content)


@FUZZ
@given(data=st.data())
async def test_any_body_to_any_rpc_gets_a_typed_connect_answer(
    http: httpx.AsyncClient, seed: Seed, error_log: list[logging.LogRecord], data: st.DataObject
) -> None:
    method, content_type, headers, body = data.draw(connect_requests(seed), label="request")
    before = await queue_content(http)
    response = await post(http, method, content_type, body, headers)
    if response.status_code == 200:
        event(f"{method} ok")
        if content_type == PROTO:
            output_class(method).FromString(response.content)
        else:
            assert isinstance(response.json(), dict)
    else:
        error = json.loads(response.content)
        assert isinstance(error, dict) and error.get("code") in TYPED_CODES, (response.status_code, error)
        event(error["code"])
        assert await queue_content(http) == before, f"{method} was refused but changed the queue"
    await assert_reads_answer(http)
    assert_no_errors_logged(error_log)


async def assert_refused_or_readable(http: httpx.AsyncClient, method: str, request: Message) -> None:
    response = await post(http, method, PROTO, request.SerializeToString())
    if response.status_code != 200:
        assert response.json()["code"] == "invalid_argument", response.text
    await assert_reads_answer(http)


async def test_a_far_future_delay_is_refused_or_readable(http: httpx.AsyncClient) -> None:
    """A delay is only useful if the job can still be listed: runAt = now + delay must fit the
    int64 `run_at` of JobInfo, for a submitted job and for a failed one given back."""
    await assert_refused_or_readable(http, "SubmitJob", pb.SubmitJobRequest(payload=b"1", delay_ms=2**63 - 1))

    submitted = await post(
        http, "SubmitJob", PROTO, pb.SubmitJobRequest(payload=b"2", type="t").SerializeToString()
    )
    job_id = pb.SubmitJobResponse.FromString(submitted.content).job_id
    claimed = await post(
        http, "ClaimJob", PROTO, pb.ClaimJobRequest(worker_id="w", types=["t"]).SerializeToString()
    )
    assert pb.ClaimJobResponse.FromString(claimed.content).job_id == job_id
    await assert_refused_or_readable(
        http, "FailJob", pb.FailJobRequest(job_id=job_id, worker_id="w", retry_delay_ms=2**63 - 1)
    )
