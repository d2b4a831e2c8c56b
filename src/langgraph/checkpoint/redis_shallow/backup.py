"""The backup file format of ``export`` and ``import``: whole threads, as stored.

A backup is a text file of JSON lines (UTF-8; gzip-compressed when its name
ends in ``.gz``). Line 1 is the header, then one line per thread, then an
end line::

    {"format": "langgraph-checkpoint-redis-shallow-backup", "version": 1,
     "layout_version": 3, "checkpoint_prefix": "lgshallow:cp",
     "checkpoint_write_prefix": "lgshallow:w", "created": "2026-11-30T09:40:00Z"}
    {"thread": "user-42", "namespaces": [
        {"ns": "", "hash": [["aWQ=", "MWVm..."], ...], "entry": [...], "base": [],
         "history": []}]}
    {"end": true, "threads": 1, "namespaces": 1}

(each record is one line in the file). ``hash``, ``entry``, ``base`` and
``history`` are a namespace's hash, search entry, rollback base and history
window (:mod:`.layout`; ``history`` is absent in files of layout 2), as
lists of ``[field, value]`` pairs, both base64 of the bytes exactly as
stored: values stay in the serde's encoding, so encrypted values stay
encrypted and nothing is decoded on the way. Keys are not in the file:
thread ids and namespaces are, and ``import`` builds the keys for its own
prefixes (:mod:`.keys`), so a backup can be restored under other prefixes.
``layout_version`` is the storage layout of the fields
(:data:`.layout.LAYOUT_VERSION`); a reader refuses any it cannot use as
it is (:data:`.layout.UPGRADES_IN_PLACE` lists the older ones it can).

Why this shape: one line per thread streams (a writer holds one thread, a
reader reads one line at a time) and makes every thread an atomic unit of
restore; JSON lines can be inspected, split and counted with standard tools;
base64 keeps bytes exact (JSON has no bytes type); the end line with its
counts tells a complete file from a truncated one.

No I/O to Redis here: :class:`Writer` and :class:`Reader` work on streams.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, TextIO

from .errors import BackupFormatError
from .layout import (
    LAYOUT_VERSION,
    UPGRADES_IN_PLACE,
    StoredNamespace,
    upgrades_in_place,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "Header",
    "Reader",
    "Writer",
    "open_for_reading",
    "open_for_writing",
]

FORMAT = "langgraph-checkpoint-redis-shallow-backup"
"""The ``format`` of the header line: what tells a backup from other files."""

VERSION = 1
"""The version of the file format this module writes and reads."""

HEADER_LIMIT = 65536
"""Characters read at most for the header line."""


@dataclass(frozen=True)
class Header:
    """The first line of a backup."""

    checkpoint_prefix: str
    checkpoint_write_prefix: str
    layout_version: int = LAYOUT_VERSION
    version: int = VERSION
    created: str = ""

    def to_json(self) -> dict[str, Any]:
        """The header line's object."""
        return {
            "format": FORMAT,
            "version": self.version,
            "layout_version": self.layout_version,
            "checkpoint_prefix": self.checkpoint_prefix,
            "checkpoint_write_prefix": self.checkpoint_write_prefix,
            "created": self.created
            or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json_pairs(fields: Mapping[bytes, bytes]) -> list[list[str]]:
    return [[_b64(k), _b64(v)] for k, v in fields.items()]


def open_for_writing(path: str, name: str | None = None) -> TextIO:
    """A text stream to write a backup to: ``-`` is stdout; gzip-compressed
    when ``name`` (the file's final name, default ``path``) ends in ``.gz``."""
    import sys

    if path == "-":
        return sys.stdout
    if (name or path).endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="\n")
    return open(path, "w", encoding="utf-8", newline="\n")


def open_for_reading(path: str) -> TextIO:
    """A text stream to read a backup from: ``-`` is stdin; gzip is
    recognised by its magic bytes, whatever the name."""
    import sys

    if path == "-":
        return sys.stdin
    raw: IO[bytes] = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        # a GzipFile does not close the file object it reads: open by name,
        # so that closing the stream closes the file
        raw.close()
        return gzip.open(path, "rt", encoding="utf-8")
    return io.TextIOWrapper(raw, encoding="utf-8")


