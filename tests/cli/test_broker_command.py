"""`osqueue broker`: the start line, standby, restarts, and bad configuration in one line."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from osqueue_cli._broker_settings import broker_config, broker_storage
from osqueue_cli.main import main
from osqueue_storage import FileBackend

from ..conftest import free_port
from .conftest import Launcher, clean_env, osqueue

FAST_LEASE = ("--heartbeat-interval-ms", "300", "--heartbeat-timeout-ms", "1000")


def test_defaults_are_localhost_8080_and_a_file_store_in_the_current_directory() -> None:
    flags = {
        "host": None,
        "port": None,
        "storage": None,
        "queue": None,
        "auth_token": None,
        "group_commit_interval_ms": None,
        "heartbeat_interval_ms": None,
        "heartbeat_timeout_ms": None,
        "job_heartbeat_timeout_ms": None,
        "max_batch_size": None,
        "advertise_address": None,
        "idempotency_retention_ms": None,
        "cors_origins": None,
    }
    args = argparse.Namespace(**flags)
    config = broker_config(args, env={})
    assert (config.host, config.port, config.queue) == ("127.0.0.1", 8080, "default")
    assert (config.idempotency_retention_ms, config.cors_origins) == (300_000, ())
    storage = broker_storage(args, env={})
    assert isinstance(storage, FileBackend) and storage.root_dir == Path(".osqueue")
    # Flags win over the environment.
    env = {"BROKER_PORT": "9000", "BROKER_HEARTBEAT_INTERVAL_MS": "4000"}
    assert broker_config(argparse.Namespace(**{**flags, "port": 9100}), env=env).port == 9100
    assert broker_config(argparse.Namespace(**flags), env=env).heartbeat_interval_ms == 4000
    env = {"IDEMPOTENCY_RETENTION_MS": "60000", "OSQUEUE_CORS_ORIGINS": "https://a.example"}
    assert broker_config(argparse.Namespace(**flags), env=env).idempotency_retention_ms == 60_000
    given = {
        **flags,
        "idempotency_retention_ms": 1000,
        "cors_origins": " https://b.example/, http://c:5173 ,",
    }
    config = broker_config(argparse.Namespace(**given), env=env)
    assert config.idempotency_retention_ms == 1000
    assert config.cors_origins == ("https://b.example", "http://c:5173")


def test_start_line_says_where_the_state_lives_and_jobs_survive_a_restart(
    launcher: Launcher, tmp_path: Path
) -> None:
    port = free_port()
    # No options besides the port (8080 may be taken on a test machine): the default file store.
    broker = launcher.start("broker", *FAST_LEASE, env={"BROKER_PORT": str(port)})
    state = tmp_path / ".osqueue" / "queue.json"
    assert broker.next_line() == (
        f"osqueue broker leading queue 'default' at http://127.0.0.1:{port}; state in {state}"
    )
    url = f"http://127.0.0.1:{port}"
    submitted = osqueue("submit", "email", '{"to": "a@example.com"}', "--broker", url)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert broker.interrupt() == 0
    assert broker.pending_lines() == []
    assert state.exists()

    # The stopped broker handed its lease back (brokerHeartbeat 0), so the new one leads at once
    # rather than after its 10 s default heartbeat timeout.
    again = launcher.start("broker", env={"BROKER_PORT": str(port)})
    assert again.next_line().startswith("osqueue broker leading queue 'default'")
    listed = osqueue("jobs", "--broker", url)
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout
    assert again.interrupt(signal.SIGTERM) == 0


def test_second_broker_on_the_same_storage_stands_by_then_takes_over(
    launcher: Launcher, tmp_path: Path
) -> None:
    storage = f"file://{tmp_path / 'shared'}"
    leader, leader_url = launcher.broker("--storage", storage, *FAST_LEASE)
    standby_port = free_port()
    standby = launcher.start("broker", "--storage", storage, "--port", str(standby_port), *FAST_LEASE)
    line = standby.next_line()
    leader_address = leader_url.removeprefix("http://")
    assert line.startswith(f"osqueue broker standby for queue 'default' at http://127.0.0.1:{standby_port}")
    assert f"leader: {leader_address}" in line and "takes over if the leader stops" in line
    leader.kill()
    assert standby.next_line(timeout=10) == (
        f"osqueue broker now leading queue 'default' at http://127.0.0.1:{standby_port}; "
        f"state in {tmp_path / 'shared' / 'queue.json'}"
    )


def test_cors_origins_and_idempotency_retention_flags_reach_the_running_broker(launcher: Launcher) -> None:
    _, url = launcher.broker("--cors-origins", "https://app.example/", "--idempotency-retention-ms", "500")
    preflight = {"origin": "https://app.example", "access-control-request-method": "POST"}
    with httpx.Client(base_url=url, timeout=10) as http:
        allowed = http.options("/v1/jobs", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = http.options("/v1/jobs", headers={**preflight, "origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers

        def submit() -> str:
            answer = http.post("/v1/jobs", json={"payload": 1, "idempotencyKey": "k"})
            assert answer.status_code == 200, answer.text
            job_id: str = answer.json()["jobId"]
            return job_id

        first = submit()
        assert submit() == first
        time.sleep(0.6)
        assert submit() != first


def _one_line_error(result: object) -> str:
    import subprocess

    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    line: str = lines[0]
    assert line.startswith("osqueue broker: ")
    return line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--storage", "ftp://files/q"], "unknown storage URL scheme 'ftp'"),
        (["--storage", "s3://"], "missing bucket name"),
        (["--heartbeat-interval-ms", "6000"], "must be less than half the heartbeat timeout"),
        (["--idempotency-retention-ms", "0"], "idempotency retention must be positive"),
        (["--cors-origins", "app.example"], "CORS origins must look like https://host[:port]"),
    ],
)
def test_bad_configuration_exits_with_one_clear_line(args: list[str], expected: str, tmp_path: Path) -> None:
    result = osqueue("broker", "--port", str(free_port()), *args, cwd=tmp_path)
    assert expected in _one_line_error(result)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET is required when STORAGE_BACKEND=s3"),
        ({"OSQUEUE_STORAGE": "nope://x"}, "OSQUEUE_STORAGE: unknown storage URL scheme 'nope'"),
        ({"BROKER_HEARTBEAT_INTERVAL_MS": "9000"}, "must be less than half the heartbeat timeout"),
        ({"BROKER_PORT": "eighty"}, "BROKER_PORT must be an integer"),
        ({"JOB_HEARTBEAT_TIMEOUT_MS": "-5"}, "JOB_HEARTBEAT_TIMEOUT_MS must not be negative"),
        ({"IDEMPOTENCY_RETENTION_MS": "0"}, "idempotency retention must be positive"),
        ({"OSQUEUE_QUEUE": "a/b"}, "invalid queue name 'a/b'"),
    ],
)
def test_bad_environment_is_named_in_one_line(
    env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process (these fail before anything starts): the same main() the command runs.
    for name, value in clean_env(env).items():
        monkeypatch.setenv(name, value)
    for name in set(os.environ) - set(clean_env(env)):
        monkeypatch.delenv(name)
    assert main(["broker"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("osqueue broker: ") and expected in captured.err


def test_corrupt_queue_json_is_refused_and_left_untouched(tmp_path: Path) -> None:
    state = tmp_path / ".osqueue" / "queue.json"
    state.parent.mkdir()
    corrupt = b'{"broker": "10.0.0.5:8080", "jobs": [{"id": '
    state.write_bytes(corrupt)
    result = osqueue("broker", "--port", str(free_port()), cwd=tmp_path)
    line = _one_line_error(result)
    assert "queue.json" in line and "not" in line
    assert state.read_bytes() == corrupt


def test_a_bucket_that_does_not_exist_is_named(moto_server: str, tmp_path: Path) -> None:
    result = osqueue(
        "broker", "--port", str(free_port()), "--storage", f"s3://no-such-bucket/q?endpoint={moto_server}"
    )
    line = _one_line_error(result)
    assert "no-such-bucket" in line and "does not exist" in line
