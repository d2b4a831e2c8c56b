"""Migrating the data of ``langgraph-checkpoint-redis`` 0.5.2 ("upstream").

This module knows how upstream names and lays out its keys, which of its
pending writes belong to the checkpoint it would return, and how to turn its
stored documents into the values upstream itself returns. It reads the source
with a sync redis-py client and never writes there, except
:func:`delete_source_keys` (``delete_source=True``, the command line's
``--delete-source``). :func:`migrate_threads` copies what it reads through
the public ``put`` and ``put_writes`` of our sync ``ShallowRedisSaver``,
reads every thread back with ``get_tuple`` and compares it with what was
read. A thread is done once it compares equal and its source did not change
meanwhile; only then are its source keys deleted (if asked). Runs are
resumable: a thread already copied compares equal and is not written again;
a thread whose target holds a newer checkpoint (the application went on with
our saver) is never overwritten. A plain module: no printing, no exit
statuses; the ``migrate`` command (:mod:`.cli.migrate`) shows its progress
and summary.

Upstream's layout (prefixes ``CP``/``WP``, default ``checkpoint`` and
``checkpoint_write``; ``s(x)`` is upstream's "storage safe" form, which turns
an empty namespace into ``__empty__`` and an empty id into the nil UUID):

================================================  ========  ==================
key                                               type      written by
================================================  ========  ==================
``CP:{thread}:{ns}``                              JSON      both shallow
                                                            classes (the one
                                                            checkpoint of
                                                            (thread, ns))
``WP:{s(thread)}:{s(ns)}:{s(id)}:{task}:{idx}``   JSON      every class (one
                                                            pending write)
``write_registry:{thread}:{s(ns)}:shallow``       zset      sync shallow:
                                                            every write key
                                                            ever written
``write_keys_zset:{thread}:{s(ns)}:shallow``      zset      async shallow:
                                                            the same
``CP:{s(thread)}:{s(ns)}:{s(id)}``                JSON      full saver (every
                                                            checkpoint)
``CP_latest:{s(thread)}:{s(ns)}``                 string    full saver: key
                                                            of the latest
``write_keys_zset:{s(thread)}:{s(ns)}:{s(id)}``   zset      full saver: write
                                                            keys of one
                                                            checkpoint
================================================  ========  ==================

The registries carry no prefix. Keys are ambiguous (``:`` may occur in a
thread id or a namespace), so thread, namespace and checkpoint id are always
taken from the JSON documents, never parsed out of a key. The shallow
registries are never trimmed upstream: they hold the writes of every older
checkpoint, which upstream's ``get_tuple`` returns (and LangGraph re-applies)
with every later checkpoint. Only the writes whose ``checkpoint_id`` is the
stored checkpoint's are kept here; the others are counted as stale.

Values are decoded with upstream's own code (its serializer and its
channel-value reviver, imported lazily from ``langgraph.checkpoint.redis``),
so what is copied is what upstream's ``get_tuple`` returns, including the
changes upstream's JSON storage already made to some values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from redis.exceptions import ResponseError

from ._sync.saver import ShallowRedisSaver
from .errors import UpstreamMissingError, UpstreamSourceError
from .inventory import batched
from .keys import glob_escape

__all__ = [
    "ATTEMPTS",
    "UPSTREAM_PACKAGE",
    "UPSTREAM_PIN",
    "Decoder",
    "NamespaceData",
    "NamespaceSource",
    "ProgressCallback",
    "Summary",
    "TaskWrites",
    "ThreadData",
    "ThreadSource",
    "UpstreamPrefixes",
    "check_source",
    "delete_source_keys",
    "discover",
    "fingerprint",
    "load_decoder",
    "memory_usage",
    "migrate_threads",
    "read_thread",
]

UPSTREAM_PACKAGE = "langgraph-checkpoint-redis"
"""The distribution whose data this module reads."""

UPSTREAM_PIN = f"{UPSTREAM_PACKAGE}==0.5.2"
"""The version whose layout this module knows."""

EMPTY_NS = "__empty__"
"""Upstream's stored form of the empty namespace."""

