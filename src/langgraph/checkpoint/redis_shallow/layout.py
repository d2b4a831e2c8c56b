"""The storage layout: which fields the Redis hashes hold, built and read back.

This module turns a LangGraph ``put`` / ``put_writes`` into the arguments of
one Lua script call, and the reply of one read back into a
``CheckpointTuple``. It does no I/O, so the async and the sync saver share it.

Namespace hash ``CP:{T}:NS`` (see :mod:`.keys`), the checkpoint's fields:

- ``id``: the checkpoint id;
- ``parent`` (only with ``keep_last`` above 1): the id of the checkpoint it
  was made from, while that one is in the history window (``parent_config``
  names it);
- ``cp``: typed blob of the checkpoint without its ``channel_values``;
- ``meta``: typed blob of the metadata;
- ``v:<len>:<channel>:<version>``: typed blob of one channel value, one field
  per entry of ``channel_versions``. ``put`` sends only the channels in
  ``new_versions`` (as ``InMemorySaver`` does) and the script checks that the
  others are already there, so unchanged values are never serialized again.
- ``run`` and ``solo`` (only with Search): the same as the search entry's
  fields below, kept with the checkpoint so that the scripts still know
  which run wrote it when the entry was evicted (``maxmemory``).

and, in the same hash, one field per pending write,
``<len(checkpoint_id)>:<checkpoint_id><task_id>\\x00<idx>``, holding a write
record (:func:`.serialization.pack_write`: task path, channel, typed blob).
A write's field starts with a digit and a checkpoint field with a letter,
so the two never collide. The length prefix makes the field name injective
and lets the scripts find a write's checkpoint id by a plain prefix test.

and, for ``DeltaChannel`` s only, their history since their last snapshot
(docs/design.md, "Delta channels"; the channel's key ``<k>`` is
``<bytes>:<name>``, see :func:`delta_key`):

- ``dh<k>``: the checkpoint id the seed comes from (empty: no seed);
- ``ds<k>``: typed blob of the seed, the value that checkpoint stored;
- ``dw<k>:<write field>``: a write to the channel of an ancestor older than
  the stored checkpoint's parent (the parent's writes stay as they are).

The ``put`` script keeps them (:data:`.scripts.PUT`);
:func:`read_delta_history` reads them.

Search entry ``WP:{T}:NS``: ``id`` (the checkpoint id), ``mt``, equality
tokens of the metadata (space-separated hex digests) for the index, ``run``,
the token of the checkpoint's ``run_id``, and ``solo``: that token when every
checkpoint the namespace held since it was created was written by that run,
else empty (``delete_for_runs`` deletes only such namespaces).

History window ``CP:{T}:NS:hist`` (only with ``keep_last`` K above 1): the
K - 1 checkpoints before the stored one (the K newest by id, forks
included). For each, by its id ``<id>``:

- ``c:<id>``, ``m:<id>``: its body and metadata, as ``cp`` and ``meta``;

plus the value fields (``v:...``) that only these checkpoints refer to (a
value lives in the namespace hash while the stored checkpoint refers to it,
else here, once however many checkpoints share it), their pending writes
(same field names as in the namespace hash), and the index ``w``: for each
checkpoint, newest first, its id, its parent's id (empty once the parent has
left the window), the value fields it refers to and its write fields, each
as ``<bytes>:<text>`` (the two lists packed the same way inside), so that a
``put`` finds what to keep and drop without going through every field.
:data:`.scripts.PUT` keeps it; :func:`history_fields` reads one checkpoint
of it back.

Rollback base ``CP:{T}:NS:base`` (only with Search): the namespace hash as it
was when a run started writing over another run's checkpoint, plus that
checkpoint's entry fields as ``e:run``, ``e:mt``, ``e:solo``;
``delete_for_runs`` restores it (docs/design.md, "delete_for_runs").

The layout has a version, :data:`LAYOUT_VERSION`, stored on the server
(``CP:layout``, see :mod:`.keys`); docs/design.md says when it changes.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from .caches import SeedCache
from .compression import Compression
from .errors import InvalidConfigError, StaleCheckpointError
from .keys import decode_namespace, encode_namespace
from .search import metadata_tokens, run_token

if TYPE_CHECKING:
    from langgraph.checkpoint.base import DeltaChannelHistory
from .serialization import EMPTY_BLOB, dump_typed, load_typed, pack_write, unpack_write

__all__ = [
    "LAYOUT_VERSION",
    "TOMBSTONE_TTL_MS",
    "PutPlan",
    "RawNamespace",
    "StoredNamespace",
    "build_delta_import",
    "build_put",
    "build_writes",
    "delta_channels",
    "delta_key",
    "entry_fields",
    "has_delta_fields",
    "hset_args",
    "layout_problem",
    "listed",
    "make_config",
    "next_version",
    "read_delta_history",
    "read_tuple",
    "retarget",
    "split_fields",
    "superseded",
    "tombstone_ttl_ms",
    "upgrades_in_place",
    "value_field",
    "writes_prefix",
]

ID = b"id"
PARENT = b"parent"
CHECKPOINT = b"cp"
METADATA = b"meta"
ENTRY_TOKENS = b"mt"
RUN = b"run"
"""Field of the search entry and the namespace hash: the run token of the
stored checkpoint (the scripts spell it ``'run'``)."""
SOLO = b"solo"
"""Field of the search entry and the namespace hash: the run token while
every checkpoint of the namespace came from that one run, else empty (the
scripts spell it ``'solo'``)."""
DELTA_SEED_ID = b"dh"
DELTA_SEED = b"ds"
DELTA_WRITE = b"dw"

LAYOUT_VERSION = 3
"""Version of the storage layout this module reads and writes (see the
module docstring and :mod:`.keys`). Bumped by any change that an older
package could misread; docs/design.md ("Layout versions") has the rule.
Version 2 added the delta history fields (``dh``, ``ds``, ``dw``) and
compressed values (:mod:`.compression`); version 3 the history window
(the ``:hist`` hash and the ``parent`` field)."""

TOMBSTONE_TTL_MS = 3_600_000
"""How long a thread's tombstone (:meth:`.keys.Keys.tombstone`) outlives
the last deletion that wrote it: one hour. Late writes of a deleted thread
come from a run that was still writing (a cancelled run finishing its step,
a retry): seconds, or a slow node's minutes. One hour covers them with room,
while the memory stays bounded: one short string per thread deleted in the
last hour (docs/design.md, "Deleted threads stay deleted"). A saver with
a shorter ``ttl`` uses that (:func:`tombstone_ttl_ms`)."""


def tombstone_ttl_ms(ttl_ms: int) -> int:
    """The tombstone's lifetime for a saver whose keys live ``ttl_ms`` (0:
    no expiry): a thread written again would expire by then anyway."""
    return min(ttl_ms, TOMBSTONE_TTL_MS) if ttl_ms > 0 else TOMBSTONE_TTL_MS


UPGRADES_IN_PLACE = ("1", "2")
"""Layout versions whose data is valid data of :data:`LAYOUT_VERSION` as
it is (versions 2 and 3 only added keys, fields and a form of value that
the versions before never wrote): the saver records the new version over
them instead of refusing."""


def upgrades_in_place(found: bytes | str | None) -> bool:
    """Whether a layout version found on the server is one of
    :data:`UPGRADES_IN_PLACE`."""
    if isinstance(found, bytes):
        found = found.decode("utf-8", "replace")
    return found in UPGRADES_IN_PLACE


def layout_problem(found: bytes | str | None, key: str) -> str | None:
    """Why a layout version found on the server cannot be used, or ``None``."""
    if found is None:
        return None
    text = found.decode("utf-8", "replace") if isinstance(found, bytes) else found
    if text == str(LAYOUT_VERSION) or text in UPGRADES_IN_PLACE:
        return None
    where = f"the keys this saver would use ({key!r} says layout {text!r})"
    if text.isdigit() and int(text) > LAYOUT_VERSION:
        return (
            f"{where} were written by a newer langgraph-checkpoint-redis-shallow "
            f"in storage layout {text}; this version reads layout "
            f"{LAYOUT_VERSION} only. Upgrade the package "
            "(pip install -U langgraph-checkpoint-redis-shallow) or use other "
            "prefixes. Nothing was written."
        )
    return (
        f"{where} are in storage layout {text}, which this version (layout "
        f"{LAYOUT_VERSION}) cannot read and has no migration for. Use the "
        "package version that wrote them, or other prefixes. Nothing was "
        "written."
    )


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of any ``str``, lone surrogates included."""
    return text.encode("utf-8", "surrogatepass")


