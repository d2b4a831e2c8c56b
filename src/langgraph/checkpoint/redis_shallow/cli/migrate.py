"""``migrate``: copy the threads of ``langgraph-checkpoint-redis`` 0.5.2 into ours.

The work (read, copy, verify, delete the source) is
:func:`..migration.migrate_threads`; this command opens the source and the
target, shows the progress and prints the summary. Errors and Ctrl-C go to
the single handler in :func:`.main` like every command's.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

import redis
from redis.exceptions import RedisError

from .. import migration
from .._sync.saver import ShallowRedisSaver
from ..errors import ShallowRedisError, UpstreamSourceError
from ..migration import Summary, migrate_threads
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    Interrupted,
    Progress,
    UsageError,
    emit,
    open_saver,
    positive_int,
    redact,
    size,
    url_of,
)

__all__ = ["Summary", "add_parser", "format_summary", "migrate_threads", "run"]

LOG_EVERY = 1000
"""Threads between two log lines when stderr is not a terminal."""


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``migrate`` and its options on the subparsers ``commands``
    (``parents`` bring the global options: ``--checkpoint-prefix`` and
    ``--checkpoint-write-prefix`` are the target saver's)."""
    p = commands.add_parser(
        "migrate",
        parents=parents,
        help="copy the threads of langgraph-checkpoint-redis 0.5.2 into this saver",
        description=(
            "Copy every thread stored by langgraph-checkpoint-redis 0.5.2 (its "
            "ShallowRedisSaver, AsyncShallowRedisSaver and RedisSaver: the "
            "latest checkpoint of each thread and namespace) into this "
            "package's saver. Nothing on the source changes unless "
            "--delete-source is given. Safe to run again after an interruption."
        ),
    )
    p.add_argument(
        "--from-upstream",
        required=True,
        metavar="SOURCE_URL",
        help="URL of the Redis holding the upstream data (redis://, rediss://, "
        "unix://); it needs RedisJSON, as upstream does",
    )
    p.add_argument(
        "--to",
        metavar="TARGET_URL",
        help="URL of the Redis to copy into (may be the same server); also "
        "redis+sentinel://host:port/service/db (default: the global --url)",
    )
    p.add_argument(
        "--upstream-checkpoint-prefix",
        default=migration.UpstreamPrefixes.checkpoint,
        help="checkpoint_prefix the upstream saver used (default: %(default)s)",
    )
    p.add_argument(
        "--upstream-checkpoint-write-prefix",
        default=migration.UpstreamPrefixes.write,
        help="checkpoint_write_prefix the upstream saver used (default: %(default)s)",
    )
    p.add_argument(
        "--thread-id",
        action="append",
        metavar="ID",
        help="migrate only this thread (repeatable); default: every thread",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="read and decode everything, write nothing, print the summary",
    )
    p.add_argument(
        "--delete-source",
        action="store_true",
        help="delete each thread's upstream keys once its copy is verified "
        "(read back and equal) and the source has not changed since it was read",
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="stop after N threads (run again to go on)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``migrate`` with parsed ``args``; the exit status."""
    prefixes = _prefixes(args)
    _require_upstream()
    target = args.to or url_of(args)
    with _open_source(args) as source, open_saver(args, url=target) as saver:
        _check_source(args, source)
        _check_target(args, saver, target)
        summary = _migrate(args, source, saver, prefixes)
    return EXIT_FAILED if summary.failures else EXIT_OK


def _prefixes(args: argparse.Namespace) -> migration.UpstreamPrefixes:
    """Upstream's prefixes; usage error if the target's are the same."""
    prefixes = migration.UpstreamPrefixes(
        args.upstream_checkpoint_prefix, args.upstream_checkpoint_write_prefix
    )
    ours = {args.checkpoint_prefix, args.checkpoint_write_prefix}
    if ours & {prefixes.checkpoint, prefixes.write}:
        raise UsageError(
            "the target prefixes must differ from upstream's "
            f"({prefixes.checkpoint!r}, {prefixes.write!r})"
        )
    return prefixes


def _require_upstream() -> None:
    """Usage error, before anything is touched, without upstream's package."""
    try:
        import langgraph.checkpoint.redis  # noqa: F401
    except ImportError:
        raise UsageError(
            f"reading upstream data needs the package {migration.UPSTREAM_PACKAGE}"
            f", which is not installed: pip install '{migration.UPSTREAM_PIN}'"
        ) from None


def _open_source(args: argparse.Namespace) -> redis.Redis:
    try:
        return redis.Redis.from_url(args.from_upstream)
    except ValueError as exc:
        raise UsageError(
            f"bad --from-upstream URL {redact(args.from_upstream)!r}: {exc}"
        ) from exc


def _check_source(args: argparse.Namespace, source: redis.Redis) -> None:
    """The source answers (else exit 1) and can hold upstream data (else 2)."""
    try:
        source.ping()
        migration.check_source(source)
    except UpstreamSourceError as exc:
        raise UsageError(str(exc)) from exc
    except RedisError as exc:
        raise CommandError(
            f"cannot reach the source {redact(args.from_upstream)}: {exc}"
        ) from exc


def _check_target(
    args: argparse.Namespace, saver: ShallowRedisSaver, target: str
) -> None:
    """The target answers and (unless a dry run) is set up; else exit 1."""
    try:
        saver.client.ping()
        if not args.dry_run:
            saver.setup()
    except (RedisError, ShallowRedisError) as exc:
        raise CommandError(f"cannot use the target {redact(target)}: {exc}") from exc


def _migrate(
    args: argparse.Namespace,
    source: redis.Redis,
    saver: ShallowRedisSaver,
    prefixes: migration.UpstreamPrefixes,
) -> Summary:
    """Run the migration and print its summary, also when Ctrl-C stops it."""
    summary = Summary()
    progress = Progress("migrate", log_every=LOG_EVERY)
    try:
        try:
            migrate_threads(
                source,
                None if args.dry_run else saver,
                prefixes,
                thread_ids=args.thread_id,
                delete_source=args.delete_source and not args.dry_run,
                limit=args.limit,
                progress=_progress_callback(progress),
                summary=summary,
            )
        finally:
            progress.done()
    except KeyboardInterrupt:
        _print_summary(args, summary)
        raise Interrupted("run the same command again to finish") from None
    except RedisError as exc:  # the source, while finding the threads
        raise CommandError(str(exc)) from exc
    _print_summary(args, summary)
    return summary


def _progress_callback(progress: Progress) -> migration.ProgressCallback:
    """``progress(done, total)`` for :func:`..migration.migrate_threads`."""

    def show(done: int, total: int) -> None:
        if done == 0:  # the threads are found: the rate counts from here
            progress.start = time.monotonic()
        else:
            progress.count(done, total)

    return show


def _print_summary(args: argparse.Namespace, summary: Summary) -> None:
    data = dataclasses.asdict(summary)
    data["failures"] = [
        {"thread_id": tid, "reason": why} for tid, why in summary.failures
    ]
    emit(args, data, [format_summary(summary)])


def format_summary(s: Summary) -> str:
    """The summary printed at the end of a run."""
    rate = s.threads_done / s.seconds if s.seconds > 0 else 0.0
    title = "migrate (dry run, nothing written)" if s.dry_run else "migrate"
    lines = [
        f"{title}: {s.threads_done} of {s.threads_total} threads in "
        f"{s.seconds:.1f} s ({rate:.0f} threads/s)",
    ]
    if not s.dry_run:
        lines.append(
            f"  threads           {s.threads_done} done: {s.threads_copied} "
            f"copied, {s.threads_already} already migrated; "
            f"{len(s.failures)} failed"
        )
    lines += [
        f"  namespaces        {s.namespaces}",
        f"  writes kept       {s.writes_kept}",
        f"  stale writes      {s.stale_dropped} dropped (writes of older "
        "checkpoints that upstream re-applies)",
        f"  older checkpoints {s.older_checkpoints} not copied (full RedisSaver "
        "history; a shallow saver keeps the latest)",
        f"  bytes before      {size(s.bytes_before)} (source keys of these "
        "threads, MEMORY USAGE)",
        "  bytes after       "
        + (
            "not measured (dry run)"
            if s.dry_run
            else f"{size(s.bytes_after)} (target keys, MEMORY USAGE)"
        ),
    ]
    if s.threads_deleted:
        lines.append(f"  source deleted    {s.threads_deleted} threads")
    if s.failures:
        lines.append(f"failures ({len(s.failures)}):")
        lines += [f"  thread {tid!r}: {why}" for tid, why in s.failures]
    return "\n".join(lines)
