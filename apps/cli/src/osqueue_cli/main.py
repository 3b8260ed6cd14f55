"""The `osqueue` command: parse the arguments, run the chosen subcommand, report errors in one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from osqueue_types import OsqueueError, TransportConnectionError

from ._registry import CommandError, load_commands

_DESCRIPTION = (
    "osqueue: a distributed job queue whose whole state is one JSON object on object storage. "
    "Run a broker, run workers, submit and inspect jobs."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="osqueue", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    subparsers.required = True
    for command in load_commands():
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.description or command.help,
            formatter_class=_HelpFormatter,
        )
        command.configure(sub)
        sub.set_defaults(_run=command.run)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only when there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._run(args)
    except TransportConnectionError as exc:
        print(f"osqueue {args.command}: cannot reach a broker: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (CommandError, OsqueueError) as exc:
        print(f"osqueue {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("osqueue-cli")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
