"""Copying checkpoints from another saver: what to copy, and the tally.

``copy_from`` reads any LangGraph saver through its public ``list`` API and
stores, per (thread, namespace), the newest checkpoint with its pending
writes. This module picks those tuples and groups their writes; it does no
I/O, so both savers (and the command line) share it.
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
    "parse_thread_ids",
    "writes_by_task",
]


@dataclass
class CopySummary:
    """What ``copy_from`` did.

    Attributes:
        threads: threads written to.
        namespaces: (thread, namespace) checkpoints written.
        writes: pending writes written with them.
        skipped_newer: namespaces left alone because this saver already
            held a newer checkpoint there.
    """

    threads: int = 0
    namespaces: int = 0
    writes: int = 0
    skipped_newer: int = 0
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)

    def add_namespace(self, thread_id: str) -> None:
        """Count one namespace written in ``thread_id``."""
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
    """Keeps the newest tuple per (thread, namespace) of a listing.

    LangGraph's checkpoint ids are time-ordered (UUID v6), so the newest is
    the one with the greatest id, whatever order the source lists in.
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], CheckpointTuple] = {}

    def add(self, tup: CheckpointTuple) -> None:
        """Keep ``tup`` if it is the newest of its (thread, namespace)."""
        thread_id, ns, checkpoint_id = address(tup)
        held = self._by_key.get((thread_id, ns))
        if held is None or held.checkpoint["id"] < checkpoint_id:
            self._by_key[(thread_id, ns)] = tup

    def tuples(self) -> Iterator[CheckpointTuple]:
        """The kept tuples, by thread and namespace."""
        for key in sorted(self._by_key):
            yield self._by_key[key]


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
