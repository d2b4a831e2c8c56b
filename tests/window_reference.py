"""What the saver must do, written once: ``InMemorySaver`` pruned to a window.

:class:`WindowReference` is the reference of the history window (issue 18,
``keep_last=K``): it behaves as ``InMemorySaver`` would if, after every
``put``, each (thread, namespace) were pruned to its ``keep_last`` most
recent checkpoints (by id: LangGraph's ids are time-ordered), together with
their pending writes, plus the refusals of this saver
(docs/design.md, "Stale configs" and "Deleted threads stay deleted"):

- a ``put`` whose parent is not in the window, or without a parent and
  older than the newest checkpoint, or of a checkpoint of the window but
  the newest, raises ``StaleCheckpointError``;
- ``get_tuple`` of an id that left the window (a LangGraph id older than
  the newest) raises ``StaleCheckpointError``; of an id never stored,
  ``None``;
- ``parent_config`` names the parent while it is in the window (so at
  ``keep_last=1`` it is always ``None``, and reading it never fails);
- ``list`` of a thread is newest first across its namespaces;
- deletions leave a tombstone (the newest id they removed), and a late
  ``put`` or ``put_writes`` of a deleted checkpoint raises
  ``ThreadDeletedError``.

It is an ``InMemorySaver`` itself, so graphs run on it as on the saver
(its async methods call these sync ones). It does no I/O, so both
variants' tests use it as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow.errors import (
    StaleCheckpointError,
    ThreadDeletedError,
)


def _conf(config: RunnableConfig) -> tuple[str, str, str | None]:
    c = config["configurable"]
    return str(c["thread_id"]), c.get("checkpoint_ns", ""), c.get("checkpoint_id")


def _langgraph_id(checkpoint_id: str) -> bool:
    try:
        return uuid.UUID(checkpoint_id).version == 6
    except ValueError:
        return False


class WindowReference(InMemorySaver):
    """``InMemorySaver`` pruned to the last ``keep_last`` checkpoints of each
    (thread, namespace), with the saver's refusals (see the module doc)."""

    def __init__(self, keep_last: int = 1) -> None:
        super().__init__()
        self.keep_last = keep_last
        self.tombstones: dict[str, str] = {}

    # -- what is stored -------------------------------------------------

    def window(self, thread_id: str, ns: str) -> list[str]:
        """The ids a namespace holds, newest first."""
        stored = self.storage.get(thread_id, {}).get(ns, {})
        return sorted(stored, reverse=True)

    def _prune(self, thread_id: str, ns: str, keep: int) -> None:
        for old in self.window(thread_id, ns)[keep:]:
            del self.storage[thread_id][ns][old]
            self.writes.pop((thread_id, ns, old), None)

    def _drop_writes(self, thread_id: str, keep: set[tuple[str, str, str]]) -> None:
        for key in [k for k in self.writes if k[0] == thread_id]:
            if key not in keep:
                del self.writes[key]

    # -- the saver's operations -------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """``put``, or the saver's refusal (nothing stored)."""
        thread_id, ns, parent = _conf(config)
        new_id = checkpoint["id"]
        window = self.window(thread_id, ns)
        if new_id in window[1:]:  # a checkpoint of the window again
            raise StaleCheckpointError(thread_id, ns, new_id, window[0])
        if window and new_id not in window:
            if parent and parent not in window:
                raise StaleCheckpointError(thread_id, ns, parent, window[0])
            if not parent and new_id < window[0]:
                raise StaleCheckpointError(thread_id, ns, new_id, window[0])
        tomb = self.tombstones.get(thread_id)
        if not window and parent and tomb is not None and parent <= tomb:
            self.tombstones[thread_id] = max(tomb, new_id)
            self.writes.pop((thread_id, ns, new_id), None)
            raise ThreadDeletedError(thread_id, ns, parent, tomb)
        stored = super().put(config, checkpoint, metadata, new_versions)
        self._prune(thread_id, ns, self.keep_last)
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """``put_writes``, or the saver's refusal of a deleted checkpoint's."""
        thread_id, ns, checkpoint_id = _conf(config)
        tomb = self.tombstones.get(thread_id)
        window = self.window(thread_id, ns)
        if tomb is not None and checkpoint_id not in window and checkpoint_id <= tomb:
            raise ThreadDeletedError(thread_id, ns, checkpoint_id, checkpoint_id)
        super().put_writes(config, writes, task_id, task_path)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """``get_tuple``: the newest, or the one named if in the window."""
        thread_id, ns, checkpoint_id = _conf(config)
        window = self.window(thread_id, ns)
        if not window:
            return None
        if checkpoint_id is None:
            checkpoint_id = window[0]
        elif checkpoint_id not in window:
            if _langgraph_id(checkpoint_id) and checkpoint_id < window[0]:
                raise StaleCheckpointError(thread_id, ns, checkpoint_id, window[0])
            return None
        found = super().get_tuple(
            {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            }
        )
        return None if found is None else self._windowed(found, window)

    @staticmethod
    def _windowed(tup: CheckpointTuple, window: list[str]) -> CheckpointTuple:
        parent = tup.parent_config
        if parent is not None and parent["configurable"]["checkpoint_id"] in window:
            return tup
        return tup._replace(parent_config=None)

    def list(  # type: ignore[override]
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> list[CheckpointTuple]:
        """``list`` of one thread (or one namespace of it), newest first."""
        assert config is not None, "the reference lists one thread"
        thread_id = _conf(config)[0]
        found = [
            self._windowed(
                t, self.window(thread_id, t.config["configurable"]["checkpoint_ns"])
            )
            for t in super().list(config, filter=filter, before=before)
        ]
        found.sort(key=lambda t: t.checkpoint["id"], reverse=True)
        return found[:limit] if limit is not None else found

    def delete_thread(self, thread_id: str) -> None:
        """``delete_thread``: the thread goes, its newest id is buried."""
        newest = [
            ids[0]
            for ns in self.storage.get(thread_id, {})
            if (ids := self.window(thread_id, ns))
        ]
        if newest:
            tomb = self.tombstones.get(thread_id)
            self.tombstones[thread_id] = max([*newest, *([tomb] if tomb else [])])
        super().delete_thread(thread_id)

    def prune(  # type: ignore[override]
        self, thread_ids: Sequence[str], strategy: str = "keep_latest"
    ) -> None:
        """``prune``: ``keep_latest`` keeps each namespace's newest checkpoint
        and its writes; ``delete`` / ``delete_all`` delete the threads."""
        for thread_id in thread_ids:
            if strategy != "keep_latest":
                self.delete_thread(thread_id)
                continue
            keep = set()
            for ns in list(self.storage.get(thread_id, {})):
                self._prune(thread_id, ns, 1)
                keep.update((thread_id, ns, i) for i in self.window(thread_id, ns))
            self._drop_writes(thread_id, keep)