EMPTY_ID = "00000000-0000-0000-0000-000000000000"
"""Upstream's stored form of an empty thread or checkpoint id."""

SYNC_REGISTRY = "write_registry"
"""Key prefix of the sync shallow saver's write registries (no saver prefix)."""

ASYNC_REGISTRY = "write_keys_zset"
"""Key prefix of the async shallow and the full saver's write registries."""

SCAN_COUNT = 1000
"""``COUNT`` of each ``SCAN`` call."""

BATCH = 500
"""Commands per pipeline when reading or deleting many keys."""

FEW_THREADS = 100
"""Up to this many ``--thread-id``s, discovery scans their keys only."""

ATTEMPTS = 3
"""Reads of a thread that keeps changing on the source before it is reported."""


@dataclass(frozen=True)
class UpstreamPrefixes:
    """Upstream's ``checkpoint_prefix`` and ``checkpoint_write_prefix``."""

    checkpoint: str = "checkpoint"
    write: str = "checkpoint_write"


def _safe_str(value: str) -> str:
    return EMPTY_NS if value == "" else value


def _safe_id(value: str) -> str:
    return EMPTY_ID if value == "" else value


def _from_safe_str(value: str) -> str:
    return "" if value == EMPTY_NS else value


def _from_safe_id(value: str) -> str:
    return "" if value == EMPTY_ID else value


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- checking the source ----------------------------------------------------


def check_source(client: redis.Redis) -> None:
    """Raise :class:`~.errors.UpstreamSourceError` unless the server has RedisJSON.

    Upstream stores every checkpoint and write as a RedisJSON document; a
    server without the module cannot hold upstream data (nor be read).
    """
    try:
        modules = client.module_list()
    except ResponseError as exc:
        raise UpstreamSourceError(
            f"cannot list the source server's modules ({exc}); the source must "
            "be a Redis with RedisJSON and RediSearch, as langgraph-checkpoint-"
            "redis requires"
        ) from exc
    names = {_text(m.get(b"name", m.get("name", b""))).lower() for m in modules}
    if not names & {"rejson", "redisjson", "json"}:
        raise UpstreamSourceError(
            "the source server has no RedisJSON module (its modules: "
            f"{sorted(names) or 'none'}): langgraph-checkpoint-redis stores its "
            "checkpoints as JSON documents and needs RedisJSON and RediSearch "
            "(Redis 8, or Redis Stack), so there is no upstream data to read "
            "there. Point --from-upstream at the server the application used."
        )


# -- the decoder (upstream's own code) --------------------------------------


