"""What every command shares: global options, the saver, errors, output.

Global options (``--url``, ``--checkpoint-prefix``,
``--checkpoint-write-prefix``, ``--serde``, ``--wait-for-replicas``,
``--wait-timeout``, ``--json``) may be given before the command or after
it, as with pip.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from langgraph.checkpoint.serde.base import SerializerProtocol

from .._sync.saver import ShallowRedisSaver
from ..connection import DEFAULT_REDIS_URL, redact
from ..durability import DEFAULT_WAIT_TIMEOUT
from ..errors import InvalidConfigError
from ..keys import DEFAULT_CHECKPOINT_PREFIX, DEFAULT_WRITE_PREFIX

__all__ = [
    "DEFAULT_URL",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "Interrupted",
    "NotFound",
    "Progress",
    "UsageError",
    "add_global_options",
    "confirm",
    "duration",
    "emit",
    "load_serde",
    "open_saver",
    "positive_int",
    "redact",
    "size",
    "url_of",
]

EXIT_OK = 0
"""Everything succeeded."""

EXIT_FAILED = 1
"""The command ran and something failed (the server refused or could not be
reached, or only part was done); stderr says what."""

EXIT_USAGE = 2
"""Bad usage or bad input (an option, a URL, a file that is not an export);
nothing was done."""

EXIT_NOT_FOUND = 3
"""A thread (or namespace) named on the command line does not exist."""

EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C); what was done before stays done."""

DEFAULT_URL = DEFAULT_REDIS_URL
"""The server when neither ``--url`` nor ``REDIS_URL`` is set."""