def value_field(channel: str, version: object) -> bytes:
    """Hash field of one channel value at one version."""
    return _utf8(f"v:{len(channel)}:{channel}:{version}")


def value_field_prefix(channel: str) -> bytes:
    """Common prefix of the value fields of one channel (any version)."""
    return _utf8(f"v:{len(channel)}:{channel}:")


def delta_key(channel: str) -> bytes:
    """The channel's part of its delta fields' names: ``<bytes>:<name>``,
    as the Lua scripts build it (length in UTF-8 bytes)."""
    raw = _utf8(channel)
    return b"%d:%s" % (len(raw), raw)


def writes_prefix(checkpoint_id: str) -> bytes:
    """Common prefix of the write fields of one checkpoint id.

    The length is in UTF-8 bytes, as the Lua scripts count it.
    """
    raw = _utf8(checkpoint_id)
    return b"%d:%s" % (len(raw), raw)


def next_version(current: object, forks: bool = False) -> int | float | str:
    """The channel version after ``current``, in ``current``'s own form.

    LangGraph compares versions with ``>`` across one checkpoint, so a
    checkpoint must keep one form. ``None`` (a new channel) and ``int``
    give ``int`` (this saver's own form, see docs/design.md); a ``str`` is
    the form of ``InMemorySaver`` and the Postgres and upstream Redis savers,
    ``"<32-digit counter>.<random fraction>"``, whose counter is incremented
    and whose padding keeps the string order equal to the numeric one.

    ``forks=True`` (a saver that keeps a history window, where a checkpoint
    can have several children) gives numbers a random fraction too: the
    next counter plus a fraction in [0, 1) (``3.5718...``), still above
    ``current`` and comparable with ``int`` versions, so that two forks
    never store different values under one version.
    """
    if current is None:
        return 1 + random.random() if forks else 1
    if isinstance(current, bool):
        raise InvalidConfigError(f"channel version {current!r} is not a version")
    if isinstance(current, (int, float)):
        if forks:
            return math.floor(current) + 1 + random.random()
        return current + 1
    if isinstance(current, str):
        head = current.split(".", 1)[0]
        if not head.isascii() or not head.isdigit():
            raise InvalidConfigError(
                f"channel version {current!r} is neither an int nor a string "
                "of the form '<counter>.<fraction>' that LangGraph's savers use"
            )
        return f"{int(head) + 1:032}.{random.random():016}"
    raise InvalidConfigError(
        f"channel version {current!r} is of type {type(current).__name__}; "
        "expected int, float or str"
    )