class Decoder:
    """Turns upstream's stored documents into the values upstream returns.

    Wraps an instance of upstream's sync ``ShallowRedisSaver`` bound to the
    source client, only to call its decoding methods (its serializer, its
    channel-value reviver and its checkpoint loader); it sends nothing but
    the ``CLIENT SETINFO`` upstream sends on construction.
    """

    def __init__(self, saver: Any, base: Any) -> None:
        self._saver = saver
        self._base = base

    def checkpoint(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The checkpoint upstream's ``get_tuple`` returns for ``doc``.

        ``pending_sends`` is empty, as upstream's shallow savers return it
        (its full saver fills it from the parent checkpoint's sends, which
        LangGraph reads only from checkpoints of format 3 and older; such a
        checkpoint would have to be resumed on upstream first).
        """
        raw = doc.get("checkpoint", {})
        if isinstance(raw, str):
            raw = json.loads(raw)
        values = self._saver._deserialize_channel_values(raw.get("channel_values", {}))
        return dict(self._saver._load_checkpoint(json.dumps(raw), values, []))

    @staticmethod
    def metadata(doc: Mapping[str, Any]) -> dict[str, Any]:
        """The metadata upstream's ``get_tuple`` returns for ``doc``."""
        raw = doc.get("metadata", {})
        if isinstance(raw, str):
            raw = json.loads(raw)
        return {
            k.replace("\u0000", ""): (
                v.replace("\u0000", "") if isinstance(v, str) else v
            )
            for k, v in raw.items()
        }

    def write_value(self, write: Mapping[str, Any]) -> Any:
        """The value of one stored pending write, as upstream returns it."""
        blob = self._base._decode_blob_static(write["blob"])
        return self._saver.serde.loads_typed((write["type"], blob))


def load_decoder(client: redis.Redis) -> Decoder:
    """Import upstream lazily and build a :class:`Decoder` on ``client``.

    Raises:
        UpstreamMissingError: the package is not installed (the message says
            which one and how to install it).
    """
    try:
        from langgraph.checkpoint.redis.base import BaseRedisSaver
        from langgraph.checkpoint.redis.shallow import ShallowRedisSaver
    except ImportError as exc:
        raise UpstreamMissingError(
            f"reading upstream data needs the package {UPSTREAM_PACKAGE} "
            f"(its serializer decodes the stored values): "
            f"pip install '{UPSTREAM_PIN}' ({exc})"
        ) from exc
    return Decoder(ShallowRedisSaver(redis_client=client), BaseRedisSaver)


# -- discovery ---------------------------------------------------------------


@dataclass
class NamespaceSource:
    """Where the checkpoint of one (thread, namespace) lives upstream."""

    checkpoint_ns: str
    kind: str  # "shallow" or "full"
    doc_key: str
    checkpoint_id: str
    older: list[tuple[str, str]] = field(default_factory=list)
    """Full saver only: (key, checkpoint id) of its older checkpoints."""


@dataclass
class ThreadSource:
    """Every namespace of one upstream thread."""

    thread_id: str
    namespaces: dict[str, NamespaceSource] = field(default_factory=dict)


def _scan(client: redis.Redis, pattern: str) -> Iterator[str]:
    for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        yield _text(key)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def discover(
    client: redis.Redis,
    prefixes: UpstreamPrefixes,
    thread_ids: Iterable[str] | None = None,
) -> dict[str, ThreadSource]:
    """Every upstream thread under ``prefixes``, by thread id (sorted).

    Reads the identifying fields of every ``CP:*`` document (``SCAN`` with
    ``COUNT``, then pipelined ``JSON.GET`` of four paths) and the full
    saver's latest-checkpoint pointers. A shallow document is the checkpoint
    of its (thread, ns); for the full saver the pointer names the latest one
    and the others are kept only to be deleted with ``--delete-source``. If
    both kinds hold the same (thread, ns), the newer checkpoint id wins.
    """
    wanted = None if thread_ids is None else set(thread_ids)
    cp = prefixes.checkpoint
    if wanted is not None and len(wanted) <= FEW_THREADS:
        # a few threads: scan only the keys that can be theirs
        doc_patterns = {
            glob_escape(f"{cp}:{t}:") + "*" for w in wanted for t in {w, _safe_id(w)}
        }
        pointer_patterns = {
            glob_escape(f"{cp}_latest:{_safe_id(w)}:") + "*" for w in wanted
        }
    else:
        doc_patterns = {glob_escape(cp + ":") + "*"}
        pointer_patterns = {glob_escape(cp + "_latest:") + "*"}
    doc_keys = list(
        dict.fromkeys(k for pattern in doc_patterns for k in _scan(client, pattern))
    )
    pointers = list(
        dict.fromkeys(k for pattern in pointer_patterns for k in _scan(client, pattern))
    )
    latest: set[str] = set()
    for batch in batched(pointers, BATCH):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.get(key)
        latest.update(_text(v) for v in pipe.execute() if v is not None)

    threads: dict[str, ThreadSource] = {}
    older: dict[tuple[str, str], list[tuple[str, str]]] = {}
    paths = ("$.thread_id", "$.checkpoint_ns", "$.checkpoint_id", "$.has_writes")
    for batch in batched(doc_keys, BATCH):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.json().get(key, *paths)
        for key, raw in zip(batch, pipe.execute(raise_on_error=False), strict=True):
            if raw is None or isinstance(raw, Exception):
                continue  # not a JSON document, or gone since the scan
            fields = cast(dict[str, Any], raw)
            thread = _first(fields.get("$.thread_id"))
            ns = _first(fields.get("$.checkpoint_ns"))
            cid = _first(fields.get("$.checkpoint_id"))
            if not isinstance(thread, str) or not isinstance(cid, str):
                continue
            full = bool(fields.get("$.has_writes"))
            thread = _from_safe_id(thread) if full else thread
            ns = _from_safe_str(ns if isinstance(ns, str) else "")
            if wanted is not None and thread not in wanted:
                continue
            if full and key not in latest:
                older.setdefault((thread, ns), []).append((key, _from_safe_id(cid)))
                continue
            src = NamespaceSource(
                ns, "full" if full else "shallow", key, _from_safe_id(cid)
            )
            entry = threads.setdefault(thread, ThreadSource(thread))
            have = entry.namespaces.get(ns)
            if have is None or src.checkpoint_id > have.checkpoint_id:
                entry.namespaces[ns] = src
    for (thread, ns), keys in older.items():
        entry = threads.setdefault(thread, ThreadSource(thread))
        if ns in entry.namespaces:
            entry.namespaces[ns].older.extend(keys)
    # a thread known only by older full-saver checkpoints (pointer gone) has
    # no latest checkpoint: nothing upstream's get_tuple would return
    return {t: threads[t] for t in sorted(threads) if threads[t].namespaces}


# -- reading one thread -------------------------------------------------------


@dataclass
class TaskWrites:
    """The pending writes of one task, in upstream's order within the task."""

    task_id: str
    task_path: str
    writes: list[tuple[str, Any]]


@dataclass
class NamespaceData:
    """The decoded checkpoint of one (thread, ns) and its own pending writes."""

    checkpoint_ns: str
    kind: str
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    tasks: list[TaskWrites]
    writes_kept: int
    stale_dropped: int
    older_checkpoints: int


@dataclass
class ThreadData:
    """Everything read of one thread: decoded namespaces and its source keys."""

    thread_id: str
    namespaces: list[NamespaceData]
    source_keys: list[str]
    fingerprint: tuple[Any, ...]


def _full_registry(thread_id: str, ns: str, checkpoint_id: str) -> str:
    return ":".join(
        (ASYNC_REGISTRY, _safe_id(thread_id), _safe_str(ns), _safe_id(checkpoint_id))
    )


def _registries(thread_id: str, ns: NamespaceSource) -> list[str]:
    if ns.kind == "full":
        return [_full_registry(thread_id, ns.checkpoint_ns, ns.checkpoint_id)]
    safe_ns = _safe_str(ns.checkpoint_ns)
    return [
        f"{SYNC_REGISTRY}:{thread_id}:{safe_ns}:shallow",
        f"{ASYNC_REGISTRY}:{thread_id}:{safe_ns}:shallow",
    ]


def _write_prefix(
    prefixes: UpstreamPrefixes, thread_id: str, ns: str, checkpoint_id: str
) -> str:
    return ":".join(
        (prefixes.write, _safe_id(thread_id), _safe_str(ns), _safe_id(checkpoint_id))
    )


def _latest_key(prefixes: UpstreamPrefixes, thread_id: str, ns: str) -> str:
    return f"{prefixes.checkpoint}_latest:{_safe_id(thread_id)}:{_safe_str(ns)}"


def _is_own_write(key: str, prefix: str) -> bool:
    """Whether ``key`` may be a write of the checkpoint whose write keys start
    with ``prefix`` (the document's own fields decide, once read)."""
    return key.startswith(prefix + ":")


def _idx_order(write: Mapping[str, Any]) -> tuple[int, int]:
    idx = int(write.get("idx", 0))
    # regular writes (idx >= 0) in their order, then the special channels
    return (1, -idx) if idx < 0 else (0, idx)


def read_thread(
    client: redis.Redis,
    decoder: Decoder,
    prefixes: UpstreamPrefixes,
    source: ThreadSource,
) -> ThreadData:
    """Read and decode every namespace of one thread.

    Three pipelined round trips: the checkpoint documents with the write
    registries, then every registered write document, then (full saver
    without a registry only) a ``SCAN`` of the checkpoint's write keys.
    """
    tid = source.thread_id
    spaces = list(source.namespaces.values())
    heads = _read_heads(client, prefixes, tid, spaces)
    replies = _read_own_writes(client, prefixes, tid, spaces, heads.members)
    result: list[NamespaceData] = []
    for ns, doc, found in zip(spaces, heads.docs, heads.members, strict=True):
        result.append(_namespace_data(decoder, prefixes, tid, ns, doc, found, replies))
        heads.keys.extend(found)
    return ThreadData(
        tid,
        result,
        list(dict.fromkeys(heads.keys)),
        _fingerprint_of(spaces, heads.registered),
    )


@dataclass
class _Heads:
    """What :func:`read_thread`'s first round trip found, by namespace."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    """The checkpoint documents."""
    members: list[list[str]] = field(default_factory=list)
    """The write keys registered (or, full saver without a registry, found)."""
    registered: list[int] = field(default_factory=list)
    """How many write keys were registered (the fingerprint's count)."""
    keys: list[str] = field(default_factory=list)
    """The thread's source keys found so far (deleted with the thread)."""


def _read_heads(
    client: redis.Redis,
    prefixes: UpstreamPrefixes,
    tid: str,
    spaces: Sequence[NamespaceSource],
) -> _Heads:
    """The checkpoint documents and write registries of every namespace, and
    the registries of the full saver's older checkpoints (one round trip)."""
    pipe = client.pipeline(transaction=False)
    for ns in spaces:
        pipe.json().get(ns.doc_key)
        for reg in _registries(tid, ns):
            pipe.zrange(reg, 0, -1)
    for ns in spaces:
        for _key, cid in ns.older:
            pipe.zrange(_full_registry(tid, ns.checkpoint_ns, cid), 0, -1)
    replies = iter(pipe.execute())
    heads = _Heads()
    for ns in spaces:
        _add_head(client, prefixes, tid, ns, replies, heads)
    for ns in spaces:
        for key, cid in ns.older:
            # older checkpoints of the full saver: deleted with the thread
            heads.keys.append(key)
            heads.keys.append(_full_registry(tid, ns.checkpoint_ns, cid))
            heads.keys.extend(_text(k) for k in next(replies))
    return heads


def _add_head(
    client: redis.Redis,
    prefixes: UpstreamPrefixes,
    tid: str,
    ns: NamespaceSource,
    replies: Iterator[Any],
    heads: _Heads,
) -> None:
    """Take one namespace's document and registries from ``replies``."""
    raw = next(replies)
    if raw is None:
        raise UpstreamSourceError(
            f"checkpoint {ns.doc_key!r} vanished while reading (the thread "
            "changed on the source)"
        )
    doc = cast(dict[str, Any], raw)
    found: list[str] = []
    for reg in _registries(tid, ns):
        regkeys = [_text(k) for k in next(replies)]
        if regkeys:
            heads.keys.append(reg)
        found.extend(k for k in regkeys if k not in found)
    heads.registered.append(len(found))
    if ns.kind == "full" and not found and doc.get("has_writes"):
        # a full saver set up without its key registry: find the writes
        # of this one checkpoint by their key prefix (upstream searches)
        own = _write_prefix(prefixes, tid, ns.checkpoint_ns, ns.checkpoint_id)
        found = sorted(_scan(client, glob_escape(own + ":") + "*"))
    heads.docs.append(doc)
    heads.members.append(found)
    heads.keys.append(ns.doc_key)
    if ns.kind == "full":
        heads.keys.append(_latest_key(prefixes, tid, ns.checkpoint_ns))


def _read_own_writes(
    client: redis.Redis,
    prefixes: UpstreamPrefixes,
    tid: str,
    spaces: Sequence[NamespaceSource],
    members: Sequence[list[str]],
) -> Iterator[Any]:
    """The documents of the write keys that may be the checkpoints' own, in
    the order of ``members`` (one round trip)."""
    pipe = client.pipeline(transaction=False)
    for ns, found in zip(spaces, members, strict=True):
        own = _write_prefix(prefixes, tid, ns.checkpoint_ns, ns.checkpoint_id)
        for key in found:
            if _is_own_write(key, own):
                pipe.json().get(key)
    return iter(pipe.execute())


def _namespace_data(
    decoder: Decoder,
    prefixes: UpstreamPrefixes,
    tid: str,
    ns: NamespaceSource,
    doc: dict[str, Any],
    found: list[str],
    replies: Iterator[Any],
) -> NamespaceData:
    """Decode one namespace: its checkpoint and the writes of ``found`` that
    belong to it (their documents taken from ``replies``)."""
    if doc.get("checkpoint_id") != _safe_id(ns.checkpoint_id) and (
        doc.get("checkpoint_id") != ns.checkpoint_id
    ):
        raise UpstreamSourceError(
            f"checkpoint of namespace {ns.checkpoint_ns!r} changed while "
            "reading (the thread changed on the source)"
        )
    own = _write_prefix(prefixes, tid, ns.checkpoint_ns, ns.checkpoint_id)
    writes: list[dict[str, Any]] = []
    stale = 0
    for key in found:
        if not _is_own_write(key, own):
            stale += 1
            continue
        raw = next(replies)
        if raw is None:
            continue  # expired or deleted: upstream would not return it
        write = cast(dict[str, Any], raw)
        if _belongs(write, ns):
            writes.append(write)
        else:
            stale += 1
    return NamespaceData(
        checkpoint_ns=ns.checkpoint_ns,
        kind=ns.kind,
        checkpoint=decoder.checkpoint(doc),
        metadata=decoder.metadata(doc),
        tasks=_group(decoder, writes),
        writes_kept=len(writes),
        stale_dropped=stale,
        older_checkpoints=len(ns.older),
    )


def _belongs(write: Mapping[str, Any], ns: NamespaceSource) -> bool:
    """Whether a write document's own fields name ``ns``'s checkpoint."""
    ids = (ns.checkpoint_id, _safe_id(ns.checkpoint_id))
    write_ns = _from_safe_str(str(write.get("checkpoint_ns", "")))
    return write.get("checkpoint_id") in ids and write_ns == ns.checkpoint_ns


def _group(decoder: Decoder, writes: list[dict[str, Any]]) -> list[TaskWrites]:
    by_task: dict[str, list[dict[str, Any]]] = {}
    for write in writes:
        by_task.setdefault(str(write.get("task_id", "")), []).append(write)
    tasks = []
    for task_id, items in by_task.items():
        items.sort(key=_idx_order)
        paths = {str(w.get("task_path", "")) for w in items}
        tasks.append(
            TaskWrites(
                task_id,
                max(paths, key=len) if paths else "",
                [(str(w["channel"]), decoder.write_value(w)) for w in items],
            )
        )
    tasks.sort(key=lambda t: (t.task_path, t.task_id))
    return tasks


def _fingerprint_of(
    spaces: Sequence[NamespaceSource], registered: Sequence[int]
) -> tuple[Any, ...]:
    return tuple(
        (ns.checkpoint_ns, ns.checkpoint_id, count)
        for ns, count in zip(spaces, registered, strict=True)
    )


def fingerprint(
    client: redis.Redis, prefixes: UpstreamPrefixes, source: ThreadSource
) -> tuple[Any, ...]:
    """What identifies the thread's state now (one pipelined round trip).

    Equal to :attr:`ThreadData.fingerprint` while nobody has written to the
    thread since it was read: the checkpoint id of each namespace and the
    number of its registered writes (a full saver set up without its key
    registry registers none: there only the checkpoint id is compared). A
    new namespace created meanwhile is not seen here (it is found by the
    next run's discovery).
    """
    tid = source.thread_id
    spaces = list(source.namespaces.values())
    pipe = client.pipeline(transaction=False)
    for ns in spaces:
        if ns.kind == "full":
            pipe.get(_latest_key(prefixes, tid, ns.checkpoint_ns))
        else:
            pipe.json().get(ns.doc_key, "$.checkpoint_id")
        for reg in _registries(tid, ns):
            pipe.zrange(reg, 0, -1)
    replies = iter(pipe.execute())
    out = []
    for ns in spaces:
        head = next(replies)
        if ns.kind == "full":
            cid = (
                ns.checkpoint_id
                if head is not None and _text(head) == ns.doc_key
                else None
            )
        else:
            ids = head if isinstance(head, list) else []
            cid = _from_safe_id(ids[0]) if ids else None
        found: list[str] = []
        for _reg in _registries(tid, ns):
            for k in next(replies):
                text = _text(k)
                if text not in found:
                    found.append(text)
        out.append((ns.checkpoint_ns, cid, len(found)))
    return tuple(out)


# -- sizes and deletion -------------------------------------------------------


def memory_usage(client: redis.Redis | redis.RedisCluster, keys: Sequence[str]) -> int:
    """Bytes the server uses for ``keys`` (``MEMORY USAGE ... SAMPLES 0``:
    every field counted; pipelined)."""
    total = 0
    for batch in batched(keys, BATCH):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        total += sum(int(v) for v in pipe.execute() if v is not None)
    return total


def delete_source_keys(client: redis.Redis, keys: Sequence[str]) -> int:
    """Delete ``keys`` (``UNLINK``, in batches); the number deleted."""
    done = 0
    for batch in batched(dict.fromkeys(keys), BATCH):
        done += client.unlink(*batch)
    return done


# -- migrating into our saver -------------------------------------------------


ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: called with ``done=0`` once the threads are
found, then after each thread."""


@dataclass
class Summary:
    """What a run of :func:`migrate_threads` did."""

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
    """(thread id, why) of every thread that was not migrated."""


def migrate_threads(
    source: redis.Redis,
    saver: ShallowRedisSaver | None,
    prefixes: UpstreamPrefixes,
    *,
    thread_ids: Sequence[str] | None = None,
    delete_source: bool = False,
    limit: int | None = None,
    progress: ProgressCallback | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Migrate the threads; ``saver=None`` is a dry run (nothing written).

    The source is read with upstream's default serde; the target saver
    writes with its own. A thread that fails (it keeps changing on the
    source, its target holds a newer checkpoint, its copy does not compare
    equal, any other error) is recorded in :attr:`Summary.failures` and the
    run goes on.

    ``progress(done, total)`` is called after each thread; an exception it
    raises stops the run there (what was done stays done, and a new run
    finishes the rest). Pass ``summary`` to keep what was counted when the
    run is stopped by an exception (Ctrl-C).
    """
    start = time.monotonic()
    if summary is None:
        summary = Summary()
    summary.dry_run = saver is None
    run = _Run(source, saver, load_decoder(source), prefixes, summary, delete_source)
    threads = discover(source, prefixes, thread_ids)
    for missing in dict.fromkeys(t for t in thread_ids or () if t not in threads):
        summary.failures.append((missing, "not found on the source"))
    names = list(threads)[:limit] if limit is not None else list(threads)
    summary.threads_total = len(names)
    if progress is not None:
        progress(0, len(names))
    try:
        for n, thread_id in enumerate(names, 1):
            _migrate_thread(run, threads[thread_id])
            if progress is not None:
                progress(n, len(names))
    finally:
        summary.seconds = time.monotonic() - start
    return summary


@dataclass
class _Run:
    """What every thread of one :func:`migrate_threads` run shares."""

    source: redis.Redis
    saver: ShallowRedisSaver | None
    decoder: Decoder
    prefixes: UpstreamPrefixes
    summary: Summary
    delete_source: bool


class _Mismatch(Exception):
    """The copy read back differs from what was read."""


class _TargetNewer(Exception):
    """The target holds a newer checkpoint: the thread is not overwritten."""


def _migrate_thread(run: _Run, src: ThreadSource) -> None:
    """Migrate one thread, reading it again (up to :data:`ATTEMPTS` reads)
    while it changes on the source; a failure goes to the summary."""
    reason = ""
    for _attempt in range(ATTEMPTS):
        try:
            _migrate_once(run, src)
            return
        except UpstreamSourceError as exc:
            reason = f"changed on the source during the migration ({exc})"
            fresh = discover(run.source, run.prefixes, [src.thread_id])
            if src.thread_id not in fresh:
                reason = "deleted on the source during the migration"
                break
            src = fresh[src.thread_id]
        except (_TargetNewer, _Mismatch) as exc:
            reason = str(exc)
            break
        except Exception as exc:  # any other: this thread fails, the run goes on
            reason = f"{type(exc).__name__}: {exc}"
            break
    run.summary.failures.append((src.thread_id, reason))


def _migrate_once(run: _Run, src: ThreadSource) -> None:
    """Read, copy, verify and (if asked) delete one thread; raises
    :class:`~.errors.UpstreamSourceError` if it changed on the source."""
    data = read_thread(run.source, run.decoder, run.prefixes, src)
    if run.saver is None:
        _count(run, data, False)
        return
    wrote = _copy(run.saver, data)
    _verify(run.saver, data)
    if fingerprint(run.source, run.prefixes, src) != data.fingerprint:
        raise UpstreamSourceError("the thread changed on the source")
    _count(run, data, wrote)
    if run.delete_source:
        delete_source_keys(run.source, data.source_keys)
        run.summary.threads_deleted += 1


def _config(thread_id: str, ns: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


def _copy(saver: ShallowRedisSaver, data: ThreadData) -> bool:
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


def _verify(saver: ShallowRedisSaver, data: ThreadData) -> None:
    for ns in data.namespaces:
        why = _compare(saver.get_tuple(_config(data.thread_id, ns.checkpoint_ns)), ns)
        if why is not None:
            raise _Mismatch(
                f"verification failed in namespace {ns.checkpoint_ns!r}: {why}"
            )


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


def _compare(got: CheckpointTuple | None, ns: NamespaceData) -> str | None:
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


def _target_keys(saver: ShallowRedisSaver, data: ThreadData) -> list[str]:
    keys: list[str] = []
    for ns in data.namespaces:
        hk, ek, rk = saver.keys.for_namespace(data.thread_id, ns.checkpoint_ns)
        keys += [hk, ek]
    if data.namespaces:
        keys.append(rk)
    return keys


def _count(run: _Run, data: ThreadData, wrote: bool) -> None:
    summary = run.summary
    summary.threads_done += 1
    if run.saver is not None:
        summary.threads_copied += wrote
        summary.threads_already += not wrote
        summary.bytes_after += memory_usage(
            run.saver.client, _target_keys(run.saver, data)
        )
    summary.namespaces += len(data.namespaces)
    for ns in data.namespaces:
        summary.writes_kept += ns.writes_kept
        summary.stale_dropped += ns.stale_dropped
        summary.older_checkpoints += ns.older_checkpoints
    summary.bytes_before += memory_usage(run.source, data.source_keys)
