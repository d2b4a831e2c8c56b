"""``show``: one thread's stored state, decoded field by field.

Reads the thread with the saver's ``dump_thread`` (one round trip, as
stored), takes each namespace hash apart with :func:`..layout.split_fields`
and decodes every value on its own with the saver's serde
(:func:`..serialization.load_typed`), so a value the serde cannot read (an
encrypted one without the key, a type outside an allowlist) is reported as
such and the rest is still shown.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from .. import layout
from ..compression import decompress_envelope, is_envelope
from ..serialization import EMPTY_BLOB, load_typed, unpack_write
from ._common import EXIT_OK, NotFound, emit, open_saver, size

__all__ = ["add_parser", "run"]

SHORT = 300
"""Characters of a value shown in text output without ``--full``."""


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``show``."""
    p = commands.add_parser(
        "show",
        parents=parents,
        help="one thread's checkpoint, metadata and pending writes, decoded",
        description="Show a thread's stored state per namespace: channel values "
        "(LangChain messages as role and text), metadata, pending writes (task, "
        "channel, value) and the bytes of each field. Values are decoded with "
        "the saver's serde (--serde for a custom or encrypted one); what cannot "
        "be decoded is named, not hidden. Read-only; refreshes no TTL.",
    )
    p.add_argument("thread", metavar="THREAD", help="the thread id")
    p.add_argument(
        "--ns",
        metavar="NS",
        help="only this checkpoint namespace ('' is the root graph; default: all)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help=f"print values whole (text output cuts them at {SHORT} characters)",
    )
    p.set_defaults(run=run)


class _Undecodable:
    """A value the serde could not decode."""

    def __init__(self, type_name: str, error: str) -> None:
        self.type_name = type_name
        self.error = error


def _type_name(blob: bytes) -> str:
    """The serde's type tag of a typed blob (inside a compressed envelope
    too), for messages."""
    try:
        if is_envelope(blob):
            return decompress_envelope(blob)[0]
    except Exception:  # a damaged envelope: say what it is
        return "compressed envelope"
    return blob.split(b"\x00", 1)[0].decode("utf-8", "replace")


def _decode(serde: SerializerProtocol, blob: bytes) -> Any:
    try:
        return load_typed(serde, blob)
    except Exception as exc:  # the serde may raise anything
        return _Undecodable(_type_name(blob), f"{type(exc).__name__}: {exc}")


def _message(value: Any) -> dict[str, Any] | None:
    """A LangChain message as ``{"role", "text", ...}``; ``None`` otherwise."""
    try:
        from langchain_core.messages import BaseMessage
    except ImportError:  # pragma: no cover - langchain-core is a dependency
        return None
    if not isinstance(value, BaseMessage):
        return None
    content = value.content
    if isinstance(content, str):
        text = content
    else:
        text = " ".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in content
            if isinstance(part, (str, dict))
        )
    out: dict[str, Any] = {"role": value.type, "text": text}
    calls = getattr(value, "tool_calls", None)
    if calls:
        out["tool_calls"] = [
            {"name": c.get("name"), "args": c.get("args")} for c in calls
        ]
    return out


def _interrupt(value: Any) -> tuple[Any, str] | None:
    """``(value, id)`` of a LangGraph ``Interrupt``; ``None`` otherwise."""
    from langgraph.types import Interrupt

    if isinstance(value, Interrupt):
        return value.value, str(value.id)
    return None


