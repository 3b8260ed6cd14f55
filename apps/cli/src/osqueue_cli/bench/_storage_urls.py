"""A fresh place in the chosen storage for every run, so runs never see each other's queue."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class RunStorage:
    url: str
    # A directory created for this run only, removed afterwards.
    scratch_dir: Path | None = None

    def cleanup(self) -> None:
        if self.scratch_dir is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)


def fresh_storage(url: str) -> RunStorage:
    """memory:// as is; file://DIR → a new sub-directory; s3:// and gcs:// → a new sub-prefix.

    Objects written to a bucket stay there (the storage protocol has no delete).
    """
    scheme, _, rest = url.partition("://")
    run_id = f"bench-{uuid.uuid4().hex[:12]}"
    if scheme == "memory":
        return RunStorage(url)
    if scheme == "file":
        parent = Path(rest) if rest else Path(tempfile.gettempdir())
        scratch = parent / run_id
        scratch.mkdir(parents=True)
        return RunStorage(f"file://{scratch}", scratch)
    parts = urlsplit(url)
    prefix = "/".join(p for p in (parts.path.strip("/"), run_id) if p)
    return RunStorage(urlunsplit((parts.scheme, parts.netloc, "/" + prefix, parts.query, "")))