def make_config(
    thread_id: str, checkpoint_ns: str, checkpoint_id: str
) -> RunnableConfig:
    """The config that addresses one stored checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _check_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint's id, after checking the checkpoint's shape."""
    if not isinstance(checkpoint, Mapping):
        raise InvalidConfigError(
            f"put: checkpoint must be a dict, got {type(checkpoint).__name__}"
        )
    checkpoint_id = checkpoint.get("id")
    if not isinstance(checkpoint_id, str) or not checkpoint_id:
        raise InvalidConfigError(
            f"put: checkpoint['id'] must be a non-empty str, got {checkpoint_id!r}"
        )
    for key in ("channel_values", "channel_versions"):
        if not isinstance(checkpoint.get(key), Mapping):
            raise InvalidConfigError(f"put: checkpoint[{key!r}] must be a dict")
    return checkpoint_id


def delta_channels(checkpoint: Checkpoint, metadata: Mapping[str, Any]) -> list[str]:
    """The ``DeltaChannel`` s whose value at ``checkpoint`` LangGraph rebuilds
    from their history (:func:`read_delta_history`).

    They are the channels LangGraph counts in the metadata's
    ``counters_since_delta_snapshot`` (every delta channel that was not
    snapshotted by this very checkpoint) that have a version but no value in
    ``channel_values``, exactly the channels LangGraph asks history for.
    """
    counters = metadata.get("counters_since_delta_snapshot") or {}
    if not isinstance(counters, Mapping):
        return []
    values = checkpoint["channel_values"]
    versions = checkpoint["channel_versions"]
    return sorted(
        c for c in counters if isinstance(c, str) and c in versions and c not in values
    )


class PutPlan:
    """Everything ``put`` sends in its one script call."""

    __slots__ = ("args", "checkpoint_id")

    def __init__(self, checkpoint_id: str, args: list[str | bytes | int]) -> None:
        self.checkpoint_id = checkpoint_id
        self.args = args


