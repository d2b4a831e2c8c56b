"""The command line: ``lgshallow`` or ``python -m langgraph.checkpoint.redis_shallow``.

One tool for looking after a saver's data: ``stats``, ``threads``, ``show``,
``delete``, ``prune``, ``export``, ``import`` and ``migrate``. Each command
module has ``add_parser(commands, parents)``, which registers its commands
and options, and each command a ``run(args) -> int``. The commands are thin:
the work is done by the generated sync saver (``ShallowRedisSaver``) and the
plain modules (:mod:`..inventory`, :mod:`..backup`, :mod:`..layout`).

Exit status (docs/operations.md): 0 success; 1 the command failed or did
part of its work (server unreachable or refusing, ACL, partial import); 2 bad
usage or input, nothing done (an option, a URL, a file that is not an
export); 3 a thread or namespace named does not exist; 130 interrupted.
:func:`main` is the one place that turns errors into exit statuses: commands
return 0, 1 or 3, or raise (:class:`._common.CommandError` and its
subclasses, the package's and redis-py's errors, ``KeyboardInterrupt``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from redis.exceptions import (
    AuthenticationError,
    ConnectionError,
    NoPermissionError,
    RedisError,
    TimeoutError,
)

from ..errors import BackupFormatError, ShallowRedisError
from . import backup, delete, migrate, show, stats
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Interrupted,
    add_global_options,
    redact,
    url_of,
)

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "build_parser",
    "main",
]

PROG = "lgshallow"
"""The console script's name (``python -m langgraph.checkpoint.redis_shallow``
runs the same); shown in usage and help."""

COMMANDS = (stats, show, delete, backup, migrate)
"""The command modules, in the order ``--help`` lists their commands."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Look after the data of the shallow LangGraph checkpoint "
        "savers for Redis: statistics, threads, one thread's state, deletion, "
        "backups, migration. Also: python -m langgraph.checkpoint.redis_shallow.",
        epilog="Exit status: 0 ok, 1 failed or partly done, 2 bad usage or "
        "input (nothing done), 3 a thread named does not exist, 130 "
        "interrupted. Details: docs/operations.md.",
    )
    add_global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    add_global_options(common, suppress=True)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands"
    )
    for command in COMMANDS:
        command.add_parser(commands, [common])
    return parser


def _cause(exc: BaseException) -> BaseException:
    """The redis-py error inside a saver's ``StorageError``, if any."""
    while exc.__cause__ is not None and not isinstance(exc, RedisError):
        exc = exc.__cause__
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status (see the module docstring); argparse's own usage
    errors exit with 2 (``SystemExit``).
    """
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    name = args.command
    try:
        status: int = args.run(args)
        return status
    except KeyboardInterrupt as exc:
        # a command that said what it did first says what next (Interrupted)
        hint = f"; {exc.hint}" if isinstance(exc, Interrupted) else ""
        print(f"\n{name}: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CommandError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.status
    except BackupFormatError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ShallowRedisError, RedisError) as exc:
        cause = _cause(exc)
        url = redact(url_of(args))
        # inside a script the refusal is a plain ResponseError ("ACL failure
        # in script: User u has no permissions to run the 'hgetall' command";
        # Redis 6.2: "The user executing the script can't run this command")
        text = str(cause)
        if isinstance(cause, NoPermissionError) or (
            "no permissions" in text or "can't run this command" in text
        ):
            why = (
                f"the server at {url} refused a command to this user: {cause} "
                "(the ACL each command needs: docs/operations.md)"
            )
        elif isinstance(cause, AuthenticationError):
            why = f"the server at {url} refused the credentials: {cause}"
        elif isinstance(cause, (ConnectionError, TimeoutError)):
            why = f"cannot reach the server at {url}: {cause}"
        else:
            why = str(exc)
        print(f"{name}: error: {why}", file=sys.stderr)
        return EXIT_FAILED
