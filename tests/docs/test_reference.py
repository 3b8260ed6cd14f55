"""The documentation keeps up with the code: every public name, environment variable, CLI flag
and metric is documented, and every link between pages resolves."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest
from osqueue_broker import BrokerServer
from osqueue_cli.main import build_parser
from osqueue_storage import MemoryBackend

from .test_doc_samples import ROOT, documentation_files

DOCS = ROOT / "docs"
REFERENCE_PAGES = {
    "osqueue_types": "types.md",
    "osqueue_storage": "storage.md",
    "osqueue_core": "core.md",
    "osqueue_proto": "proto.md",
    "osqueue_client": "client.md",
    "osqueue_worker": "worker.md",
    "osqueue_broker": "broker.md",
    "osqueue_dashboard": "dashboard.md",
}
# Pages other people write; until they exist, links to them are reported as skipped.
PENDING_PAGES = {DOCS / "benchmarks.md", DOCS / "guarantees.md"}

# How the code reads environment variables: env.get("X"), os.environ["X"], _int(env, "X", ...),
# and the CLI's ("field", "X") pairs.
_ENV_READS = re.compile(
    r'(?:environ\.get|env\.get|environ\[|getenv)\(?\s*"(?P<a>[A-Z][A-Z0-9_]+)"'
    r'|\(\s*env\s*,\s*"(?P<b>[A-Z][A-Z0-9_]+)"'
    r'|\(\s*"[a-z_]+"\s*,\s*"(?P<c>[A-Z][A-Z0-9_]+)"\s*\)'
)
_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("module", sorted(REFERENCE_PAGES))
def test_every_public_name_is_in_its_reference_page(module: str) -> None:
    page = _without_code_blocks(_text(DOCS / "reference" / REFERENCE_PAGES[module]))
    # A name counts when the prose shows it in a code span: `Name`, `Name(...)`, `x: Name`.
    spans = " ".join(re.findall(r"`[^`]+`", page))
    missing = [
        name for name in importlib.import_module(module).__all__ if not re.search(rf"\b{name}\b", spans)
    ]
    assert not missing, f"docs/reference/{REFERENCE_PAGES[module]} does not mention {missing}"


def test_every_environment_variable_is_in_the_configuration_reference() -> None:
    read: set[str] = set()
    for source in [*ROOT.glob("packages/*/src/**/*.py"), *ROOT.glob("apps/*/src/**/*.py")]:
        for found in _ENV_READS.finditer(_text(source)):
            read.add(found.group("a") or found.group("b") or found.group("c"))
    assert "BROKER_URL" in read  # the pattern still matches how the code reads them
    page = _text(DOCS / "configuration.md")
    missing = sorted(name for name in read if f"`{name}`" not in page)
    assert not missing, f"docs/configuration.md does not document {missing}"


def _sections(page: str) -> dict[str, str]:
    """`### heading` → the text up to the next heading of any level."""
    parts = re.split(r"^(#{2,3} .*)$", page, flags=re.MULTILINE)
    return {parts[i].lstrip("#").strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_cli_flag_is_in_the_configuration_reference() -> None:
    sections = _sections(_text(DOCS / "configuration.md"))
    shared = sections["Connection options"]
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing: list[str] = []
    for name, parser in subparsers.choices.items():
        own = " ".join(text for heading, text in sections.items() if f"osqueue {name}" in heading)
        assert own, f"docs/configuration.md has no section for osqueue {name}"
        connection = {
            action.dest
            for group in parser._action_groups
            if group.title == "broker connection"
            for action in group._group_actions
        }
        for action in parser._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help"):
                    continue
                documented = shared if action.dest in connection else own
                if f"`{flag}" not in documented:
                    missing.append(f"osqueue {name} {flag}")
    assert not missing, f"docs/configuration.md does not document {missing}"


def test_every_metric_is_in_the_metrics_page() -> None:
    page = _text(DOCS / "metrics.md")
    names = []
    # A broker that is built but not started already has its whole registry.
    for family in BrokerServer(MemoryBackend(), port=0).metrics.registry.collect():
        names.append(family.name + "_total" if family.type == "counter" else family.name)
    missing = [name for name in names if f"`{name}" not in page]
    assert names and not missing, f"docs/metrics.md does not document {missing}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    in_code = False
    anchors: set[str] = set()
    for line in _text(path).splitlines():
        if line.startswith(("```", "~~~")):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"^#{1,6} (.*)$", line)):
            anchors.add(_slug(heading.group(1)))
    return anchors


def _links() -> list[tuple[Path, str, Path, str]]:
    """(page, link, target file, anchor) for every relative link outside code blocks."""
    found = []
    for page in documentation_files():
        text = _without_code_blocks(_text(page))
        for match in _LINK.finditer(text):
            link = match.group("target")
            if re.match(r"^[a-z]+:", link):
                continue
            file_part, _, anchor = link.partition("#")
            target = (page.parent / file_part).resolve() if file_part else page
            found.append((page, link, target, anchor))
    return found


def test_links_between_pages_resolve() -> None:
    broken = []
    for page, link, target, anchor in _links():
        if target in PENDING_PAGES and not target.exists():
            continue
        if not target.exists():
            broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", sorted(PENDING_PAGES), ids=lambda p: p.name)
def test_pages_written_elsewhere_exist(page: Path) -> None:
    if not page.exists():
        pytest.skip(f"{page.relative_to(ROOT)} is linked from the docs but not written yet")