def build_put(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    parent_id: str | None,
    ns_member: str,
    ttl_ms: int | None,
    search_entry: bool = True,
    compression: Compression | None = None,
    keep_last: int = 1,
) -> PutPlan:
    """Serialize a ``put`` into the ARGV of the put script.

    ``search_entry=False`` (a server without Search) writes no search entry
    and skips computing the metadata tokens. ``compression`` applies to the
    channel values; the checkpoint and the metadata are stored plain (they
    are small and do not grow with the thread).

    ARGV: ttl_ms, ns member, keep-prefix of the new checkpoint's writes,
    keep-prefix of the parent's writes (or ``""``), the entry flag, the
    metadata tokens, the run token, ``keep_last``, the number of required value fields,
    those fields, the number of delta channels (:func:`delta_channels`) and
    for each its name, the prefix of its value fields, its value field in
    this checkpoint and ``s`` (sent, empty) or ``r`` (required: the script
    looks whether the stored value is empty), then field/value pairs to set.
    """
    checkpoint_id = _check_checkpoint(checkpoint)
    values = checkpoint["channel_values"]
    required: list[str | bytes | int] = []
    pairs: list[str | bytes | int] = []
    for channel, version in checkpoint["channel_versions"].items():
        field = value_field(channel, version)
        if channel in new_versions:
            pairs.append(field)
            pairs.append(
                dump_typed(serde, values[channel], f"channel {channel!r}", compression)
                if channel in values
                else EMPTY_BLOB
            )
        else:
            required.append(field)
    deltas: list[str | bytes | int] = []
    for channel in delta_channels(checkpoint, metadata):
        version = checkpoint["channel_versions"][channel]
        deltas += [
            _utf8(channel),
            value_field_prefix(channel),
            value_field(channel, version),
            b"s" if channel in new_versions else b"r",
        ]
    body = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    meta = get_checkpoint_metadata(config, metadata)
    pairs += [
        ID, _utf8(checkpoint_id),
        CHECKPOINT, dump_typed(serde, body, "the checkpoint"),
        METADATA, dump_typed(serde, meta, "the metadata"),
    ]  # fmt: skip
    if keep_last > 1 and parent_id:
        pairs += [PARENT, _utf8(parent_id)]
    args: list[str | bytes | int] = [
        ttl_ms or 0,
        ns_member,
        writes_prefix(checkpoint_id),
        writes_prefix(parent_id) if parent_id else b"",
        b"1" if search_entry else b"",
        metadata_tokens(meta).encode() if search_entry else b"",
        run_token(meta).encode() if search_entry else b"",
        keep_last,
        len(required),
        *required,
        len(deltas) // 4,
        *deltas,
        *pairs,
    ]
    return PutPlan(checkpoint_id, args)


def build_writes(
    serde: SerializerProtocol,
    checkpoint_id: str,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
    compression: Compression | None = None,
) -> list[bytes]:
    """Serialize ``put_writes`` into (mode, field, record) triples, each
    value compressed per ``compression``.

    Mode ``n`` inserts if absent (regular writes); ``s`` overwrites (the
    special channels of ``WRITES_IDX_MAP``), as ``InMemorySaver`` does.
    """
    prefix = writes_prefix(checkpoint_id)
    out: list[bytes] = []
    for i, (channel, value) in enumerate(writes):
        special = WRITES_IDX_MAP.get(channel)
        idx = i if special is None else special
        blob = dump_typed(
            serde, value, f"the write to channel {channel!r}", compression
        )
        out.append(b"n" if special is None else b"s")
        out.append(b"%s%s\x00%d" % (prefix, _utf8(task_id), idx))
        out.append(pack_write(task_path, channel, blob))
    return out


def hash_fields(
    reply: Sequence[bytes] | Mapping[bytes, bytes],
) -> Mapping[bytes, bytes]:
    """A hash's fields from an ``HGETALL`` reply: a flat field/value list
    (inside a script's reply), or the dict redis-py makes of it (returned as
    it is). :func:`hset_args` is the inverse."""
    if isinstance(reply, Mapping):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


