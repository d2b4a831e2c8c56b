"""What a saver's data amounts to: finding its threads, measuring them, figures.

Used by the ``stats`` and ``threads`` commands of the command line. Threads
are found either by ``SCAN`` over the registries (``CP:{T}`` sets, see
:mod:`.keys`; works on any server, finds every thread, visits the whole
keyspace), or through the search index (only this saver's entries, newest
checkpoint first; finds the namespaces that hold a checkpoint). Both go in
batches of ``count`` keys with an optional pause between batches, so a scan
of a busy production server can be kept gentle.

Sizes are ``MEMORY USAGE ... SAMPLES 0`` (bytes the server uses for a key,
every field counted, not estimated from a sample; overhead
included); a thread's TTL is that of its registry, which every write of any
of its namespaces refreshes. This module reads with a sync redis-py client
and never writes.
"""

from __future__ import annotations

import heapq
import math
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.exceptions import NoPermissionError, ResponseError

from .keys import BASE_SUFFIX, HISTORY_SUFFIX, Keys, decode_namespace
from .search import filter_tokens, newest_first, query_string
from .serialization import load_typed

__all__ = [
    "NamespaceInfo",
    "Stats",
    "ThreadInfo",
    "batched",
    "has_index",
    "index_thread_ids",
    "measure",
    "parse_filter_value",
    "percentile",
    "scan_thread_ids",
    "thread_matches",
]

Client = redis.Redis | redis.RedisCluster
Progress = Callable[[int], None]
"""``progress(n)``: called after each batch with the number of keys (SCAN)
or entries (index) visited so far."""


def _pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def scan_thread_ids(
    client: Client,
    keys: Keys,
    *,
    count: int = 1000,
    pause: float = 0.0,
    progress: Progress | None = None,
) -> Iterator[str]:
    """Every thread id, by ``SCAN MATCH CP:{*} TYPE set COUNT count``.

    Each thread once per pass of the cursor (Redis's guarantee: a key
    present for the whole scan is returned at least once; duplicates are
    dropped here). ``pause`` seconds are slept between ``SCAN`` calls.
    """
    seen: set[str] = set()
    visited = 0
    for found in _scan_batches(client, keys.registry_pattern(), count, pause):
        visited += count
        for key in found:
            tid = keys.split_registry(key)
            if tid not in seen:
                seen.add(tid)
                yield tid
        if progress is not None:
            progress(visited)


def _scan_batches(
    client: Client, match: str, count: int, pause: float
) -> Iterator[list[Any]]:
    cursor: Any = 0
    first = True
    while first or cursor != 0:
        if not first:
            _pause(pause)
        first = False
        cursor, found = client.scan(cursor, match=match, count=count, _type="set")
        yield list(found)


def has_index(client: Client, keys: Keys) -> bool:
    """Whether the server has this saver's search index (``FT.INFO``).

    A server without Search or without the index gives ``False``; a user
    the server does not allow ``FT.INFO`` raises ``NoPermissionError``.
    """
    try:
        cast(Any, client).execute_command("FT.INFO", keys.index_name)
    except NoPermissionError:
        raise
    except ResponseError:
        return False
    return True


def index_thread_ids(
    client: Client,
    keys: Keys,
    filter: Mapping[str, Any] | None = None,
    *,
    count: int = 1000,
    pause: float = 0.0,
    progress: Progress | None = None,
) -> Iterator[str]:
    """Thread ids through the search index, the newest checkpoint first.

    With ``filter``, only threads with a namespace whose scalar metadata
    tokens match (check :func:`thread_matches` on the real metadata after).
    Pages of ``count`` entries, ``pause`` seconds apart.
    """
    query = query_string(filter_tokens(dict(filter or {})))
    seen: set[str] = set()
    offset = 0
    while True:
        if offset:
            _pause(pause)
        docs = (
            client.ft(keys.index_name).search(newest_first(query, offset, count)).docs
        )
        for doc in docs:
            tid, _ = keys.split_entry(doc.id)
            if tid not in seen:
                seen.add(tid)
                yield tid
        offset += len(docs)
        if progress is not None:
            progress(offset)
        if len(docs) < count:
            return


@dataclass
class NamespaceInfo:
    """One namespace of a thread, measured."""

    checkpoint_ns: str
    checkpoint_id: str | None
    bytes: int
    keys: int
    metadata: dict[str, Any] | None = None
    """The decoded metadata; ``None`` when absent or not decodable."""
    undecodable: str | None = None
    """Why the metadata could not be decoded, if it could not."""


@dataclass
class ThreadInfo:
    """One thread, measured: its namespaces, keys, bytes and TTL."""

    thread_id: str
    namespaces: list[NamespaceInfo]
    keys: int
    bytes: int
    ttl_ms: int | None
    """Milliseconds until the thread's registry expires; ``None``: never."""

    @property
    def main(self) -> NamespaceInfo | None:
        """The root namespace (``""``), else the one with the newest checkpoint."""
        for ns in self.namespaces:
            if ns.checkpoint_ns == "" and ns.checkpoint_id is not None:
                return ns
        with_id = [ns for ns in self.namespaces if ns.checkpoint_id is not None]
        return max(with_id, key=lambda ns: ns.checkpoint_id or "", default=None)

    @property
    def checkpoint_id(self) -> str | None:
        """The checkpoint id of :attr:`main`."""
        main = self.main
        return None if main is None else main.checkpoint_id

    @property
    def step(self) -> Any:
        """The ``step`` metadata of :attr:`main` (``None`` if unknown)."""
        main = self.main
        return (
            None if main is None or main.metadata is None else main.metadata.get("step")
        )

    @property
    def newest(self) -> str:
        """The newest checkpoint id of any namespace (``""`` if none)."""
        return max((ns.checkpoint_id or "" for ns in self.namespaces), default="")


