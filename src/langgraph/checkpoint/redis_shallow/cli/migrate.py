"""``migrate``: copy the threads of ``langgraph-checkpoint-redis`` 0.5.2 into ours.

Reads upstream's keys on the source (see :mod:`..migration`), writes through
the public ``put`` and ``put_writes`` of our sync ``ShallowRedisSaver`` on the
target, reads every thread back with ``get_tuple`` and compares it with what
was read. A thread is done once it compares equal and its source did not
change meanwhile; only then, with ``--delete-source``, are its source keys
deleted. Runs are resumable: a thread already copied compares equal and is
not written again; a thread whose target holds a newer checkpoint (the
application went on with our saver) is never overwritten.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from redis.exceptions import RedisError

from .. import migration
from .._sync.saver import ShallowRedisSaver
from ..errors import InvalidConfigError, ShallowRedisError, UpstreamSourceError
from ._common import load_serde, redact, url_of

__all__ = ["Summary", "add_parser", "format_summary", "migrate_threads", "run"]

ATTEMPTS = 3
"""Reads of a thread that keeps changing on the source before it is reported."""

LOG_EVERY = 1000
"""Threads between two log lines when stderr is not a terminal."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called with ``done=0`` once the threads are
found, then after each thread."""


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
        type=_positive,
        metavar="N",
        help="stop after N threads (run again to go on)",
    )
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass
class Summary:
    """What a run did; :func:`format_summary` prints it."""

    threads_total: int = 0
    threads_done: int = 0
    threads_copied: int = 0
    threads_already: int = 0
    namespaces: int = 0
    writes_kept: int = 0
    stale_dropped: int = 0
    older_checkpoints: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    threads_deleted: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)


class _Mismatch(Exception):
    pass


class _TargetNewer(Exception):
    pass


def _same(a: Any, b: Any) -> bool:
    """Equal, or (for values without ``==``, like exceptions) same type and repr."""
    try:
        if a == b:
            return True
    except Exception:
        pass
    return type(a) is type(b) and repr(a) == repr(b)


def _task_map(writes: Sequence[Any]) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in writes:
        out.setdefault(task_id, []).append((channel, value))
    return out


def _compare(got: CheckpointTuple | None, ns: migration.NamespaceData) -> str | None:
    """Why ``got`` differs from what was read, or ``None`` if it does not."""
    if got is None:
        return "nothing stored"
    if got.checkpoint["id"] != ns.checkpoint["id"]:
        return f"checkpoint id {got.checkpoint['id']!r}"
    for key, value in ns.checkpoint.items():
        if not _same(got.checkpoint.get(key), value):
            return f"checkpoint field {key!r} differs"
    for key, value in ns.metadata.items():
        if not _same(got.metadata.get(key), value):
            return f"metadata field {key!r} differs"
    want = {t.task_id: t.writes for t in ns.tasks}
    have = _task_map(got.pending_writes or [])
    if set(want) != set(have):
        return "pending writes of other tasks"
    for task_id, writes in want.items():
        other = have[task_id]
        if len(other) != len(writes) or not all(
            c1 == c2 and _same(v1, v2)
            for (c1, v1), (c2, v2) in zip(other, writes, strict=True)
        ):
            return f"pending writes of task {task_id!r} differ"
    return None


def _config(thread_id: str, ns: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


def _copy(saver: ShallowRedisSaver, data: migration.ThreadData) -> bool:
    """Write the thread unless the target already holds it; whether it wrote."""
    existing = []
    for ns in data.namespaces:
        got = saver.get_tuple(_config(data.thread_id, ns.checkpoint_ns))
        if got is not None and got.checkpoint["id"] > ns.checkpoint["id"]:
            raise _TargetNewer(
                f"the target holds a newer checkpoint of namespace "
                f"{ns.checkpoint_ns!r} ({got.checkpoint['id']} > "
                f"{ns.checkpoint['id']}): the application went on with the "
                "new saver; not overwritten"
            )
        existing.append(got)
    wrote = False
    for ns, got in zip(data.namespaces, existing, strict=True):
        if _compare(got, ns) is None:
            continue
        # no checkpoint_id in the config: put never sees it as a stale write
        config = saver.put(
            _config(data.thread_id, ns.checkpoint_ns),
            ns.checkpoint,  # type: ignore[arg-type]
            ns.metadata,  # type: ignore[arg-type]
            dict(ns.checkpoint["channel_versions"]),
        )
        for task in ns.tasks:
            saver.put_writes(config, task.writes, task.task_id, task.task_path)
        wrote = True
    return wrote


def _verify(saver: ShallowRedisSaver, data: migration.ThreadData) -> None:
    for ns in data.namespaces:
        why = _compare(saver.get_tuple(_config(data.thread_id, ns.checkpoint_ns)), ns)
        if why is not None:
            raise _Mismatch(
                f"verification failed in namespace {ns.checkpoint_ns!r}: {why}"
            )


def _target_keys(saver: ShallowRedisSaver, data: migration.ThreadData) -> list[str]:
    keys: list[str] = []
    for ns in data.namespaces:
        hk, ek, rk = saver.keys.for_namespace(data.thread_id, ns.checkpoint_ns)
        keys += [hk, ek]
    if data.namespaces:
        keys.append(rk)
    return keys


def migrate_threads(
    source: redis.Redis,
    saver: ShallowRedisSaver | None,
    prefixes: migration.UpstreamPrefixes,
    *,
    thread_ids: Sequence[str] | None = None,
    delete_source: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Migrate the threads; ``saver=None`` is a dry run (nothing written).

    The source is read with upstream's default serde; the target saver
    writes with its own (``--serde``).

    ``progress(done, total)`` is called after each thread; an exception it
    raises stops the run there (what was done stays done, and a new run
    finishes the rest). Pass ``summary`` to keep what was counted when the
    run is stopped by an exception.
    """
    start = time.monotonic()
    if summary is None:
        summary = Summary()
    summary.dry_run = saver is None
    decoder = migration.load_decoder(source)
    threads = migration.discover(source, prefixes, thread_ids)
    for missing in dict.fromkeys(t for t in thread_ids or () if t not in threads):
        summary.failures.append((missing, "not found on the source"))
    names = list(threads)
    if limit is not None:
        names = names[:limit]
    summary.threads_total = len(names)
    if progress is not None:
        progress(0, len(names))
    try:
        for n, thread_id in enumerate(names, 1):
            _one(source, saver, decoder, prefixes, threads[thread_id], summary,
                 delete_source)  # fmt: skip
            if progress is not None:
                progress(n, len(names))
    finally:
        summary.seconds = time.monotonic() - start
    return summary


