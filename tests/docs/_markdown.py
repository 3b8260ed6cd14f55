"""Code blocks of the documentation, with the `<!-- doc-test: ... -->` marker that precedes them.

Marker grammar (one HTML comment on the line before the opening fence, blank lines allowed):

    <!-- doc-test: skip REASON -->            not run; the reason is required
    <!-- doc-test: broker session=quickstart stop-after=3 -->

Words: `run` (run this shell block: it is safe here), `broker` (a real broker on a free port,
BROKER_URL set), `s3` / `gcs` (an emulator with the bucket named by `bucket=`, emptied first),
`queue-state` (a json block that must decode as queue.json). Keys: `session=NAME` (blocks share
a working directory, a broker and, for python, one interpreter), `stop-after=SECONDS` (a
long-running block gets SIGTERM that long after it started, or after a shell command's first
line of output, and must then exit cleanly), `file=NAME` (write the block to that file in the
working directory instead of running it), `storage=memory|file` and `auth-token=TOKEN` (the
broker's), `bucket=NAME`, `timeout=SECONDS`.

Python blocks always run; other blocks only when marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,4})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")

FLAGS = frozenset({"run", "broker", "s3", "gcs", "queue-state"})
KEYS = frozenset({"session", "stop-after", "file", "storage", "auth-token", "bucket", "timeout"})


class MarkerError(ValueError):
    pass


@dataclass(frozen=True)
class Options:
    skip: str | None = None
    flags: frozenset[str] = frozenset()
    values: dict[str, str] = field(default_factory=dict)

    def number(self, key: str) -> float | None:
        raw = self.values.get(key)
        return None if raw is None else float(raw)


@dataclass(frozen=True)
class CodeBlock:
    path: Path  # relative to the repository root
    line: int  # 1-based line of the first line of code (after the fence)
    lang: str
    source: str
    options: Options

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def parse_options(body: str) -> Options:
    words = body.split()
    if words and words[0] == "skip":
        reason = " ".join(words[1:])
        if not reason:
            raise MarkerError("doc-test: skip needs a reason")
        return Options(skip=reason)
    flags: set[str] = set()
    values: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            if key not in KEYS:
                raise MarkerError(f"unknown doc-test option {key!r} (known: {', '.join(sorted(KEYS))})")
            values[key] = value
        elif word in FLAGS:
            flags.add(word)
        else:
            raise MarkerError(f"unknown doc-test word {word!r} (known: {', '.join(sorted(FLAGS))})")
    return Options(flags=frozenset(flags), values=values)


def code_blocks(path: Path, root: Path) -> list[CodeBlock]:
    """Every fenced code block of a markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    marker: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        found = MARKER.match(line)
        if found:
            marker = found.group("body")
            i += 1
            continue
        fence = FENCE.match(line)
        if fence is None:
            if line.strip():
                marker = None  # a marker applies only to the block right after it
            i += 1
            continue
        indent = len(fence.group("indent"))
        close = fence.group("fence")
        body: list[str] = []
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(close):
            raw = lines[i]
            body.append(raw[indent:] if not raw[:indent].strip() else raw)
            i += 1
        i += 1  # the closing fence
        try:
            options = parse_options(marker) if marker is not None else Options()
        except MarkerError as exc:
            raise MarkerError(f"{path.relative_to(root)}:{start}: {exc}") from None
        blocks.append(
            CodeBlock(
                path=path.relative_to(root),
                line=start + 1,
                lang=fence.group("lang").lower(),
                source="\n".join(body) + "\n",
                options=options,
            )
        )
        marker = None
    return blocks
