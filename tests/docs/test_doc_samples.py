"""Every python code block in docs/ and README.md runs, and so do the shell blocks marked safe.

How a block runs is said by the `<!-- doc-test: ... -->` comment before it (see `_markdown`):
a real broker on a free port with BROKER_URL set, S3/GCS emulators, shared sessions,
long-running programs stopped with SIGTERM. `skip REASON` is for the few blocks that cannot
run here.

Sessions are independent (each has its own directory, broker and processes), so they run a
few at a time; each test then reports its own session's outcome.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import pytest

from ._buckets import empty_gcs_bucket, empty_s3_bucket
from ._markdown import CodeBlock, code_blocks
from ._sessions import Session, run_session, sample_env, session_broker, sessions

ROOT = Path(__file__).resolve().parents[2]
# Sessions mostly wait (on brokers, on SIGTERM-stopped programs); a few at a time keeps the
# file well under a minute without starving a small machine.
PARALLEL_SESSIONS = 3


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def all_blocks() -> list[CodeBlock]:
    return [block for path in documentation_files() for block in code_blocks(path, ROOT)]


BLOCKS = all_blocks()
SESSIONS = sessions(BLOCKS)
SKIPPED = [block for block in BLOCKS if block.options.skip is not None]


class _Emulators:
    """Endpoints of the storage emulators, and one lock per named bucket: sessions that empty
    and use the same bucket must not overlap."""

    def __init__(self, s3: str | None, gcs: str | None) -> None:
        self.s3 = s3
        self.gcs = gcs
        self.bucket_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _run(session: Session, workdir: Path, emulators: _Emulators) -> None:
    env: dict[str, str] = {}
    bucket = session.value("bucket") or "my-bucket"
    uses_bucket = session.flag("s3") or session.flag("gcs")
    lock = emulators.bucket_locks[bucket] if uses_bucket else threading.Lock()
    with lock:
        if session.flag("s3"):
            assert emulators.s3 is not None
            empty_s3_bucket(emulators.s3, bucket)
            env.update(
                AWS_ENDPOINT_URL=emulators.s3,
                AWS_ACCESS_KEY_ID="test",
                AWS_SECRET_ACCESS_KEY="test",
                AWS_DEFAULT_REGION="us-east-1",
            )
        if session.flag("gcs"):
            assert emulators.gcs is not None
            empty_gcs_bucket(emulators.gcs, bucket)
            env["STORAGE_EMULATOR_HOST"] = emulators.gcs
        with session_broker(session, workdir) as broker_url:
            if broker_url is not None:
                env["BROKER_URL"] = broker_url
            run_session(session, workdir, sample_env(env))


def _expected_seconds(session: Session) -> float:
    """A rough guess: about a second per block, plus the time long-running blocks are let run."""
    return sum(1 + (block.options.number("stop-after") or 0) for block in session.blocks)


def _emulators(request: pytest.FixtureRequest, sessions: list[Session]) -> _Emulators:
    return _Emulators(
        s3=request.getfixturevalue("moto_server") if any(s.flag("s3") for s in sessions) else None,
        gcs=request.getfixturevalue("fake_gcs_server") if any(s.flag("gcs") for s in sessions) else None,
    )


def _outcome(session: Session, workdir: Path, emulators: _Emulators) -> BaseException | None:
    try:
        _run(session, workdir, emulators)
    except BaseException as exc:
        return exc
    return None


def _workdir(factory: pytest.TempPathFactory, session: Session) -> Path:
    return factory.mktemp(re.sub(r"\W+", "-", session.name)[-60:])


@pytest.fixture(scope="module")
def prefetched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, BaseException | None]:
    """Runs every selected session up front, a few at a time; maps its name to what it raised
    (None: it passed). Under pytest-xdist, where a process cannot know which tests it will get,
    nothing is run here and each test runs its own session."""
    if hasattr(request.config, "workerinput"):
        return {}
    selected = {
        cast(Session, item.callspec.params["session"]).name
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_sample_runs"
    }
    # Longest first, so that the long sessions do not start last.
    chosen = sorted((s for s in SESSIONS if s.name in selected), key=_expected_seconds, reverse=True)
    emulators = _emulators(request, chosen)
    # Made here, not in the threads: pytest's numbered directories are not thread-safe.
    workdirs = [_workdir(tmp_path_factory, session) for session in chosen]
    with ThreadPoolExecutor(PARALLEL_SESSIONS, thread_name_prefix="doc-session") as pool:
        outcomes = pool.map(lambda s, w: _outcome(s, w, emulators), chosen, workdirs)
        return dict(zip((s.name for s in chosen), outcomes, strict=True))


@pytest.mark.parametrize("session", SESSIONS, ids=[session.name for session in SESSIONS])
def test_sample_runs(
    session: Session,
    prefetched: dict[str, BaseException | None],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if session.name in prefetched:
        error = prefetched[session.name]
    else:
        error = _outcome(session, _workdir(tmp_path_factory, session), _emulators(request, [session]))
    if error is not None:
        raise error


@pytest.mark.parametrize("block", SKIPPED, ids=[block.where for block in SKIPPED])
def test_skipped_sample(block: CodeBlock) -> None:
    pytest.skip(f"{block.where}: {block.options.skip}")
