"""Signed session cookies, producer form validation and the leader as the stats name it."""

from __future__ import annotations

from osqueue_client import QueueStats
from osqueue_dashboard._forms import JobForm, validate
from osqueue_dashboard._leader import Leader
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


def test_leader_from_the_stats() -> None:
    stats = QueueStats(
        total=0,
        unclaimed=0,
        in_progress=0,
        completed_total=0,
        broker_address="10.0.0.5:8080",
        broker_heartbeat=1706000000000,
    )
    leader = Leader.of(stats)
    assert (leader.address, leader.heartbeat) == ("10.0.0.5:8080", 1706000000000)
    assert leader.age_ms(1706000003000) == 3000
    assert leader.as_json(1706000003000) == {
        "address": "10.0.0.5:8080",
        "heartbeatAgeMs": 3000,
        "heartbeatAge": "3.0 s ago",
    }
    # A broker that does not report its heartbeat, or no stats yet.
    unknown = Leader.of(QueueStats(total=0, unclaimed=0, in_progress=0, completed_total=0, broker_address=""))
    assert (unknown.address, unknown.heartbeat, unknown.age_text(1)) == (None, None, "unknown")
    assert Leader.of(None).as_json(1)["heartbeatAge"] == "unknown"