def superseded(checkpoint_id: str, stored_id: str) -> bool:
    """Whether ``checkpoint_id`` is a LangGraph checkpoint id older than the
    stored one: a time-ordered UUID (version 6, as LangGraph makes them)
    that sorts before it. Such an id was this namespace's checkpoint once (or
    an ancestor's); any other id (a random UUID, a later one) is unknown."""
    try:
        parsed = uuid.UUID(checkpoint_id)
    except ValueError:
        return False
    return parsed.version == 6 and checkpoint_id < stored_id


def read_tuple(
    serde: SerializerProtocol,
    thread_id: str,
    checkpoint_ns: str,
    fields: Sequence[bytes] | Mapping[bytes, bytes],
    checkpoint_id: str | None = None,
    *,
    refuse_superseded: bool = False,
) -> CheckpointTuple | None:
    """Build the tuple from a namespace hash, or ``None`` if it holds no
    checkpoint (or not the one ``checkpoint_id`` asks for).

    With ``refuse_superseded``, a ``checkpoint_id`` that the stored
    checkpoint superseded raises :class:`.errors.StaleCheckpointError`
    instead (see :func:`superseded`).
    """
    cp = hash_fields(fields)
    raw_id = cp.get(ID)
    if raw_id is None:
        return None
    stored_id = raw_id.decode("utf-8", "surrogatepass")
    if checkpoint_id is not None and checkpoint_id != stored_id:
        if refuse_superseded and superseded(checkpoint_id, stored_id):
            raise StaleCheckpointError(
                thread_id, checkpoint_ns, checkpoint_id, stored_id
            )
        return None
    checkpoint: Checkpoint = load_typed(serde, cp[CHECKPOINT])
    channel_values: dict[str, Any] = {}
    for channel, version in checkpoint["channel_versions"].items():
        blob = cp.get(value_field(channel, version))
        if blob is not None and blob != EMPTY_BLOB:
            channel_values[channel] = load_typed(serde, blob)
    checkpoint["channel_values"] = channel_values
    prefix = writes_prefix(stored_id)
    skip = len(prefix)
    found = []
    for field, record in cp.items():
        if field.startswith(prefix):
            task, _, idx = field[skip:].rpartition(b"\x00")
            path, channel, blob = unpack_write(record)
            task_id = task.decode("utf-8", "surrogatepass")
            found.append((path, task_id, int(idx), channel, blob))
    found.sort(key=lambda w: w[:3])
    parent = cp.get(PARENT)
    return CheckpointTuple(
        config=make_config(thread_id, checkpoint_ns, stored_id),
        checkpoint=checkpoint,
        metadata=load_typed(serde, cp[METADATA]),
        parent_config=None
        if parent is None
        else make_config(
            thread_id, checkpoint_ns, parent.decode("utf-8", "surrogatepass")
        ),
        pending_writes=[
            (task_id, ch, load_typed(serde, blob)) for _, task_id, _, ch, blob in found
        ],
    )


HISTORY_INDEX = b"w"
"""Field of the history hash that indexes its checkpoints (module doc)."""


def _unpacked(packed: bytes) -> list[bytes]:
    """The items of a ``<bytes>:<item>...`` list (the history index's)."""
    out, i = [], 0
    while i < len(packed):
        colon = packed.index(b":", i)
        n = int(packed[i:colon])
        out.append(packed[colon + 1 : colon + 1 + n])
        i = colon + 1 + n
    return out


def history_index(history: Mapping[bytes, bytes]) -> list[tuple[bytes, ...]]:
    """The history's checkpoints as ``(id, parent id or b"", value fields
    packed, write fields packed)``, newest first."""
    items = _unpacked(history.get(HISTORY_INDEX, b""))
    return [tuple(items[i : i + 4]) for i in range(0, len(items), 4)]


def history_ids(history: Mapping[bytes, bytes]) -> list[str]:
    """The ids of the checkpoints a history hash holds, newest first."""
    return [e[0].decode("utf-8", "surrogatepass") for e in history_index(history)]


def history_fields(
    fields: Mapping[bytes, bytes], history: Mapping[bytes, bytes], checkpoint_id: str
) -> dict[bytes, bytes]:
    """One checkpoint of the history window as the namespace hash would hold
    it (for :func:`read_tuple`), from the namespace hash and the history
    hash; empty if the history does not hold it. The Lua twin is
    :data:`.scripts.READ_CHECKPOINT`."""
    raw = _utf8(checkpoint_id)
    entry = next((e for e in history_index(history) if e[0] == raw), None)
    if entry is None:
        return {}
    _, parent, refs, writes = entry
    out = {ID: raw, CHECKPOINT: history[b"c:" + raw], METADATA: history[b"m:" + raw]}
    if parent:
        out[PARENT] = parent
    for field in _unpacked(refs):
        value = history.get(field, fields.get(field))
        if value is not None:
            out[field] = value
    for field in _unpacked(writes):
        out[field] = history[field]
    return out


