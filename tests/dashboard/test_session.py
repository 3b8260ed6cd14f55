"""Signed session cookies, producer form validation and the queue.json head parser."""

from __future__ import annotations

from osqueue_dashboard._forms import JobForm, validate
from osqueue_dashboard._raw_state import parse_leader
from osqueue_dashboard._security import safe_next
from osqueue_dashboard._session import SessionSigner


def test_session_round_trip_and_tampering() -> None:
    signer = SessionSigner(b"k" * 32, max_age_s=60)
    value = signer.dumps({"auth": True, "csrf": "t"}, now=1000)
    assert signer.loads(value, now=1010) == {"auth": True, "csrf": "t"}
    body, mac = value.split(".")
    assert signer.loads(body + "." + mac[:-2] + "AA", now=1010) is None
    assert signer.loads(value.replace(body[:4], "eyJk"), now=1010) is None or body.startswith("eyJk")
    assert SessionSigner(b"x" * 32).loads(value, now=1010) is None
    assert signer.loads(value, now=1000 + 61) is None
    assert signer.loads("garbage", now=1010) is None


def test_safe_next_only_allows_local_paths() -> None:
    assert safe_next("/jobs?status=unclaimed") == "/jobs?status=unclaimed"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil.example", "jobs"):
        assert safe_next(bad) == "/"


def test_producer_form_validation() -> None:
    ok = validate(
        JobForm(type="email", payload='{"to": "a@b.c"}', max_attempts="5", delay="1.5", priority="-2")
    )
    assert ok.job is not None and not ok.errors
    assert (ok.job.type, ok.job.payload, ok.job.max_attempts, ok.job.delay, ok.job.priority) == (
        "email",
        {"to": "a@b.c"},
        5,
        1.5,
        -2,
    )
    assert validate(JobForm(payload="[1, 2]", max_attempts="", delay="", priority="")).job is not None
    bad = validate(JobForm(payload="{nope", max_attempts="0", delay="-1", priority="x"))
    assert bad.job is None
    assert set(bad.errors) == {"payload", "max_attempts", "delay", "priority"}
    assert validate(JobForm(payload="NaN")).errors.keys() == {"payload"}
    assert validate(JobForm(payload="  ")).errors.keys() == {"payload"}


def test_leader_from_the_head_of_queue_json() -> None:
    head = b'{"broker":"10.0.0.5:8080","brokerHeartbeat":1706000000000,"jobs":[{"id":"x"'
    leader = parse_leader(head)
    assert (leader.address, leader.heartbeat) == ("10.0.0.5:8080", 1706000000000)
    assert leader.age_ms(1706000003000) == 3000
    assert parse_leader(b'{"broker": null, "brokerHeartbeat": 0, "jobs": []}').address is None
    assert parse_leader(b"").heartbeat is None
