"""The storage layout: which fields the Redis hashes hold, built and read back.

This module turns a LangGraph ``put`` / ``put_writes`` into the arguments of
one Lua script call, and the reply of one read back into a
``CheckpointTuple``. It does no I/O, so the async and the sync saver share it.

Namespace hash ``CP:{T}:NS`` (see :mod:`.keys`), the checkpoint's fields:

- ``id``: the checkpoint id (the parent's id is not stored: a shallow saver
  returns no ``parent_config``);
- ``cp``: typed blob of the checkpoint without its ``channel_values``;
- ``meta``: typed blob of the metadata;
- ``v:<len>:<channel>:<version>``: typed blob of one channel value, one field
  per entry of ``channel_versions``. ``put`` sends only the channels in
  ``new_versions`` (as ``InMemorySaver`` does) and the script checks that the
  others are already there, so unchanged values are never serialized again.

and, in the same hash, one field per pending write,
``<len(checkpoint_id)>:<checkpoint_id><task_id>\\x00<idx>``, holding a write
record (:func:`.serialization.pack_write`: task path, channel, typed blob).
A write's field starts with a digit and a checkpoint field with a letter,
so the two never collide. The length prefix makes the field name injective
and lets the scripts find a write's checkpoint id by a plain prefix test.

Search entry ``WP:{T}:NS``: ``id`` (the checkpoint id), ``mt``, equality
tokens of the metadata (space-separated hex digests) for the index, ``run``,
the token of the checkpoint's ``run_id``, and ``solo``: that token when every
checkpoint the namespace held since it was created was written by that run,
else empty (``delete_for_runs`` deletes only such namespaces).

Rollback base ``CP:{T}:NS:base`` (only with Search): the namespace hash as it
was when a run started writing over another run's checkpoint, plus that
checkpoint's entry fields as ``e:run``, ``e:mt``, ``e:solo``;
``delete_for_runs`` restores it (docs/design.md, "delete_for_runs").

The layout has a version, :data:`LAYOUT_VERSION`, stored on the server
(``CP:layout``, see :mod:`.keys`); docs/design.md says when it changes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

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

from .errors import InvalidConfigError, StaleCheckpointError, UnsupportedChannelError
from .serialization import EMPTY_BLOB, dump_typed, load_typed, pack_write, unpack_write

__all__ = [
    "LAYOUT_VERSION",
    "PutPlan",
    "build_put",
    "build_writes",
    "filter_tokens",
    "filter_tokens_any",
    "layout_problem",
    "make_config",
    "matches",
    "metadata_tokens",
    "next_version",
    "read_tuple",
    "retarget",
    "run_token",
    "superseded",
    "value_field",
    "writes_prefix",
]

ID = b"id"
CHECKPOINT = b"cp"
METADATA = b"meta"
ENTRY_TOKENS = b"mt"

LAYOUT_VERSION = 1
"""Version of the storage layout this module reads and writes (see the
module docstring and :mod:`.keys`). Bumped by any change that an older
package could misread; docs/design.md ("Layout versions") has the rule."""


def layout_problem(found: bytes | str | None, key: str) -> str | None:
    """Why a layout version found on the server cannot be used, or ``None``."""
    if found is None:
        return None
    text = found.decode("utf-8", "replace") if isinstance(found, bytes) else found
    if text == str(LAYOUT_VERSION):
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


def writes_prefix(checkpoint_id: str) -> bytes:
    """Common prefix of the write fields of one checkpoint id.

    The length is in UTF-8 bytes, as the Lua scripts count it.
    """
    raw = _utf8(checkpoint_id)
    return b"%d:%s" % (len(raw), raw)


def next_version(current: object) -> int | float | str:
    """The channel version after ``current``, in ``current``'s own form.

    LangGraph compares versions with ``>`` across one checkpoint, so a
    checkpoint must keep one form. ``None`` (a new channel) and ``int``
    give ``int`` (this saver's own form, see docs/design.md); a ``str`` is
    the form of ``InMemorySaver`` and the Postgres and upstream Redis savers,
    ``"<32-digit counter>.<random fraction>"``, whose counter is incremented
    and whose padding keeps the string order equal to the numeric one.
    """
    if current is None:
        return 1
    if isinstance(current, bool):
        raise InvalidConfigError(f"channel version {current!r} is not a version")
    if isinstance(current, (int, float)):
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


def _token(key: str, value: object) -> str | None:
    """Equality token of one metadata item, or ``None`` if not indexable.

    Numbers are normalised so that tokens agree wherever Python's ``==``
    does (``1 == 1.0 == True``).
    """
    if value is None:
        canon = "z"
    elif isinstance(value, str):
        canon = "s" + value
    elif isinstance(value, (bool, int)):
        canon = f"n{int(value)}"
    elif isinstance(value, float):
        canon = f"n{int(value)}" if value.is_integer() else f"n{value!r}"
    else:
        return None
    raw = _utf8(f"{len(key)}:{key}:{canon}")
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def metadata_tokens(metadata: Mapping[str, Any]) -> str:
    """Space-separated equality tokens of the top-level scalar metadata."""
    return " ".join(t for k, v in metadata.items() if (t := _token(k, v)) is not None)


def filter_tokens(filter: Mapping[str, Any]) -> list[str]:
    """Tokens an index query must match for ``filter``; values that are not
    scalars have no token and are checked on the client only."""
    return [t for k, v in filter.items() if (t := _token(k, v)) is not None]


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


def _refuse_deltas(
    checkpoint: Checkpoint, metadata: Mapping[str, Any], new_versions: ChannelVersions
) -> None:
    """Raise if a ``DeltaChannel`` changed and only its delta is in the checkpoint."""
    counters = metadata.get("counters_since_delta_snapshot") or {}
    values = checkpoint["channel_values"]
    lost = sorted(c for c in counters if c in new_versions and c not in values)
    if lost:
        raise UnsupportedChannelError(
            f"channel(s) {lost} are DeltaChannels stored as deltas: rebuilding "
            "them needs earlier checkpoints, which a shallow saver does not keep. "
            "Declare them with DeltaChannel(..., snapshot_frequency=1) so every "
            "checkpoint holds their full value, or use a saver that keeps history."
        )


def run_token(metadata: Mapping[str, Any]) -> str:
    """The equality token of the metadata's ``run_id`` (``None`` when absent)."""
    return _token("run_id", metadata.get("run_id")) or ""


def filter_tokens_any(key: str, values: Sequence[object]) -> list[str]:
    """Tokens of ``key == v`` for each ``v`` (for an any-of query)."""
    return [t for v in values if (t := _token(key, v)) is not None]


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
) -> PutPlan:
    """Serialize a ``put`` into the ARGV of the put script.

    ``search_entry=False`` (a server without Search) writes no search entry
    and skips computing the metadata tokens.

    ARGV: ttl_ms, ns member, keep-prefix of the new checkpoint's writes,
    keep-prefix of the parent's writes (or ``""``), the entry flag, the
    metadata tokens, the run token, the number of required value fields,
    those fields, then field/value pairs to set.
    """
    checkpoint_id = _check_checkpoint(checkpoint)
    values = checkpoint["channel_values"]
    _refuse_deltas(checkpoint, metadata, new_versions)
    required: list[str | bytes | int] = []
    pairs: list[str | bytes | int] = []
    for channel, version in checkpoint["channel_versions"].items():
        field = value_field(channel, version)
        if channel in new_versions:
            pairs.append(field)
            pairs.append(
                dump_typed(serde, values[channel], f"channel {channel!r}")
                if channel in values
                else EMPTY_BLOB
            )
        else:
            required.append(field)
    body = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    meta = get_checkpoint_metadata(config, metadata)
    pairs += [
        ID, _utf8(checkpoint_id),
        CHECKPOINT, dump_typed(serde, body, "the checkpoint"),
        METADATA, dump_typed(serde, meta, "the metadata"),
    ]  # fmt: skip
    args: list[str | bytes | int] = [
        ttl_ms or 0,
        ns_member,
        writes_prefix(checkpoint_id),
        writes_prefix(parent_id) if parent_id else b"",
        b"1" if search_entry else b"",
        metadata_tokens(meta).encode() if search_entry else b"",
        run_token(meta).encode() if search_entry else b"",
        len(required),
        *required,
        *pairs,
    ]
    return PutPlan(checkpoint_id, args)


