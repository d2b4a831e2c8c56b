"""Compression of stored values: the codec, its settings and the envelope.

Channel values and pending writes of at least :attr:`Compression.threshold`
bytes (serialized) are stored as a zstd frame inside an *envelope*, a typed
blob (see :mod:`.serialization`) whose type name is empty::

    b"\\x00" + codec + type_name + b"\\x00" + frame

``codec`` is one byte, ``b"z"`` for zstd (:data:`ZSTD`); ``type_name`` is
the serde's type tag and ``frame`` a zstd frame of the serde's bytes (with
its content size, as every zstd library writes one-shot frames). A serde
type name is never empty (:func:`.serialization.dump_typed` refuses one), so
a blob that starts with ``b"\\x00"`` is an envelope and any other blob is
plain: plain and compressed values mix freely in one hash, and a saver
with compression off still reads compressed values.

A value is stored plain, without trying, when it is smaller than the
threshold or its type name marks an encrypting serde (``"msgpack+aes"``:
LangGraph's ``EncryptedSerializer`` appends ``+<cipher>``; ciphertext does
not compress). It is stored plain after trying when the envelope would not
be at least :data:`MIN_SAVING` bytes smaller (random bytes, data the serde
compressed already), so no value grows.

The codec is the ``zstandard`` package (a dependency). On Python 3.14+,
without ``zstandard`` installed, the standard library's ``compression.zstd``
is used instead; the frames are the same. That branch is not run by the
test suite (it tests Python 3.10-3.13, where ``zstandard`` is always there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import InvalidConfigError, SerializationError

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_THRESHOLD",
    "ENVELOPE",
    "MAX_LEVEL",
    "MIN_LEVEL",
    "MIN_SAVING",
    "ZSTD",
    "Compression",
    "codec_name",
    "decompress_envelope",
    "is_envelope",
    "parse_compression",
]

ENVELOPE = b"\x00"
"""First byte of a compressed value (an empty type name)."""

ZSTD = b"z"
"""Codec byte of a zstd frame."""

DEFAULT_THRESHOLD = 4096
"""Values of fewer serialized bytes are stored plain (docs/performance.md,
"Compression", has the measurements behind it)."""

DEFAULT_LEVEL = 1
"""zstd level (docs/performance.md, "Compression")."""

MIN_SAVING = 16
"""A value is compressed only when that saves at least this many bytes."""

MIN_LEVEL = -7
"""The fastest zstd level accepted."""

MAX_LEVEL = 22
"""The smallest-output zstd level accepted."""

_ENCRYPTED_MARK = b"+"

_local = threading.local()

try:
    import zstandard as _zstandard
except ImportError:  # pragma: no cover - Python 3.14+ without zstandard
    _zstandard = None  # type: ignore[assignment]


def _compressor(level: int) -> Callable[[bytes], bytes]:
    """A one-shot compressor at ``level`` for this thread (zstandard's
    contexts are not thread-safe, and making one per value costs more than
    compressing a small value)."""
    cache: dict[int, Callable[[bytes], bytes]] | None = getattr(
        _local, "compressors", None
    )
    if cache is None:
        cache = _local.compressors = {}
    found = cache.get(level)
    if found is None:
        if _zstandard is not None:
            found = _zstandard.ZstdCompressor(level=level).compress
        else:  # pragma: no cover - untested here (Python 3.14+ only)
            from compression import zstd  # type: ignore[import-not-found]

            def found(data: bytes, _level: int = level) -> bytes:
                return bytes(zstd.compress(data, level=_level))

        cache[level] = found
    return found


def _decompressor() -> Callable[[bytes], bytes]:
    """A one-shot decompressor for this thread."""
    found: Callable[[bytes], bytes] | None = getattr(_local, "decompressor", None)
    if found is None:
        if _zstandard is not None:
            found = _zstandard.ZstdDecompressor().decompress
        else:  # pragma: no cover - untested here (Python 3.14+ only)
            from compression import zstd

            def found(data: bytes) -> bytes:
                return bytes(zstd.decompress(data))

        _local.decompressor = found
    return found


@dataclass(frozen=True)
class Compression:
    """How a saver compresses the values it stores.

    Args:
        threshold: values of at least this many serialized bytes are
            compressed; smaller ones are stored plain. ``0`` compresses
            every value (that saves bytes).
        level: the zstd level, from -7 (fastest) to 22 (smallest).

    Raises:
        InvalidConfigError: a setting out of range or of the wrong type.
    """

    threshold: int = DEFAULT_THRESHOLD
    level: int = DEFAULT_LEVEL

    def __post_init__(self) -> None:
        for name in ("threshold", "level"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidConfigError(
                    f"compression {name} must be an int, got {value!r}"
                )
        if self.threshold < 0:
            raise InvalidConfigError(
                f"compression threshold must be >= 0 bytes, got {self.threshold}"
            )
        if not MIN_LEVEL <= self.level <= MAX_LEVEL:
            raise InvalidConfigError(
                f"compression level must be from {MIN_LEVEL} to {MAX_LEVEL}, "
                f"got {self.level}"
            )

    def pack(self, type_name: bytes, data: bytes) -> bytes:
        """The typed blob of one value: an envelope when compressing pays,
        else the plain ``type_name + b"\\x00" + data``."""
        if len(data) >= self.threshold and _ENCRYPTED_MARK not in type_name:
            frame = _compressor(self.level)(data)
            if len(frame) + 2 + MIN_SAVING <= len(data):
                return b"".join((ENVELOPE, ZSTD, type_name, b"\x00", frame))
        return b"".join((type_name, b"\x00", data))


def parse_compression(value: object) -> Compression | None:
    """The saver's ``compression`` argument as settings (``None``: off).

    ``True`` (the default) means :class:`Compression` with its defaults;
    ``False`` or ``None`` turn compression off; a :class:`Compression` is
    used as given.
    """
    if value is True:
        return Compression()
    if value is False or value is None:
        return None
    if isinstance(value, Compression):
        return value
    raise InvalidConfigError(
        "compression must be True, False, None or a Compression(threshold=..., "
        f"level=...), got {type(value).__name__} {value!r}"
    )


def is_envelope(blob: bytes) -> bool:
    """Whether a typed blob is a compressed value."""
    return blob[:1] == ENVELOPE


def decompress_envelope(blob: bytes) -> tuple[str, bytes]:
    """``(type_name, data)`` of an envelope, data decompressed.

    Raises:
        SerializationError: an unknown codec (written by a newer package) or
            a damaged frame.
    """
    codec = blob[1:2]
    if codec != ZSTD:
        raise SerializationError(
            f"stored value uses compression codec {codec!r}, which this version "
            "does not know (written by a newer langgraph-checkpoint-redis-shallow?)"
        )
    sep = blob.index(b"\x00", 2)
    try:
        data = _decompressor()(blob[sep + 1 :])
    except Exception as exc:  # the codec's own error class
        raise SerializationError(
            f"stored value is a damaged zstd frame: {type(exc).__name__}: {exc}"
        ) from exc
    return blob[2:sep].decode(), data


def codec_name() -> str:
    """Which zstd implementation is in use (for reports)."""
    if _zstandard is not None:
        return f"zstandard {_zstandard.__version__}"
    return "compression.zstd"  # pragma: no cover