def window_tuples(
    serde: SerializerProtocol,
    thread_id: str,
    checkpoint_ns: str,
    fields: Mapping[bytes, bytes],
    history: Mapping[bytes, bytes],
) -> list[CheckpointTuple]:
    """Every checkpoint of a namespace's window, newest first: the stored
    one (from its hash) and those of its history hash."""
    found = []
    newest = read_tuple(serde, thread_id, checkpoint_ns, fields)
    if newest is None:
        return []
    found.append(newest)
    for checkpoint_id in history_ids(history):
        tup = read_tuple(
            serde,
            thread_id,
            checkpoint_ns,
            history_fields(fields, history, checkpoint_id),
        )
        if tup is not None:
            found.append(tup)
    found.sort(key=lambda t: t.checkpoint["id"], reverse=True)
    return found


def retarget(
    serde: SerializerProtocol,
    fields: Sequence[bytes],
    entry: Sequence[bytes],
    thread_id: str,
) -> tuple[list[bytes], list[bytes]]:
    """A namespace hash and its search entry (flat field/value lists) as
    they must be stored for a copy in thread ``thread_id``.

    The metadata's ``thread_id``, when it has one, names the copy (as the
    LangGraph server's own thread copy does), and the entry's metadata
    tokens follow; every other field is copied byte for byte. The same
    holds for a history hash (its metadata fields ``m:<id>``; no entry).
    """
    out = list(fields)
    new_meta: Any = None
    for i in range(0, len(out), 2):
        if out[i] == METADATA or out[i].startswith(b"m:"):
            meta = load_typed(serde, out[i + 1])
            if isinstance(meta, dict) and "thread_id" in meta:
                meta["thread_id"] = thread_id
                out[i + 1] = dump_typed(serde, meta, "the metadata")
                new_meta = meta
    new_entry = list(entry)
    if new_meta is not None:
        for i in range(0, len(new_entry), 2):
            if new_entry[i] == ENTRY_TOKENS:
                new_entry[i + 1] = metadata_tokens(new_meta).encode()
    return out, new_entry


def listed(
    tup: CheckpointTuple, wanted: Mapping[str, Any], before_id: str | None
) -> bool:
    """``InMemorySaver``'s ``list`` tests: metadata equality and ``before``."""
    if before_id is not None and tup.checkpoint["id"] >= before_id:
        return False
    metadata: Mapping[str, Any] = tup.metadata
    return all(metadata.get(k) == v for k, v in wanted.items())


def _split_write_field(field: bytes) -> tuple[bytes, bytes, int] | None:
    """``(checkpoint id, task id, idx)`` of a write field, or ``None`` for a
    field that is not one."""
    head, sep, rest = field.partition(b":")
    if not sep or not head.isdigit():
        return None
    n = int(head)
    task, _, idx = rest[n:].rpartition(b"\x00")
    return rest[:n], task, int(idx)


def has_delta_fields(fields: Mapping[bytes, bytes]) -> bool:
    """Whether a namespace hash holds delta history (fields ``d...``)."""
    return any(f[:1] == b"d" for f in fields)