def build_writes(
    serde: SerializerProtocol,
    checkpoint_id: str,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> list[bytes]:
    """Serialize ``put_writes`` into (mode, field, record) triples.

    Mode ``n`` inserts if absent (regular writes); ``s`` overwrites (the
    special channels of ``WRITES_IDX_MAP``), as ``InMemorySaver`` does.
    """
    prefix = writes_prefix(checkpoint_id)
    out: list[bytes] = []
    for i, (channel, value) in enumerate(writes):
        special = WRITES_IDX_MAP.get(channel)
        idx = i if special is None else special
        blob = dump_typed(serde, value, f"the write to channel {channel!r}")
        out.append(b"n" if special is None else b"s")
        out.append(b"%s%s\x00%d" % (prefix, _utf8(task_id), idx))
        out.append(pack_write(task_path, channel, blob))
    return out


def _pairs(flat: Sequence[bytes] | Mapping[bytes, bytes]) -> Mapping[bytes, bytes]:
    if isinstance(flat, Mapping):
        return flat
    return dict(zip(flat[::2], flat[1::2], strict=True))


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
    cp = _pairs(fields)
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
    return CheckpointTuple(
        config=make_config(thread_id, checkpoint_ns, stored_id),
        checkpoint=checkpoint,
        metadata=load_typed(serde, cp[METADATA]),
        parent_config=None,
        pending_writes=[
            (task_id, ch, load_typed(serde, blob)) for _, task_id, _, ch, blob in found
        ],
    )


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
    tokens follow; every other field is copied byte for byte.
    """
    out = list(fields)
    new_meta: Any = None
    for i in range(0, len(out), 2):
        if out[i] == METADATA:
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


def matches(
    tup: CheckpointTuple, wanted: Mapping[str, Any], before_id: str | None
) -> bool:
    """``InMemorySaver``'s ``list`` tests: metadata equality and ``before``."""
    if before_id is not None and tup.checkpoint["id"] >= before_id:
        return False
    metadata: Mapping[str, Any] = tup.metadata
    return all(metadata.get(k) == v for k, v in wanted.items())
