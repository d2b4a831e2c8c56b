"""``stats`` and ``threads``: how much is stored, and which threads.

Both find threads through the saver's search index when the server has it
(only this saver's entries, newest checkpoint first) and by ``SCAN`` of the
registries otherwise (or with ``--scan``), in batches of ``--count`` keys
with ``--pause`` seconds between batches; the figures come from
:mod:`..inventory`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

from .. import inventory
from .._sync.saver import ShallowRedisSaver
from ._common import (
    EXIT_OK,
    Progress,
    UsageError,
    duration,
    emit,
    open_saver,
    positive_int,
    size,
)

__all__ = ["add_parser", "run_stats", "run_threads"]

MEASURE_BATCH = 200
"""Threads measured per pair of pipelined round trips."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--count",
        type=positive_int,
        default=1000,
        metavar="N",
        help="keys per SCAN call, entries per index page (default: %(default)s)",
    )
    p.add_argument(
        "--pause",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="sleep between two batches, to bound the load on a busy server "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--scan",
        action="store_true",
        help="find threads by SCAN even where the search index exists (also "
        "finds namespaces that hold pending writes but no checkpoint)",
    )


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``stats`` and ``threads``."""
    p = commands.add_parser(
        "stats",
        parents=parents,
        help="threads, namespaces, keys, bytes, TTLs",
        description="Count the saver's threads, namespaces, keys and bytes "
        "(MEMORY USAGE): the total, per thread the median, 99th percentile and "
        "the ten largest, and how many threads expire and when. Read-only.",
    )
    _scan_options(p)
    p.set_defaults(run=run_stats)

    p = commands.add_parser(
        "threads",
        parents=parents,
        help="list threads: checkpoint id, step, size, TTL",
        description="List threads with their checkpoint id, step, namespaces, "
        "size and TTL; newest first when the server has the search index, "
        "else in SCAN order. Read-only.",
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        default=100,
        metavar="N",
        help="at most N threads (default: %(default)s)",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only threads whose checkpoint metadata has KEY equal to VALUE "
        "(VALUE is JSON when it parses: step=3 is a number, source=loop or "
        "'user=\"42\"' a string); repeatable, all must match",
    )
    _scan_options(p)
    p.set_defaults(run=run_threads)


def _thread_ids(
    saver: ShallowRedisSaver,
    args: argparse.Namespace,
    progress: Progress,
    filter: dict[str, Any] | None = None,
) -> tuple[Iterator[str], str]:
    """Thread ids and how they are found (``"index"`` or ``"scan"``)."""
    client, keys = saver.client, saver.keys
    if not args.scan and inventory.has_index(client, keys):
        ids = inventory.index_thread_ids(
            client,
            keys,
            filter,
            count=args.count,
            pause=args.pause,
            progress=lambda n: progress.update(f"{n} index entries read"),
        )
        return ids, "index"
    ids = inventory.scan_thread_ids(
        client,
        keys,
        count=args.count,
        pause=args.pause,
        progress=lambda n: progress.update(f"~{n} keys scanned"),
    )
    return ids, "scan"


def _measured(
    saver: ShallowRedisSaver,
    ids: Iterator[str],
    args: argparse.Namespace,
    decode: bool,
) -> Iterator[inventory.ThreadInfo]:
    serde = saver.serde if decode else None
    for n, batch in enumerate(inventory.batched(ids, min(args.count, MEASURE_BATCH))):
        if n and args.pause:
            time.sleep(args.pause)
        yield from inventory.measure(saver.client, saver.keys, batch, serde)


def run_stats(args: argparse.Namespace) -> int:
    """Run ``stats``."""
    progress = Progress("stats")
    totals = inventory.Stats()
    with open_saver(args) as saver:
        ids, how = _thread_ids(saver, args, progress)
        for info in _measured(saver, ids, args, decode=False):
            totals.add(info)
            progress.update(f"{totals.threads} threads, {size(totals.bytes)}")
        index = saver.keys.index_name
    progress.done()
    data = totals.summary()
    data["found_by"] = how
    per = data["bytes_per_thread"]
    ttl = data["ttl"]
    found = (
        f"the search index {index!r}"
        if how == "index"
        else f"SCAN (COUNT {args.count}, pause {args.pause:g} s)"
    )
    lines = [
        f"threads      {data['threads']}",
        f"namespaces   {data['namespaces']}",
        f"keys         {data['keys']}",
        f"bytes        {size(data['bytes'])} ({data['bytes']} B, MEMORY USAGE)",
        f"per thread   median {size(per['median'])}, p99 {size(per['p99'])}, "
        f"max {size(per['max'])}",
    ]
    for i, row in enumerate(data["largest"]):
        head = "largest      " if i == 0 else "             "
        lines.append(f"{head}{size(row['bytes']):>10}  {row['thread_id']}")
    if ttl["threads_with_ttl"]:
        lines.append(
            f"TTL          {ttl['threads_with_ttl']} of {data['threads']} threads "
            f"expire: in {duration(ttl['min_s'])} (soonest), "
            f"{duration(ttl['median_s'])} (median), {duration(ttl['max_s'])} (latest)"
        )
    else:
        lines.append(f"TTL          none of {data['threads']} threads expires")
    lines.append(f"found by     {found}")
    emit(args, data, lines)
    return EXIT_OK


def _parse_filters(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--filter {item!r}: expected KEY=VALUE")
        out[key] = inventory.parse_filter_value(value)
    return out


def run_threads(args: argparse.Namespace) -> int:
    """Run ``threads``."""
    filter = _parse_filters(args.filter)
    progress = Progress("threads")
    rows: list[inventory.ThreadInfo] = []
    unchecked = 0
    with open_saver(args) as saver:
        ids, how = _thread_ids(saver, args, progress, filter)
        for info in _measured(saver, ids, args, decode=True):
            if not info.namespaces:
                continue  # deleted since it was found
            if filter and not inventory.thread_matches(info, filter):
                unchecked += any(ns.undecodable for ns in info.namespaces)
                continue
            rows.append(info)
            progress.update(f"{len(rows)} threads")
            if len(rows) >= args.limit:
                break
    progress.done()
    rows.sort(key=lambda info: info.newest, reverse=True)
    undecodable = sum(any(ns.undecodable for ns in r.namespaces) for r in rows)
    data = {
        "found_by": how,
        "threads": [
            {
                "thread_id": r.thread_id,
                "checkpoint_id": r.checkpoint_id,
                "step": r.step,
                "namespaces": len(r.namespaces),
                "bytes": r.bytes,
                "ttl_s": None if r.ttl_ms is None else round(r.ttl_ms / 1000, 1),
            }
            for r in rows
        ],
    }
    lines = []
    if rows:
        width = max(6, *(len(r.thread_id) for r in rows))
        lines.append(
            f"{'THREAD':<{width}}  {'CHECKPOINT':<36}  {'STEP':>5}  NS  "
            f"{'BYTES':>9}  TTL"
        )
        for r in rows:
            step = "?" if r.step is None else str(r.step)
            ttl = "-" if r.ttl_ms is None else duration(r.ttl_ms / 1000)
            lines.append(
                f"{r.thread_id:<{width}}  {r.checkpoint_id or '-':<36}  {step:>5}  "
                f"{len(r.namespaces):>2}  {size(r.bytes):>9}  {ttl}"
            )
    lines.append(
        f"{len(rows)} thread(s)"
        + (
            ", newest first (search index)"
            if how == "index"
            else ", found by SCAN: sorted by checkpoint id within what was found"
        )
    )
    if undecodable or unchecked:
        lines.append(
            f"{undecodable + unchecked} thread(s) have metadata the serde could not "
            "decode (step shown as ?, filters not checked): give --serde"
        )
    emit(args, data, lines)
    return EXIT_OK