def _one(
    source: redis.Redis,
    saver: ShallowRedisSaver | None,
    decoder: migration.Decoder,
    prefixes: migration.UpstreamPrefixes,
    src: migration.ThreadSource,
    summary: Summary,
    delete_source: bool,
) -> None:
    reason = ""
    for _attempt in range(ATTEMPTS):
        try:
            data = migration.read_thread(source, decoder, prefixes, src)
            if saver is None:
                _count(summary, data, source, None, False)
                return
            wrote = _copy(saver, data)
            _verify(saver, data)
            if migration.fingerprint(source, prefixes, src) != data.fingerprint:
                raise UpstreamSourceError("the thread changed on the source")
            _count(summary, data, source, saver, wrote)
            if delete_source:
                migration.delete_source_keys(source, data.source_keys)
                summary.threads_deleted += 1
            return
        except UpstreamSourceError as exc:
            reason = f"changed on the source during the migration ({exc})"
            fresh = migration.discover(source, prefixes, [src.thread_id])
            if src.thread_id not in fresh:
                reason = "deleted on the source during the migration"
                break
            src = fresh[src.thread_id]
        except _TargetNewer as exc:
            reason = str(exc)
            break
        except _Mismatch as exc:
            reason = str(exc)
            break
        except Exception as exc:  # any other: this thread fails, the run goes on
            reason = f"{type(exc).__name__}: {exc}"
            break
    summary.failures.append((src.thread_id, reason))


def _count(
    summary: Summary,
    data: migration.ThreadData,
    source: redis.Redis,
    saver: ShallowRedisSaver | None,
    wrote: bool,
) -> None:
    summary.threads_done += 1
    if saver is not None:
        summary.threads_copied += wrote
        summary.threads_already += not wrote
        summary.bytes_after += migration.memory_usage(
            saver.client, _target_keys(saver, data)
        )
    summary.namespaces += len(data.namespaces)
    for ns in data.namespaces:
        summary.writes_kept += ns.writes_kept
        summary.stale_dropped += ns.stale_dropped
        summary.older_checkpoints += ns.older_checkpoints
    summary.bytes_before += migration.memory_usage(source, data.source_keys)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"  # pragma: no cover


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
        f"  bytes before      {_size(s.bytes_before)} (source keys of these "
        "threads, MEMORY USAGE)",
        "  bytes after       "
        + (
            "not measured (dry run)"
            if s.dry_run
            else f"{_size(s.bytes_after)} (target keys, MEMORY USAGE)"
        ),
    ]
    if s.threads_deleted:
        lines.append(f"  source deleted    {s.threads_deleted} threads")
    if s.failures:
        lines.append(f"failures ({len(s.failures)}):")
        lines += [f"  thread {tid!r}: {why}" for tid, why in s.failures]
    return "\n".join(lines)


