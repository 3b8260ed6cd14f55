"""`osqueue --help` and every subcommand's --help list what they accept."""

from __future__ import annotations

import pytest
from osqueue_cli.main import main

from .conftest import osqueue

COMMANDS = ("broker", "worker", "submit", "stats", "jobs", "dead-letters")
CLIENT_OPTIONS = ("--broker", "--storage", "--auth-token", "--queue", "--transport", "--timeout")


def test_top_level_help_lists_every_command() -> None:
    result = osqueue("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"    {command}" in result.stdout


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "broker",
            (
                "--host",
                "--port",
                "--storage",
                "--queue",
                "--auth-token",
                "--group-commit-interval-ms",
                "--heartbeat-interval-ms",
                "--heartbeat-timeout-ms",
                "--job-heartbeat-timeout-ms",
                "--max-batch-size",
                "--advertise-address",
                "BROKER_HOST",
                "STORAGE_BACKEND",
                "GROUP_COMMIT_INTERVAL_MS",
            ),
        ),
        ("worker", ("MODULE:ATTR", "--concurrency", "--job-timeout", "--grace-period", *CLIENT_OPTIONS)),
        (
            "submit",
            ("TYPE", "JSON", "--max-attempts", "--delay", "--priority", "--idempotency-key", *CLIENT_OPTIONS),
        ),
        ("stats", ("--json", *CLIENT_OPTIONS)),
        ("jobs", ("--status", "--type", "--limit", *CLIENT_OPTIONS)),
        ("dead-letters", ("--requeue", "--all", "--delete", "--delete-all", *CLIENT_OPTIONS)),
    ],
)
def test_each_command_help_lists_its_options(
    command: str, options: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in options:
        assert option in text