def read_delta_history(
    serde: SerializerProtocol,
    fields: Sequence[bytes] | Mapping[bytes, bytes],
    checkpoint_id: str | None,
    channels: Sequence[str],
    seeds: SeedCache | None = None,
    where: tuple[str, str] = ("", ""),
) -> dict[str, DeltaChannelHistory]:
    """``get_delta_channel_history`` of the stored checkpoint, from its
    namespace hash.

    For each channel: ``seed``, the value kept from the nearest ancestor
    that stored one (field ``ds<key>``, its checkpoint id in ``dh<key>``),
    and ``writes``, oldest first: the ancestors' writes kept aside by
    ``put`` (fields ``dw<key>:<write field>``) and the writes in the hash
    of checkpoints older than the stored one (its parent's) that are not
    older than the seed. Within a checkpoint writes are in
    ``(task_path, task_id, idx)`` order. A ``checkpoint_id`` that is not the
    stored one gets no history (empty ``writes``, no ``seed``).

    With ``seeds``, a seed whose stored bytes equal the ones decoded last
    time for this thread (``where``: thread id and namespace) and channel is
    not decoded again (see :class:`SeedCache`).
    """
    cp = hash_fields(fields)
    result: dict[str, DeltaChannelHistory] = {ch: {"writes": []} for ch in channels}
    raw_id = cp.get(ID)
    if raw_id is None or (checkpoint_id is not None and _utf8(checkpoint_id) != raw_id):
        return result
    by_key = {delta_key(ch): ch for ch in result}
    seed_ids: dict[str, bytes] = {}
    for key, ch in by_key.items():
        seed_ids[ch] = cp.get(DELTA_SEED_ID + key) or b""
        blob = cp.get(DELTA_SEED + key)
        if blob is None:
            continue
        if seeds is None:
            result[ch]["seed"] = load_typed(serde, blob)
        else:
            result[ch]["seed"] = seeds.load(serde, (*where, ch), blob)
    found: list[tuple[bytes, str, bytes, int, str, bytes]] = []
    for field, record in cp.items():
        if field[:1].isdigit():
            write_field = field
        elif field.startswith(DELTA_WRITE):
            head, _, rest = field[2:].partition(b":")
            n = int(head)
            if by_key.get(field[2 : 3 + len(head) + n]) is None:
                continue
            write_field = rest[n + 1 :]
        else:
            continue
        split = _split_write_field(write_field)
        if split is None:
            continue
        wid, task, idx = split
        path, channel, blob = unpack_write(record)
        if channel not in result:
            continue
        if write_field is field and (wid >= raw_id or wid < seed_ids[channel]):
            continue  # not an ancestor's, or older than the seed
        found.append((wid, path, task, idx, channel, blob))
    found.sort(key=lambda w: w[:4])
    for _, _, task, _, channel, blob in found:
        result[channel]["writes"].append(
            (task.decode("utf-8", "surrogatepass"), channel, load_typed(serde, blob))
        )
    return result


def build_delta_import(
    serde: SerializerProtocol,
    history: Mapping[str, Mapping[str, Any]],
    compression: Compression | None = None,
) -> list[bytes]:
    """Field/value pairs that store another saver's delta history (the reply
    of its ``get_delta_channel_history``) as this layout keeps it.

    The writes carry no checkpoint ids there, so they are stored under the
    empty id with their position as task path: they sort first, in the
    order given, and the seed's checkpoint id is unknown (``dh`` empty).
    Values are compressed per ``compression``, as ``put`` does.
    """
    out: list[bytes] = []
    for channel, entry in history.items():
        key = delta_key(channel)
        out += [DELTA_SEED_ID + key, b""]
        if "seed" in entry:
            seed = dump_typed(serde, entry["seed"], "a seed", compression)
            out += [DELTA_SEED + key, seed]
        for i, (task_id, ch, value) in enumerate(entry.get("writes") or ()):
            blob = dump_typed(serde, value, f"a write to channel {ch!r}", compression)
            field = b"%s%s:%s%s\x00%d" % (
                DELTA_WRITE,
                key,
                writes_prefix(""),
                _utf8(task_id),
                i,
            )
            out += [field, pack_write(f"{i:010d}", ch, blob)]
    return out


class StoredNamespace(NamedTuple):
    """One namespace of a thread exactly as stored (for backups).

    ``fields`` is the namespace hash (the checkpoint and its pending writes),
    ``entry`` its search entry (empty without Search), ``base`` its rollback
    base (usually empty), ``history`` its history window (empty with
    ``keep_last=1``); each maps field names to values, bytes as stored.
    """

    checkpoint_ns: str
    fields: dict[bytes, bytes]
    entry: dict[bytes, bytes]
    base: dict[bytes, bytes]
    history: Mapping[bytes, bytes] = MappingProxyType({})


def stored_namespaces(reply: Sequence[Any]) -> list[StoredNamespace]:
    """The namespaces of a ``DUMP_THREAD`` reply, sorted by name so that a
    dump (and an export file) does not depend on the server's set order."""
    found = [
        StoredNamespace(
            decode_namespace(reply[i]),
            dict(hash_fields(reply[i + 1])),
            dict(hash_fields(reply[i + 2])),
            dict(hash_fields(reply[i + 3])),
            dict(hash_fields(reply[i + 4])),
        )
        for i in range(0, len(reply), 5)
    ]
    return sorted(found, key=lambda stored: stored.checkpoint_ns)


