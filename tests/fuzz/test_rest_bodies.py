"""REST: any body posted to any POST route gets a typed answer and a rejection changes nothing.

Every answer is one of 200/204/400/401/404/405/413/503; every error is `{"_tag", "message"}` with a
known tag; after a rejected request the durable queue content is byte for byte what it was;
the read routes still answer (an accepted request cannot poison later reads); nothing is
logged at ERROR level (no handler crashed).
"""

from __future__ import annotations

import functools
import logging
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import event, given
from hypothesis import strategies as st
from osqueue_types import ERROR_CLASSES

from ._strategies import bodies, choices, edge_texts, json_values, nearly
from .conftest import SEED_WORKER, Seed, assert_no_errors_logged, broker_fuzz_settings, queue_content

# 405: a job id such as "." or ".." is resolved away in the URL, leaving /v1/jobs/<action>,
# which is GET /v1/jobs/{id}: a known path with the wrong method.
ALLOWED_STATUSES = {200, 204, 400, 401, 404, 405, 413, 503}
FUZZ = broker_fuzz_settings(max_examples=300)


@functools.cache
def rest_requests(seed: Seed) -> st.SearchStrategy[tuple[str, bytes]]:
    """(path with optional ?queue=, body) for every POST route."""
    job_ids = choices(seed.job_ids) | st.text(min_size=1, max_size=40)
    workers = st.sampled_from([SEED_WORKER, "seed-reaper", "w1"]) | edge_texts
    queues = st.sampled_from(["default", "default", "default", "other"])
    # Valid values; `nearly` mixes in values of any type and at the edges of every range.
    small = st.integers(1, 10)
    submit = nearly(
        {
            "payload": json_values,
            "type": choices(["seed", "other"]),
            "maxAttempts": small,
            "delayMs": small,
            "priority": small,
            "idempotencyKey": st.just("seed-key") | edge_texts,
            "queue": queues,
        },
        required=["payload"],
    )
    routes = {
        "/v1/jobs": submit,
        "/v1/jobs/batch": nearly({"jobs": st.lists(submit, max_size=3), "queue": queues}, required=["jobs"]),
        "/v1/jobs/claim": nearly(
            {
                "workerId": workers,
                "types": st.lists(choices(["seed", "other"]), max_size=3),
                "waitMs": small,
                "limit": small,
                "queue": queues,
            },
            required=["workerId"],
        ),
        "/v1/jobs/complete": nearly(
            {"workerId": workers, "jobIds": st.lists(job_ids, min_size=1, max_size=3), "queue": queues},
            required=["workerId", "jobIds"],
        ),
        "heartbeat": nearly({"workerId": workers, "queue": queues}, required=["workerId"]),
        "complete": nearly({"workerId": workers, "queue": queues}, required=["workerId"]),
        "fail": nearly(
            {
                "workerId": workers,
                "error": st.text(max_size=20),
                "retryDelayMs": small,
                "deadLetter": st.booleans(),
                "release": st.booleans(),
                "queue": queues,
            },
            required=["workerId"],
        ),
        "/v1/dead-letters/requeue": nearly({"jobIds": st.lists(job_ids, max_size=3), "all": st.booleans()}),
        "/v1/dead-letters/delete": nearly({"jobIds": st.lists(job_ids, max_size=3), "all": st.booleans()}),
    }

    def route(name: str) -> st.SearchStrategy[tuple[str, bytes]]:
        paths = (
            st.just(name)
            if name.startswith("/")
            else job_ids.map(lambda i: f"/v1/jobs/{quote(i, safe='')}/{name}")
        )
        query = st.sampled_from(["", "", "", "?queue=default", "?queue=other", "?queue=", "?queue=%FF"])
        return st.tuples(st.builds(str.__add__, paths, query), bodies(routes[name]))

    return st.one_of(*(route(name) for name in routes))


def assert_typed_error(body: Any) -> None:
    assert isinstance(body, dict), body
    assert body.get("_tag") in ERROR_CLASSES, body
    assert isinstance(body.get("message"), str), body


async def assert_reads_answer(http: httpx.AsyncClient) -> None:
    for path in ("/v1/stats", "/v1/jobs", "/v1/dead-letters", "/state"):
        response = await http.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
        response.json()


@FUZZ
@given(data=st.data())
async def test_any_post_body_gets_a_typed_answer_and_rejections_change_nothing(
    http: httpx.AsyncClient, seed: Seed, error_log: list[logging.LogRecord], data: st.DataObject
) -> None:
    path, body = data.draw(rest_requests(seed), label="request")
    before = await queue_content(http)
    response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code in ALLOWED_STATUSES, (
        f"POST {path}: {response.status_code} {response.text[:300]}"
    )
    event(f"{response.status_code} {response.json().get('_tag', '') if response.content else ''}")
    if response.status_code >= 400:
        assert_typed_error(response.json())
        assert await queue_content(http) == before, f"POST {path} was refused but changed the queue"
    elif response.status_code == 200:
        assert isinstance(response.json(), dict)
    else:
        assert response.content == b""
    await assert_reads_answer(http)
    assert_no_errors_logged(error_log)
