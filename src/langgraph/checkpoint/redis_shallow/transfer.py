"""Copying checkpoints from another saver: what to copy, and the tally.

``copy_from`` reads any LangGraph saver through its public ``list`` API and
stores, per (thread, namespace), the newest checkpoints (as many as the
saver's ``keep_last``) with their pending writes. This module picks those
tuples and groups their writes; it does no I/O, so both savers (and the
command line) share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

from .config import parse_thread_id
from .errors import InvalidConfigError

__all__ = [
    "CopySummary",
    "Latest",
    "address",
    "parent_id",
    "parse_thread_ids",
    "writes_by_task",
]


@dataclass
class CopySummary:
    """What ``copy_from`` did.

    Attributes:
        threads: threads written to.
        namespaces: (thread, namespace) pairs written to.
        checkpoints: checkpoints written (one per namespace with
            ``keep_last=1``).
        writes: pending writes written with them.
        skipped_newer: namespaces left alone because this saver already
            held a newer checkpoint there.
    """

    threads: int = 0
    namespaces: int = 0
    checkpoints: int = 0
    writes: int = 0
    skipped_newer: int = 0
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)
    _seen_ns: set[tuple[str, str]] = field(
        default_factory=set, repr=False, compare=False
    )

    def add_checkpoint(self, thread_id: str, checkpoint_ns: str) -> None:
        """Count one checkpoint written in (``thread_id``, ``checkpoint_ns``)."""
        self.checkpoints += 1
        if (thread_id, checkpoint_ns) not in self._seen_ns:
            self._seen_ns.add((thread_id, checkpoint_ns))
            self.namespaces += 1
        if thread_id not in self._seen:
            self._seen.add(thread_id)
            self.threads += 1


def address(tup: CheckpointTuple) -> tuple[str, str, str]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` of a listed tuple."""
    conf = tup.config.get("configurable", {})
    thread_id = conf.get("thread_id")
    if thread_id is None:
        raise InvalidConfigError(
            f"the source listed a checkpoint without a thread_id: {tup.config!r}"
        )
    return (
        str(thread_id),
        str(conf.get("checkpoint_ns") or ""),
        str(tup.checkpoint["id"]),
    )


class Latest:
    """Keeps the ``keep`` newest tuples per (thread, namespace) of a listing.

    LangGraph's checkpoint ids are time-ordered (UUID v6), so the newest are
    those with the greatest ids, whatever order the source lists in.
    """

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep
        self._by_key: dict[tuple[str, str], dict[str, CheckpointTuple]] = {}

    def add(self, tup: CheckpointTuple) -> None:
        """Keep ``tup`` if it is among the newest of its (thread, namespace)."""
        thread_id, ns, checkpoint_id = address(tup)
        held = self._by_key.setdefault((thread_id, ns), {})
        held[checkpoint_id] = tup
        if len(held) > self.keep:
            del held[min(held)]

    def tuples(self) -> Iterator[CheckpointTuple]:
        """The kept tuples, by thread and namespace, oldest first within
        each (the order to put them in)."""
        for key in sorted(self._by_key):
            held = self._by_key[key]
            for checkpoint_id in sorted(held):
                yield held[checkpoint_id]


def parent_id(tup: CheckpointTuple) -> str | None:
    """The checkpoint id ``tup.parent_config`` names, if any."""
    parent = tup.parent_config or {}
    found = parent.get("configurable", {}).get("checkpoint_id")
    return None if found is None else str(found)


def writes_by_task(
    pending_writes: Iterable[tuple[str, str, Any]],
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Pending writes grouped per task id, each group in its listed order,
    as ``put_writes`` takes them (one call per task)."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in pending_writes:
        groups.setdefault(task_id, []).append((channel, value))
    return list(groups.items())


def parse_thread_ids(
    thread_ids: Sequence[str] | None, operation: str
) -> list[str] | None:
    """Validate an optional list of thread ids."""
    if thread_ids is None:
        return None
    if isinstance(thread_ids, (str, bytes)):
        raise InvalidConfigError(
            f"{operation}: thread_ids must be a list of ids, not a str"
        )
    return [parse_thread_id(t, operation) for t in thread_ids]
