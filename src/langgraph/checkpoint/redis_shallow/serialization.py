"""Serialization: how values become the bytes stored in Redis, and back.

Every value (checkpoint, metadata, channel value, pending write) goes through
the saver's ``serde`` (``dumps_typed`` / ``loads_typed``; LangGraph's msgpack
``JsonPlusSerializer`` by default), so values come back exactly as
``InMemorySaver`` returns them and the serde's allowlist and encryption keep
applying. Nothing here converts through JSON or imports anything by name.

A *typed blob* is ``type_name + b"\\x00" + data``: the serde's type tag
(``"msgpack"``, ``"bytes"``, ``"msgpack+aes"``, ...) and its bytes; or,
for a value compressed with :class:`.compression.Compression`, an envelope
``b"\\x00" + codec + type_name + b"\\x00" + frame`` (see
:mod:`.compression`). A type name is never empty, so the first byte tells
the two apart and :func:`load_typed` reads both whatever the saver's
settings.

A *write record* packs one pending write: its ``task_path`` and ``channel``
(length-prefixed) and the typed blob; its task id and index live in the
record's field name.
"""

from __future__ import annotations

import struct
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from .compression import Compression, decompress_envelope, is_envelope
from .errors import SerializationError

__all__ = [
    "EMPTY_BLOB",
    "dump_typed",
    "load_typed",
    "pack_write",
    "unpack_write",
]

EMPTY_BLOB = b"empty\x00"
"""Blob stored for a channel that has a version but no value (as
``InMemorySaver`` stores ``("empty", b"")``)."""

_LEN = struct.Struct(">I")


def dump_typed(
    serde: SerializerProtocol,
    value: Any,
    what: str,
    compression: Compression | None = None,
) -> bytes:
    """Serialize ``value`` to a typed blob; ``what`` names it in errors.

    With ``compression``, a value at or above its threshold is stored as a
    compressed envelope when that makes it smaller.

    Raises:
        SerializationError: the serde failed, or returned an empty type
            name or one holding a NUL character.
    """
    try:
        type_name, data = serde.dumps_typed(value)
    except Exception as exc:  # the serde may raise anything
        raise SerializationError(
            f"cannot serialize {what} (a {type(value).__name__}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(type_name, str) or not type_name or "\x00" in type_name:
        raise SerializationError(
            f"serde returned an invalid type name {type_name!r} for {what} "
            "(it must be a non-empty str without NUL characters)"
        )
    if compression is not None:
        return compression.pack(type_name.encode(), bytes(data))
    return type_name.encode() + b"\x00" + bytes(data)


def load_typed(serde: SerializerProtocol, blob: bytes) -> Any:
    """Deserialize a typed blob written by :func:`dump_typed`, plain or
    compressed."""
    if is_envelope(blob):
        return serde.loads_typed(decompress_envelope(blob))
    sep = blob.index(b"\x00")
    return serde.loads_typed((blob[:sep].decode(), blob[sep + 1 :]))


def pack_write(task_path: str, channel: str, blob: bytes) -> bytes:
    """Pack one pending write into a write record.

    The task id and index are in the record's field name (see
    :mod:`.layout`), so the record holds only the rest.
    """
    path = task_path.encode("utf-8", "surrogatepass")
    chan = channel.encode("utf-8", "surrogatepass")
    return b"".join((_LEN.pack(len(path)), path, _LEN.pack(len(chan)), chan, blob))


def unpack_write(record: bytes) -> tuple[str, str, bytes]:
    """Invert :func:`pack_write`: ``(task_path, channel, blob)``."""
    (n,) = _LEN.unpack_from(record, 0)
    path = record[4 : 4 + n].decode("utf-8", "surrogatepass")
    pos = 4 + n
    (m,) = _LEN.unpack_from(record, pos)
    chan = record[pos + 4 : pos + 4 + m].decode("utf-8", "surrogatepass")
    return path, chan, record[pos + 4 + m :]