def hset_args(fields: Mapping[bytes, bytes]) -> list[bytes]:
    """A hash as a flat field/value list, as ``HSET`` takes it (the inverse
    of :func:`hash_fields`)."""
    return [x for pair in fields.items() for x in pair]


def pack_namespace(
    args: list[Any], checkpoint_ns: str, *parts: Sequence[bytes]
) -> None:
    """Append one namespace to ``WRITE_THREAD``'s arguments: its encoded
    name, then the hash, its search entry, its rollback base and its
    history, each a flat field/value list preceded by its length (an empty
    one writes nothing)."""
    args.append(encode_namespace(checkpoint_ns))
    for part in parts:
        args.append(len(part))
        args.extend(part)


def entry_fields(
    serde: SerializerProtocol, fields: Mapping[bytes, bytes]
) -> list[bytes]:
    """The search entry of a namespace hash that has none (flat field/value
    list; empty if the hash holds no checkpoint), as ``put`` would write it.
    ``run`` and ``solo`` come from the hash where it keeps them; else the run
    is the metadata's and ``solo`` is left empty (who wrote the earlier
    checkpoints is not known, so ``delete_for_runs`` never deletes such a
    namespace outright). Decodes the metadata, so it needs the serde that
    wrote it."""
    raw_id = fields.get(ID)
    if raw_id is None:
        return []
    meta = load_typed(serde, fields[METADATA])
    run = fields.get(RUN)
    return [
        ID, raw_id,
        ENTRY_TOKENS, metadata_tokens(meta).encode(),
        SOLO, fields.get(SOLO, b""),
        RUN, run_token(meta).encode() if run is None else run,
    ]  # fmt: skip


class RawNamespace(NamedTuple):
    """A namespace hash taken apart without decoding any value (for ``show``).

    ``values`` are ``(channel, version, field, blob)`` of the channel value
    fields; ``writes`` are ``(checkpoint_id, task_id, idx, field, record)``
    of every pending write the hash holds (the stored checkpoint's and any
    other's: the parent's, or writes that raced ahead of their ``put``);
    ``other`` the remaining fields (the run markers ``run`` and ``solo``,
    delta channel history ``dh``/``ds``/``dw``).
    """

    checkpoint_id: str | None
    checkpoint: bytes | None
    metadata: bytes | None
    values: list[tuple[str, str, bytes, bytes]]
    writes: list[tuple[str, str, int, bytes, bytes]]
    other: list[tuple[bytes, bytes]]


def split_fields(fields: Mapping[bytes, bytes]) -> RawNamespace:
    """Take a namespace hash apart into its checkpoint's and writes' fields."""
    values: list[tuple[str, str, bytes, bytes]] = []
    writes: list[tuple[str, str, int, bytes, bytes]] = []
    other: list[tuple[bytes, bytes]] = []
    for name, value in fields.items():
        if name[:1].isdigit():  # <len>:<checkpoint id><task id>\0<idx>
            length, _, rest = name.partition(b":")
            raw_id = rest[: int(length)]
            task, _, idx = rest[int(length) :].rpartition(b"\x00")
            writes.append(
                (
                    raw_id.decode("utf-8", "surrogatepass"),
                    task.decode("utf-8", "surrogatepass"),
                    int(idx),
                    name,
                    value,
                )
            )
        elif name.startswith(b"v:"):  # v:<len(channel)>:<channel>:<version>
            text = name.decode("utf-8", "surrogatepass")
            size, _, tail = text[2:].partition(":")
            channel, version = tail[: int(size)], tail[int(size) + 1 :]
            values.append((channel, version, name, value))
        elif name not in (ID, CHECKPOINT, METADATA):
            other.append((name, value))
    writes.sort(key=lambda w: (w[0], w[1], w[2]))
    values.sort()
    stored_id = fields.get(ID)
    return RawNamespace(
        None if stored_id is None else stored_id.decode("utf-8", "surrogatepass"),
        fields.get(CHECKPOINT),
        fields.get(METADATA),
        values,
        writes,
        sorted(other),
    )