class Writer:
    """Writes a backup to a text stream, one thread at a time."""

    def __init__(self, stream: TextIO, header: Header) -> None:
        self.stream = stream
        self.threads = 0
        self.namespaces = 0
        self._line(header.to_json())

    def _line(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def write_thread(
        self, thread_id: str, namespaces: Sequence[StoredNamespace]
    ) -> None:
        """Append one thread (from ``dump_thread``)."""
        self._line(
            {
                "thread": thread_id,
                "namespaces": [
                    {
                        "ns": ns.checkpoint_ns,
                        "hash": _json_pairs(ns.fields),
                        "entry": _json_pairs(ns.entry),
                        "base": _json_pairs(ns.base),
                        "history": _json_pairs(ns.history),
                    }
                    for ns in namespaces
                ],
            }
        )
        self.threads += 1
        self.namespaces += len(namespaces)

    def finish(self) -> None:
        """Write the end line (with the counts) and flush."""
        self._line(
            {"end": True, "threads": self.threads, "namespaces": self.namespaces}
        )
        self.stream.flush()


class Reader:
    """Reads a backup from a text stream; checks the header at once.

    Iterate over :meth:`threads`; after the loop, :attr:`complete` says
    whether the end line was found with matching counts (else the file was
    truncated). Raises :class:`.errors.BackupFormatError` for anything that
    is not a backup this version reads.
    """

    def __init__(self, stream: TextIO, name: str = "the file") -> None:
        self.stream = stream
        self.name = name
        self.line_no = 0
        self.complete = False
        self.threads_read = 0
        self.namespaces_read = 0
        first = self._next()
        if (
            first is None
            or not isinstance(first, dict)
            or first.get("format") != FORMAT
        ):
            raise BackupFormatError(
                f"{name} is not an export of langgraph-checkpoint-redis-shallow "
                f"(its first line is not a header with format {FORMAT!r})"
            )
        version = first.get("version")
        if version != VERSION:
            raise BackupFormatError(
                f"{name} is in backup format version {version!r}; this version "
                f"of langgraph-checkpoint-redis-shallow reads version {VERSION} "
                "only (upgrade the package to read newer backups)"
            )
        layout_version = first.get("layout_version")
        if not isinstance(layout_version, int) or not (
            layout_version == LAYOUT_VERSION or upgrades_in_place(str(layout_version))
        ):
            raise BackupFormatError(
                f"{name} holds storage layout {layout_version!r}; this version "
                f"reads layout {LAYOUT_VERSION} and the layouts it upgrades in "
                f"place ({', '.join(UPGRADES_IN_PLACE)}) only"
            )
        try:
            self.header = Header(
                checkpoint_prefix=str(first["checkpoint_prefix"]),
                checkpoint_write_prefix=str(first["checkpoint_write_prefix"]),
                layout_version=layout_version,
                version=VERSION,
                created=str(first.get("created", "")),
            )
        except KeyError as exc:
            raise self._bad(f"the header lacks {exc}") from exc

    def _bad(self, why: str) -> BackupFormatError:
        return BackupFormatError(f"{self.name}, line {self.line_no}: {why}")

    def _next(self) -> Any:
        """The next line's JSON, or ``None`` at the end of the file."""
        first = self.line_no == 0
        try:
            # a header is short: a file without a newline early on is not ours
            line = self.stream.readline(HEADER_LIMIT if first else -1)
        except (UnicodeDecodeError, OSError, EOFError) as exc:
            # binary data, a broken or truncated gzip stream
            if first:
                raise BackupFormatError(
                    f"{self.name} is not an export of langgraph-checkpoint-redis-"
                    f"shallow (it cannot be read as text: {type(exc).__name__})"
                ) from exc
            raise BackupFormatError(
                f"{self.name} cannot be read as a backup (line {self.line_no + 1}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not line:
            return None
        self.line_no += 1
        try:
            return json.loads(line)
        except ValueError as exc:
            if self.line_no == 1:
                return None  # reported as "not an export" by the caller
            raise self._bad(f"not a JSON record ({exc})") from exc

    def threads(self) -> Iterator[tuple[str, list[StoredNamespace]]]:
        """Each thread of the file, in order, as ``(thread_id, namespaces)``."""
        while True:
            record = self._next()
            if record is None:
                return  # no end line: complete stays False
            if not isinstance(record, dict):
                raise self._bad("not a record")
            if record.get("end") is True:
                counts = (record.get("threads"), record.get("namespaces"))
                if counts != (self.threads_read, self.namespaces_read):
                    raise self._bad(
                        f"the end line counts {counts[0]} threads and {counts[1]} "
                        f"namespaces, the file holds {self.threads_read} and "
                        f"{self.namespaces_read}"
                    )
                if self._next() is not None:
                    raise self._bad("data after the end line")
                self.complete = True
                return
            yield self._thread(record)

    def _thread(self, record: dict[str, Any]) -> tuple[str, list[StoredNamespace]]:
        try:
            thread_id = record["thread"]
            if not isinstance(thread_id, str):
                raise TypeError("the thread id is not a string")
            namespaces = [
                StoredNamespace(
                    str(ns["ns"]),
                    _fields(ns["hash"]),
                    _fields(ns["entry"]),
                    _fields(ns["base"]),
                    _fields(ns.get("history", [])),
                )
                for ns in record["namespaces"]
            ]
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise self._bad(
                f"not a thread record ({type(exc).__name__}: {exc})"
            ) from exc
        self.threads_read += 1
        self.namespaces_read += len(namespaces)
        return thread_id, namespaces


def _fields(pairs: Any) -> dict[bytes, bytes]:
    return {
        base64.b64decode(k, validate=True): base64.b64decode(v, validate=True)
        for k, v in pairs
    }
