"""`osqueue submit | stats | jobs | dead-letters | worker` against a broker started by `osqueue broker`."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
from osqueue_client import JobSpec, SyncOsqueueClient

from ..conftest import free_port
from .conftest import REPO, Launcher, osqueue, wait_for

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _ok(*args: str) -> str:
    result = osqueue(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _cells(line: str) -> list[str]:
    """The cells of a rich table row."""
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


def _table_value(output: str, label: str) -> str:
    """The value column of a `stats` row."""
    for line in output.splitlines():
        cells = _cells(line)
        if cells[0] == label:
            return cells[1]
    raise AssertionError(f"no row {label!r} in:\n{output}")


def test_submit_stats_and_jobs(launcher: Launcher, tmp_path: Path) -> None:
    storage = f"file://{tmp_path / 'state'}"
    _, url = launcher.broker("--storage", storage)
    first = _ok("submit", "email:send", '{"to": "a@example.com"}', "--max-attempts", "5", "--broker", url)
    second = _ok(
        "submit",
        "report",
        "[1, 2]",
        "--delay",
        "300",
        "--priority",
        "3",
        "--idempotency-key",
        "k1",
        "--broker",
        url,
    )
    first_id, second_id = first.strip(), second.strip()
    assert UUID.match(first_id) and UUID.match(second_id)
    with SyncOsqueueClient(url) as client:
        # The key went along: repeating it returns the first job's id.
        assert client.submit("report", [1, 2], idempotency_key="k1") == second_id
        third_id = client.submit("x", 1)

    stats = _ok("stats", "--broker", url)
    assert _table_value(stats, "total") == "3"
    assert _table_value(stats, "unclaimed") == "3"
    assert _table_value(stats, "delayed") == "1"
    assert _table_value(stats, "completed (all time)") == "0"
    # The broker found from storage (the leader's address in queue.json), JSON for scripts.
    as_json = json.loads(_ok("stats", "--json", "--storage", storage))
    assert (as_json["total"], as_json["unclaimed"], as_json["delayed"]) == (3, 3, 1)

    jobs = _ok("jobs", "--broker", url)
    rows = {cells[0]: line for line in jobs.splitlines() if UUID.match((cells := _cells(line))[0])}
    assert set(rows) == {first_id, second_id, third_id}
    assert "email:send" in rows[first_id] and "0/5" in rows[first_id] and "a@example.com" in rows[first_id]
    assert "report" in rows[second_id] and "in 4m" in rows[second_id]
    filtered = json.loads(_ok("jobs", "--type", "report", "--json", "--broker", url))
    assert [job["id"] for job in filtered["jobs"]] == [second_id]
    delayed = json.loads(_ok("jobs", "--status", "delayed", "--json", "--broker", url))
    assert [job["id"] for job in delayed["jobs"]] == [second_id]


def test_submit_rejects_a_payload_that_is_not_json() -> None:
    result = osqueue("submit", "email", "{to: nobody}", "--broker", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert result.stderr.startswith("osqueue submit: the payload is not valid JSON")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_broker_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = osqueue("stats", "--broker", url, "--timeout", "0.5")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osqueue stats: cannot reach a broker")


def test_dead_letters_list_requeue_and_delete(launcher: Launcher) -> None:
    _, url = launcher.broker("--storage", "memory://")
    with SyncOsqueueClient(url) as client:
        ids = [client.submit("resize", {"n": n}) for n in range(3)]
        for job in client.claim("w", limit=3):
            client.fail(job.id, "w", f"ValueError: bad image {job.payload['n']}", dead_letter=True)

    listing = _ok("dead-letters", "--broker", url)
    assert "3 of 3 dead letter(s)" in listing
    assert all(job_id in listing for job_id in ids)
    assert "resize" in listing

    assert _ok("dead-letters", "--requeue", ids[0], "--broker", url).strip() == "requeued 1 job(s)"
    assert _ok("dead-letters", "--delete", ids[1], "--broker", url).strip() == "deleted 1 dead letter(s)"
    letters = json.loads(_ok("dead-letters", "--json", "--broker", url))
    assert [letter["job"]["id"] for letter in letters["deadLetters"]] == [ids[2]]
    assert "bad image 2" in letters["deadLetters"][0]["job"]["lastError"]
    assert _ok("dead-letters", "--all", "--broker", url).strip() == "requeued 1 job(s)"
    with SyncOsqueueClient(url) as client:
        stats = client.stats()
    assert (stats.dead_letters, stats.unclaimed) == (0, 2)


@pytest.mark.parametrize("target", ["tests.cli.cli_app:handlers", "tests.cli.cli_app:make_worker"])
def test_worker_command_runs_handlers_until_sigint(launcher: Launcher, target: str) -> None:
    _, url = launcher.broker("--storage", "memory://")
    worker = launcher.start("worker", target, "--broker", url, "--transport", "ws", cwd=REPO)
    with SyncOsqueueClient(url) as client:
        for n in range(3):
            client.submit("echo", n)
        handled = sorted(worker.next_line() for _ in range(3))
        assert handled == ["handled 0", "handled 1", "handled 2"]
        wait_for(lambda: client.stats().completed_total == 3)
    assert worker.interrupt(signal.SIGINT) == 0


def test_worker_command_finds_the_broker_in_storage_and_runs_n_jobs_at_once(
    launcher: Launcher, tmp_path: Path
) -> None:
    storage = f"file://{tmp_path / 'state'}"
    markers = tmp_path / "markers"
    markers.mkdir()
    _, url = launcher.broker("--storage", storage)
    with SyncOsqueueClient(url) as client:
        # Queued before the worker starts: its first claims can fill every slot at once.
        client.submit_many([JobSpec("overlap", {"seconds": 0.5}) for _ in range(8)])
        worker = launcher.start(
            "worker",
            "tests.worker.process_handlers:handlers",
            *("--storage", storage, "--concurrency", "4", "--log-level", "WARNING"),
            env={"OSQ_TEST_MARKERS": str(markers)},
            cwd=REPO,
        )
        wait_for(lambda: client.stats().completed_total == 8, timeout=20)
    # Four jobs ran side by side, never more.
    assert (markers / "peak").read_text() == "4"
    assert worker.interrupt(signal.SIGINT) == 0
    assert worker.process.stderr is not None
    banner = worker.process.stderr.read()
    # No --broker and no BROKER_URL: the worker read the leader's address from storage.
    assert f"broker from {storage}" in banner and "concurrency 4" in banner


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no_such_module_here:handlers", "cannot import module 'no_such_module_here'"),
        ("tests.cli.cli_app:missing", "module 'tests.cli.cli_app' has no attribute 'missing'"),
        ("tests.cli.cli_app", "expected MODULE:ATTR"),
        ("tests.cli.cli_app:REPO_NAME", "expected a dict of handlers, a Worker, or a factory"),
    ],
)
def test_worker_command_names_a_bad_target(target: str, expected: str) -> None:
    result = osqueue("worker", target, "--broker", "http://127.0.0.1:1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("osqueue worker: ") and expected in lines[0]
