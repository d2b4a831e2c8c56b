"""The ``python -m langgraph.checkpoint.redis_shallow`` command line.

One subcommand per module of this package (``migrate`` today); each module
has ``add_parser(subparsers)``, which registers its options, and
``run(args) -> int``. Exit status: 0 when everything succeeded, 1 when
something failed (the output says what), 2 for a usage error (bad option,
bad URL, a missing package or a server that cannot be used), reported before
anything is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import migrate

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "build_parser",
    "main",
]

EXIT_OK = 0
"""Everything succeeded."""

EXIT_FAILED = 1
"""The command ran and something failed; the output lists what."""

EXIT_USAGE = 2
"""Bad usage; nothing was done."""

PROG = "python -m langgraph.checkpoint.redis_shallow"
"""How the command line is invoked (shown in usage and help)."""

COMMANDS = (migrate,)
"""The subcommand modules, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tools for the shallow LangGraph checkpoint savers for Redis.",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands"
    )
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status (see the module docstring); argparse's own usage
    errors also exit with 2.
    """
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    status: int = args.run(args)
    return status