class CommandError(Exception):
    """A command failed in a way it explains itself; ``status`` is the exit."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """Bad usage or input, found before anything was done (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class NotFound(CommandError):
    """Something named on the command line does not exist (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_NOT_FOUND)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, caught by a command that then said what was done; ``hint``
    says what next. The single handler prints ``COMMAND: interrupted; HINT``
    and exits with :data:`EXIT_INTERRUPTED`, as for any Ctrl-C."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Add the global options; ``suppress`` (for subcommands) leaves values
    given before the command in place when an option is not repeated after."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--url",
        default=default(None),
        help="the Redis server: redis://, rediss://, unix://, redis+sentinel:// "
        f"(default: $REDIS_URL, else {DEFAULT_URL})",
    )
    group.add_argument(
        "--checkpoint-prefix",
        default=default(DEFAULT_CHECKPOINT_PREFIX),
        metavar="PREFIX",
        help=f"the saver's checkpoint_prefix (default: {DEFAULT_CHECKPOINT_PREFIX})",
    )
    group.add_argument(
        "--checkpoint-write-prefix",
        default=default(DEFAULT_WRITE_PREFIX),
        metavar="PREFIX",
        help=f"the saver's checkpoint_write_prefix (default: {DEFAULT_WRITE_PREFIX})",
    )
    group.add_argument(
        "--serde",
        default=default(None),
        metavar="MODULE:ATTR",
        help="the saver's serde, as an import path: a serializer object or a "
        "function of no arguments returning one (default: LangGraph's "
        "JsonPlusSerializer, the saver's default)",
    )
    group.add_argument(
        "--wait-for-replicas",
        type=int,
        default=default(0),
        metavar="N",
        help="commands that write (delete, prune, import, migrate) wait after "
        "each write until N replicas have it (the saver's wait_for_replicas; "
        "a write not acknowledged in time fails the command, exit status 1; "
        "default: 0, no waiting)",
    )
    group.add_argument(
        "--wait-timeout",
        type=float,
        default=default(DEFAULT_WAIT_TIMEOUT),
        metavar="SECONDS",
        help="how long each write waits for its replicas "
        f"(default: {DEFAULT_WAIT_TIMEOUT:g})",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine-readable output: one JSON document on stdout",
    )


def positive_int(text: str) -> int:
    """An option's value that must be a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def url_of(args: argparse.Namespace) -> str:
    """The server URL: ``--url``, else ``$REDIS_URL``, else the default."""
    return str(args.url or os.environ.get("REDIS_URL") or DEFAULT_URL)


def load_serde(path: str | None) -> SerializerProtocol | None:
    """The serde named by ``--serde module:attr`` (``None``: the default)."""
    if path is None:
        return None
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(
            f"--serde {path!r}: expected MODULE:ATTR, e.g. mypkg.serde:serde"
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--serde {path!r}: {type(exc).__name__}: {exc}") from exc
    if not (hasattr(obj, "loads_typed") and hasattr(obj, "dumps_typed")):
        if callable(obj):
            try:
                obj = obj()
            except Exception as exc:
                raise UsageError(
                    f"--serde {path!r}: calling it raised {type(exc).__name__}: {exc}"
                ) from exc
    if not (hasattr(obj, "loads_typed") and hasattr(obj, "dumps_typed")):
        raise UsageError(
            f"--serde {path!r} is a {type(obj).__name__}, not a serializer "
            "(an object with dumps_typed and loads_typed)"
        )
    return obj  # type: ignore[no-any-return]


def open_saver(
    args: argparse.Namespace,
    ttl_minutes: float | None = None,
    *,
    url: str | None = None,
) -> ShallowRedisSaver:
    """The sync saver for the global options (close it after use), on
    ``url`` if given (``migrate --to``), else on :func:`url_of`."""
    serde = load_serde(args.serde)
    url = url or url_of(args)
    try:
        return ShallowRedisSaver(
            url,
            checkpoint_prefix=args.checkpoint_prefix,
            checkpoint_write_prefix=args.checkpoint_write_prefix,
            serde=serde,
            ttl=None if ttl_minutes is None else {"default_ttl": ttl_minutes},
            wait_for_replicas=args.wait_for_replicas,
            wait_timeout=args.wait_timeout,
        )
    except InvalidConfigError as exc:
        raise UsageError(str(exc).replace(url, redact(url))) from exc


def emit(args: argparse.Namespace, data: Any, text: Iterable[str]) -> None:
    """Print ``data`` as JSON with ``--json``, else the lines of ``text``."""
    if args.json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for line in text:
            print(line)


def confirm(args: argparse.Namespace, question: str) -> None:
    """Ask ``question`` on a terminal unless ``--yes``; without a terminal,
    ``--yes`` is required. Raises :class:`CommandError` on anything but yes."""
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "stdin is not a terminal, so there is no one to confirm: pass --yes"
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CommandError("not confirmed; nothing was changed", EXIT_FAILED)


def size(n: int | None) -> str:
    """Bytes for people: ``812 B``, ``4.2 KiB``, ``1.3 MiB``."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def duration(seconds: float | None) -> str:
    """A TTL for people: ``45s``, ``59m 58s``, ``2h 5m``, ``3d 4h``."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


class Progress:
    """A one-line progress report on stderr, only when stderr is a terminal
    (redrawn at most ten times a second); silent otherwise, so logs and
    pipes get only the result, unless ``log_every`` (see :meth:`count`)."""

    def __init__(
        self, label: str, stream: TextIO | None = None, *, log_every: int = 0
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.label = label
        self.tty = self.stream.isatty()
        self.log_every = log_every
        self.start = time.monotonic()
        """Where :meth:`rate` counts from (a command may reset it)."""
        self._last = 0.0
        self._shown = False

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``label: text``."""
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.stream.write(f"\r\x1b[K{self.label}: {text}")
        self.stream.flush()
        self._shown = True

    def count(self, done: int, total: int, unit: str = "threads") -> None:
        """Show ``done/total unit, rate`` on a terminal. Elsewhere, with
        ``log_every``, log a line every ``log_every`` and at the end (for
        long runs in logs): ``label: done/total unit, 12.3 s, 45 unit/s``."""
        if self.tty:
            self.update(
                f"{done}/{total} {unit}, {self.rate(done)}", force=done == total
            )
        elif self.log_every and done and (done % self.log_every == 0 or done == total):
            elapsed = max(time.monotonic() - self.start, 1e-9)
            self.stream.write(
                f"{self.label}: {done}/{total} {unit}, {elapsed:.1f} s, "
                f"{done / elapsed:.0f} {unit}/s\n"
            )
            self.stream.flush()

    def done(self) -> None:
        """End the line (if anything was shown)."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def rate(self, n: int) -> str:
        """``n`` per second since the start."""
        elapsed = max(time.monotonic() - self.start, 1e-9)
        return f"{n / elapsed:.0f}/s"
