"""``export`` and ``import``: whole threads to a backup file and back.

The file format is :mod:`..backup`'s; the threads are read with the saver's
``dump_thread`` and written with its ``restore_thread``, one thread (one
atomic step) at a time, so neither side ever holds more than one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import backup, inventory
from ..errors import BackupFormatError
from ..layout import StoredNamespace
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    NotFound,
    Progress,
    UsageError,
    emit,
    open_saver,
    size,
)
from .delete import existing

__all__ = ["add_parser", "run_export", "run_import"]


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``export`` and ``import``."""
    p = commands.add_parser(
        "export",
        parents=parents,
        help="write threads to a backup file",
        description="Write whole threads (every namespace, checkpoint, pending "
        "write, search entry and rollback base, bytes as stored: encrypted "
        "values stay encrypted) to a backup file, one thread at a time. "
        "Default: every thread (found by SCAN). The file is written as "
        "FILE.partial and renamed when complete. Read-only on the server.",
    )
    p.add_argument("threads", nargs="*", metavar="THREAD", help="thread ids")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the backup file (gzip-compressed if it ends in .gz; - for stdout)",
    )
    p.set_defaults(run=run_export)

    p = commands.add_parser(
        "import",
        parents=parents,
        help="restore threads from a backup file",
        description="Restore the threads of a backup file (from export), each "
        "in one atomic step, with its registry, search entries (built from the "
        "metadata if the backup came from a server without Search) and "
        "rollback bases. Idempotent: a thread already holding the same data is "
        "left as it is; a thread holding other data is not overwritten unless "
        "--replace. The keys are those of the global prefixes, whatever "
        "prefixes the backup was made with.",
    )
    p.add_argument("file", metavar="FILE", help="the backup file (- for stdin)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="overwrite threads that hold other data",
    )
    p.add_argument(
        "--ttl",
        type=_minutes,
        metavar="MINUTES",
        help="expire the restored keys this many minutes from now, as the "
        "saver's default_ttl does (default: no expiry)",
    )
    p.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    """Run ``export``."""
    progress = Progress("export")
    with open_saver(args) as saver:
        if args.threads:
            names = list(dict.fromkeys(args.threads))
            missing = [
                t for t, ok in zip(names, existing(saver, names), strict=True) if not ok
            ]
            if missing:
                raise NotFound(
                    "no thread "
                    + ", ".join(repr(t) for t in missing)
                    + "; nothing written"
                )
            ids: Any = iter(names)
        else:
            ids = inventory.scan_thread_ids(saver.client, saver.keys)
        header = backup.Header(saver.keys.checkpoint_prefix, saver.keys.entry_prefix)
        to_stdout = args.out == "-"
        partial = args.out if to_stdout else args.out + ".partial"
        stream = backup.open_for_writing(partial, args.out)
        ok = False
        try:
            writer = backup.Writer(stream, header)
            for tid in ids:
                stored = saver.dump_thread(tid)
                if stored:  # else deleted since it was found
                    writer.write_thread(tid, stored)
                progress.update(
                    f"{writer.threads} threads, {progress.rate(writer.threads)}"
                )
            writer.finish()
            ok = True
        finally:
            if not to_stdout:
                stream.close()
                if ok:
                    os.replace(partial, args.out)
                else:
                    os.unlink(partial)
    progress.done()
    file_bytes = None if to_stdout else os.path.getsize(args.out)
    data = {
        "file": args.out,
        "threads": writer.threads,
        "namespaces": writer.namespaces,
        "bytes": file_bytes,
        "format": backup.FORMAT,
        "version": backup.VERSION,
    }
    text = (
        f"exported {writer.threads} thread(s), {writer.namespaces} namespace(s) to "
        f"{args.out}" + ("" if file_bytes is None else f" ({size(file_bytes)})")
    )
    if to_stdout:
        print(text, file=sys.stderr)
    else:
        emit(args, data, [text])
    return EXIT_OK


def _same(a: list[StoredNamespace], b: list[StoredNamespace]) -> bool:
    """Whether two dumps hold the same checkpoints and writes (entries and
    rollback bases aside: they depend on the server's modules)."""
    return {s.checkpoint_ns: s.fields for s in a} == {
        s.checkpoint_ns: s.fields for s in b
    }


def run_import(args: argparse.Namespace) -> int:
    """Run ``import``."""
    try:
        stream = backup.open_for_reading(args.file)
    except OSError as exc:
        raise UsageError(f"cannot open {args.file}: {exc.strerror or exc}") from exc
    name = "stdin" if args.file == "-" else args.file
    restored = unchanged = 0
    skipped: list[str] = []
    progress = Progress("import")
    try:
        reader = backup.Reader(stream, name)  # a bad header: exit 2, nothing done
        with open_saver(args, ttl_minutes=args.ttl) as saver:
            saver.setup()
            try:
                for tid, namespaces in reader.threads():
                    current = list(saver.dump_thread(tid))
                    if current and _same(current, namespaces):
                        unchanged += 1
                    elif current and not args.replace:
                        skipped.append(tid)
                    else:
                        saver.restore_thread(tid, namespaces)
                        restored += 1
                    n = restored + unchanged + len(skipped)
                    progress.update(f"{n} threads, {progress.rate(n)}")
            except BackupFormatError as exc:
                progress.done()
                raise CommandError(
                    f"{exc}; {restored} thread(s) before it were restored"
                ) from exc
    finally:
        if args.file != "-":
            stream.close()
    progress.done()
    data = {
        "file": args.file,
        "restored": restored,
        "unchanged": unchanged,
        "skipped": skipped,
        "complete": reader.complete,
        "source_prefixes": [
            reader.header.checkpoint_prefix,
            reader.header.checkpoint_write_prefix,
        ],
    }
    lines = [
        f"imported {name}: {restored} thread(s) restored, {unchanged} already "
        f"identical, {len(skipped)} skipped"
    ]
    lines += [
        f"skipped thread {t!r}: it holds other data (--replace overwrites it)"
        for t in skipped
    ]
    if not reader.complete:
        lines.append(
            f"{name} ends without its end line: it is truncated; the threads "
            "before the cut were restored"
        )
    emit(args, data, lines)
    return EXIT_FAILED if skipped or not reader.complete else EXIT_OK