def _progress_printer(stream: TextIO) -> Progress:
    start = time.monotonic()
    tty = stream.isatty()

    def show(done: int, total: int) -> None:
        nonlocal start
        if done == 0:  # the threads are found: the rate counts from here
            start = time.monotonic()
            return
        elapsed = max(time.monotonic() - start, 1e-9)
        rate = done / elapsed
        if tty:
            width = 30
            filled = width * done // max(total, 1)
            bar = "#" * filled + "." * (width - filled)
            end = "\n" if done == total else ""
            stream.write(f"\r[{bar}] {done}/{total} threads  {rate:.0f}/s{end}")
            stream.flush()
        elif done % LOG_EVERY == 0 or done == total:
            stream.write(
                f"migrate: {done}/{total} threads, {elapsed:.1f} s, "
                f"{rate:.0f} threads/s\n"
            )
            stream.flush()

    return show


def _usage(message: str) -> int:
    print(f"migrate: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``migrate`` with parsed ``args``; the exit status."""
    prefixes = migration.UpstreamPrefixes(
        args.upstream_checkpoint_prefix, args.upstream_checkpoint_write_prefix
    )
    ours = {args.checkpoint_prefix, args.checkpoint_write_prefix}
    if ours & {prefixes.checkpoint, prefixes.write}:
        return _usage(
            "the target prefixes must differ from upstream's "
            f"({prefixes.checkpoint!r}, {prefixes.write!r})"
        )
    try:
        import langgraph.checkpoint.redis  # noqa: F401
    except ImportError:
        return _usage(
            f"reading upstream data needs the package {migration.UPSTREAM_PACKAGE}"
            f", which is not installed: pip install '{migration.UPSTREAM_PIN}'"
        )
    try:
        source = redis.Redis.from_url(args.from_upstream)
    except ValueError as exc:
        return _usage(f"bad --from-upstream URL {redact(args.from_upstream)!r}: {exc}")
    serde = load_serde(args.serde)
    saver: ShallowRedisSaver | None = None
    target = args.to or url_of(args)
    try:
        try:
            saver = ShallowRedisSaver(
                target,
                checkpoint_prefix=args.checkpoint_prefix,
                checkpoint_write_prefix=args.checkpoint_write_prefix,
                serde=serde,
                wait_for_replicas=args.wait_for_replicas,
                wait_timeout=args.wait_timeout,
            )
        except InvalidConfigError as exc:
            return _usage(str(exc).replace(target, redact(target)))
        try:
            source.ping()
            migration.check_source(source)
        except UpstreamSourceError as exc:
            return _usage(str(exc))
        except RedisError as exc:
            print(
                "migrate: error: cannot reach the source "
                f"{redact(args.from_upstream)}: {exc}",
                file=sys.stderr,
            )
            return 1
        try:
            saver.client.ping()
            if not args.dry_run:
                saver.setup()
        except (RedisError, ShallowRedisError) as exc:
            print(
                f"migrate: error: cannot use the target {redact(target)}: {exc}",
                file=sys.stderr,
            )
            return 1
        summary = Summary()
        try:
            migrate_threads(
                source,
                None if args.dry_run else saver,
                prefixes,
                thread_ids=args.thread_id,
                delete_source=args.delete_source and not args.dry_run,
                limit=args.limit,
                progress=_progress_printer(sys.stderr),
                summary=summary,
            )
        except KeyboardInterrupt:
            print(format_summary(summary))
            print(
                "\nmigrate: interrupted; run the same command again to finish",
                file=sys.stderr,
            )
            return 1
        except RedisError as exc:
            print(f"\nmigrate: error: {exc}", file=sys.stderr)
            return 1
        print(format_summary(summary))
        return 1 if summary.failures else 0
    finally:
        source.close()
        if saver is not None:
            saver.close()