def _jsonable(value: Any) -> Any:
    """A JSON form of a decoded value: messages as role and text, interrupts
    as their value and id, plain containers kept, anything else as its
    ``repr``."""
    if isinstance(value, _Undecodable):
        return {"undecodable": value.type_name, "error": value.error}
    msg = _message(value)
    if msg is not None:
        return msg
    intr = _interrupt(value)
    if intr is not None:
        return {"interrupt": _jsonable(intr[0]), "id": intr[1]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    return repr(value)


def _text(value: Any, full: bool) -> list[str]:
    """Lines showing a decoded value."""
    if isinstance(value, _Undecodable):
        return [
            f"<could not decode: serde type {value.type_name!r}, {value.error}; "
            "give the saver's serde with --serde>"
        ]
    items = value if isinstance(value, (list, tuple)) else [value]
    intrs = [_interrupt(v) for v in items]
    if items and all(i is not None for i in intrs):
        return [
            _cut(f"interrupt {i[1]}: {i[0]!r}", full) for i in intrs if i is not None
        ]
    msgs = [_message(v) for v in items]
    if items and all(m is not None for m in msgs):
        lines = []
        for m in msgs:
            assert m is not None
            line = f"[{m['role']}] {m['text']}"
            for call in m.get("tool_calls", []):
                line += f" -> {call['name']}({json.dumps(call['args'], default=repr)})"
            lines.append(_cut(line, full))
        return lines
    return [_cut(repr(value), full)]


def _cut(text: str, full: bool) -> str:
    if full or len(text) <= SHORT:
        return text
    return text[:SHORT] + f"... ({len(text)} characters; --full shows all)"


def _namespace(
    serde: SerializerProtocol, stored: layout.StoredNamespace
) -> dict[str, Any]:
    """What ``show`` reports of one namespace (decoded values kept raw)."""
    raw = layout.split_fields(stored.fields)
    total = sum(len(k) + len(v) for k, v in stored.fields.items())
    ns: dict[str, Any] = {
        "checkpoint_ns": stored.checkpoint_ns,
        "checkpoint_id": raw.checkpoint_id,
        "bytes": total,
        "fields": len(stored.fields),
    }
    ns["metadata"] = None if raw.metadata is None else _decode(serde, raw.metadata)
    ns["metadata_bytes"] = 0 if raw.metadata is None else len(raw.metadata) + 4
    ns["checkpoint_bytes"] = 0 if raw.checkpoint is None else len(raw.checkpoint) + 2
    body = None if raw.checkpoint is None else _decode(serde, raw.checkpoint)
    ns["checkpoint_undecodable"] = body if isinstance(body, _Undecodable) else None
    channels = []
    for channel, version, name, blob in raw.values:
        empty = blob == EMPTY_BLOB
        channels.append(
            {
                "channel": channel,
                "version": version,
                "bytes": len(name) + len(blob),
                "value": None if empty else _decode(serde, blob),
                "empty": empty,
            }
        )
    ns["channels"] = channels
    writes = []
    other = 0
    other_bytes = 0
    for checkpoint_id, task_id, idx, name, record in raw.writes:
        if checkpoint_id != raw.checkpoint_id:
            other += 1
            other_bytes += len(name) + len(record)
            continue
        path, channel, blob = unpack_write(record)
        writes.append(
            {
                "task_id": task_id,
                "task_path": path,
                "idx": idx,
                "channel": channel,
                "bytes": len(name) + len(record),
                "value": _decode(serde, blob),
            }
        )
    ns["pending_writes"] = writes
    ns["other_writes"] = {"count": other, "bytes": other_bytes}
    ns["other_fields"] = {
        "count": len(raw.other),
        "bytes": sum(len(k) + len(v) for k, v in raw.other),
    }
    ns["rollback_base_fields"] = len(stored.base)
    return ns


def _as_json(ns: dict[str, Any]) -> dict[str, Any]:
    out = dict(ns)
    out["metadata"] = _jsonable(ns["metadata"])
    body = out.pop("checkpoint_undecodable")
    out["checkpoint_undecodable"] = None if body is None else _jsonable(body)
    out["channels"] = [dict(c, value=_jsonable(c["value"])) for c in ns["channels"]]
    out["pending_writes"] = [
        dict(w, value=_jsonable(w["value"])) for w in ns["pending_writes"]
    ]
    return out


def _lines(thread_id: str, ns: dict[str, Any], full: bool) -> list[str]:
    lines = [
        f"thread {thread_id!r}  namespace {ns['checkpoint_ns']!r}  checkpoint "
        f"{ns['checkpoint_id'] or '(none: pending writes only)'}  "
        f"({size(ns['bytes'])} in {ns['fields']} fields)"
    ]
    if ns["metadata"] is not None:
        lines.append(f"  metadata ({size(ns['metadata_bytes'])})")
        meta = ns["metadata"]
        if isinstance(meta, dict):
            for key, value in meta.items():
                lines.append(f"    {key}: {_text(value, full)[0]}")
        else:
            lines += [f"    {t}" for t in _text(meta, full)]
    if ns["checkpoint_undecodable"] is not None:
        lines.append(
            f"  checkpoint body ({size(ns['checkpoint_bytes'])}): "
            + _text(ns["checkpoint_undecodable"], full)[0]
        )
    lines.append(f"  channels ({len(ns['channels'])})")
    for c in ns["channels"]:
        lines.append(f"    {c['channel']}  v{c['version']}  {size(c['bytes'])}")
        if c["empty"]:
            lines.append("      (no value)")
        else:
            lines += [f"      {t}" for t in _text(c["value"], full)]
    lines.append(f"  pending writes ({len(ns['pending_writes'])})")
    for w in ns["pending_writes"]:
        lines.append(
            f"    task {w['task_id']}  channel {w['channel']}  {size(w['bytes'])}"
        )
        lines += [f"      {t}" for t in _text(w["value"], full)]
    other = ns["other_writes"]
    if other["count"]:
        lines.append(
            f"  + {other['count']} writes of other checkpoints "
            f"({size(other['bytes'])}; the parent's, or ahead of their put; "
            "get_tuple does not return them)"
        )
    if ns["other_fields"]["count"]:
        lines.append(
            f"  + {ns['other_fields']['count']} other field(s) "
            f"({size(ns['other_fields']['bytes'])}: run markers, delta channel "
            "history)"
        )
    if ns["rollback_base_fields"]:
        lines.append(
            f"  + a rollback base ({ns['rollback_base_fields']} fields: the state "
            "the latest run started from, for delete --run-id)"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``show``."""
    with open_saver(args) as saver:
        stored = saver.dump_thread(args.thread)
        serde = saver.serde
    if not stored:
        raise NotFound(f"no thread {args.thread!r}")
    if args.ns is not None:
        chosen = [s for s in stored if s.checkpoint_ns == args.ns]
        if not chosen:
            have = ", ".join(repr(s.checkpoint_ns) for s in stored)
            raise NotFound(
                f"thread {args.thread!r} has no namespace {args.ns!r} (it has {have})"
            )
        stored = chosen
    stored = sorted(stored, key=lambda s: s.checkpoint_ns)
    shown = [_namespace(serde, s) for s in stored]
    lines: list[str] = []
    for ns in shown:
        if lines:
            lines.append("")
        lines += _lines(args.thread, ns, args.full)
    undecodable = sum(_count_undecodable(ns) for ns in shown)
    if undecodable:
        lines.append("")
        lines.append(
            f"{undecodable} value(s) could not be decoded with this serde; "
            "the rest is shown"
        )
    emit(
        args,
        {"thread_id": args.thread, "namespaces": [_as_json(ns) for ns in shown]},
        lines,
    )
    return EXIT_OK


def _count_undecodable(ns: dict[str, Any]) -> int:
    values = [ns["metadata"], ns["checkpoint_undecodable"]]
    values += [c["value"] for c in ns["channels"]]
    values += [w["value"] for w in ns["pending_writes"]]
    return sum(isinstance(v, _Undecodable) for v in values)