def measure(
    client: Client,
    keys: Keys,
    thread_ids: Sequence[str],
    serde: SerializerProtocol | None = None,
) -> list[ThreadInfo]:
    """Measure threads (two pipelined round trips for the whole batch).

    With ``serde``, each namespace's metadata is decoded too (for ``step``
    and filters); a value it cannot decode is recorded, not raised. A thread
    that does not exist comes back with no namespaces and no keys.
    """
    pipe = client.pipeline(transaction=False)
    for tid in thread_ids:
        pipe.smembers(keys.registry(tid))
        pipe.pttl(keys.registry(tid))
        pipe.memory_usage(keys.registry(tid), samples=0)
    first = pipe.execute()
    members = [sorted(first[i * 3]) for i in range(len(thread_ids))]
    pipe = client.pipeline(transaction=False)
    for tid, mems in zip(thread_ids, members, strict=True):
        for m in mems:
            hk = keys.namespace_key_prefix(tid) + m.decode()
            for key in (
                hk,
                keys.entry_key_prefix(tid) + m.decode(),
                hk + BASE_SUFFIX,
                hk + HISTORY_SUFFIX,
            ):
                pipe.memory_usage(key, samples=0)
            pipe.hmget(hk, ["id", "meta"])
    second = iter(pipe.execute())
    out = []
    for i, (tid, mems) in enumerate(zip(thread_ids, members, strict=True)):
        ttl = int(first[i * 3 + 1])
        reg_bytes = first[i * 3 + 2]
        namespaces = []
        for m in mems:
            sizes = [next(second) for _ in range(4)]
            raw_id, raw_meta = next(second)
            info = NamespaceInfo(
                checkpoint_ns=decode_namespace(m),
                checkpoint_id=None
                if raw_id is None
                else raw_id.decode("utf-8", "surrogatepass"),
                bytes=sum(int(s) for s in sizes if s is not None),
                keys=sum(s is not None for s in sizes),
            )
            if serde is not None and raw_meta is not None:
                try:
                    meta = load_typed(serde, raw_meta)
                except Exception as exc:  # the serde may raise anything
                    info.undecodable = f"{type(exc).__name__}: {exc}"
                else:
                    if isinstance(meta, dict):
                        info.metadata = meta
            namespaces.append(info)
        out.append(
            ThreadInfo(
                thread_id=tid,
                namespaces=namespaces,
                keys=sum(ns.keys for ns in namespaces) + (reg_bytes is not None),
                bytes=sum(ns.bytes for ns in namespaces) + int(reg_bytes or 0),
                ttl_ms=ttl if ttl >= 0 else None,
            )
        )
    return out


def parse_filter_value(text: str) -> Any:
    """A ``--filter key=value`` value: JSON when it parses (``3``, ``true``,
    ``null``, ``"3"``), else the text itself."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def thread_matches(info: ThreadInfo, filter: Mapping[str, Any]) -> bool:
    """Whether a namespace of the thread has metadata equal to ``filter``
    on every key (as ``list(filter=...)`` compares)."""
    return any(
        ns.metadata is not None
        and all(ns.metadata.get(k) == v for k, v in filter.items())
        for ns in info.namespaces
    )


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """The ``p``-th percentile (nearest rank) of ascending values; 0 if none."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Stats:
    """Totals over threads, fed one :class:`ThreadInfo` at a time."""

    threads: int = 0
    namespaces: int = 0
    keys: int = 0
    bytes: int = 0
    sizes: list[int] = field(default_factory=list)
    largest: list[tuple[int, str]] = field(default_factory=list)
    ttls_ms: list[int] = field(default_factory=list)
    top: int = 10

    def add(self, info: ThreadInfo) -> None:
        """Count one thread."""
        if not info.namespaces and not info.keys:
            return  # gone between finding and measuring it
        self.threads += 1
        self.namespaces += len(info.namespaces)
        self.keys += info.keys
        self.bytes += info.bytes
        self.sizes.append(info.bytes)
        if len(self.largest) < self.top:
            heapq.heappush(self.largest, (info.bytes, info.thread_id))
        else:
            heapq.heappushpop(self.largest, (info.bytes, info.thread_id))
        if info.ttl_ms is not None:
            self.ttls_ms.append(info.ttl_ms)

    def summary(self) -> dict[str, Any]:
        """The figures, as a JSON-ready dict (sizes in bytes, TTLs in seconds)."""
        sizes = sorted(self.sizes)
        ttls = sorted(self.ttls_ms)
        return {
            "threads": self.threads,
            "namespaces": self.namespaces,
            "keys": self.keys,
            "bytes": self.bytes,
            "bytes_per_thread": {
                "median": int(statistics.median(sizes)) if sizes else 0,
                "p99": percentile(sizes, 99),
                "max": sizes[-1] if sizes else 0,
            },
            "largest": [
                {"thread_id": tid, "bytes": size}
                for size, tid in sorted(self.largest, key=lambda x: (-x[0], x[1]))
            ],
            "ttl": {
                "threads_with_ttl": len(ttls),
                "threads_without_ttl": self.threads - len(ttls),
                "min_s": _seconds(ttls[0]) if ttls else None,
                "median_s": _seconds(int(statistics.median(ttls))) if ttls else None,
                "max_s": _seconds(ttls[-1]) if ttls else None,
            },
        }


def _seconds(ms: int) -> float:
    return round(ms / 1000, 1)


def batched(items: Iterable[str], n: int) -> Iterator[list[str]]:
    """``items`` in lists of ``n``."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch
