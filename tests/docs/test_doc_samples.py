"""Every python code block in docs/ and README.md runs, and so do the shell blocks marked safe.

How a block runs is said by the `<!-- doc-test: ... -->` comment before it (see `_markdown`):
a real broker on a free port with BROKER_URL set, S3/GCS emulators, shared sessions,
long-running programs stopped with SIGTERM. `skip REASON` is for the few blocks that cannot
run here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._buckets import empty_gcs_bucket, empty_s3_bucket
from ._markdown import CodeBlock, code_blocks
from ._sessions import Session, run_session, sample_env, session_broker, sessions

ROOT = Path(__file__).resolve().parents[2]


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def all_blocks() -> list[CodeBlock]:
    return [block for path in documentation_files() for block in code_blocks(path, ROOT)]


BLOCKS = all_blocks()
SESSIONS = sessions(BLOCKS)
SKIPPED = [block for block in BLOCKS if block.options.skip is not None]


@pytest.mark.parametrize("session", SESSIONS, ids=[session.name for session in SESSIONS])
def test_sample_runs(session: Session, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env: dict[str, str] = {}
    bucket = session.value("bucket") or "my-bucket"
    if session.flag("s3"):
        endpoint: str = request.getfixturevalue("moto_server")
        empty_s3_bucket(endpoint, bucket)
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
        )
    if session.flag("gcs"):
        url: str = request.getfixturevalue("fake_gcs_server")
        empty_gcs_bucket(url, bucket)
        env["STORAGE_EMULATOR_HOST"] = url
    with session_broker(session, tmp_path) as broker_url:
        if broker_url is not None:
            env["BROKER_URL"] = broker_url
        run_session(session, tmp_path, sample_env(env))


@pytest.mark.parametrize("block", SKIPPED, ids=[block.where for block in SKIPPED])
def test_skipped_sample(block: CodeBlock) -> None:
    pytest.skip(f"{block.where}: {block.options.skip}")
