"""Shared builders of the tests: configs, checkpoints and saver keys.

Both variants import it as it is (it holds no I/O), so the generated sync
tests use the same builders as the async ones they come from. New tests
build their inputs here rather than with a copy of their own.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import Checkpoint, empty_checkpoint


def cfg(thread_id: Any, ns: str = "", checkpoint_id: str | None = None) -> Any:
    """A LangGraph config of (thread, namespace), with a checkpoint id if
    given."""
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def checkpoint(values: dict[str, Any] | None = None, version: int = 1) -> Checkpoint:
    """A new checkpoint (fresh id) holding ``values`` (default ``{"a": 1}``),
    each channel at ``version``."""
    cp = empty_checkpoint()
    cp["channel_values"] = dict(values if values is not None else {"a": 1})
    cp["channel_versions"] = dict.fromkeys(cp["channel_values"], version)
    return cp


def saver_prefixes(prefix: str) -> dict[str, str]:
    """The key prefixes of a test's saver (``{prefix}:cp``, ``{prefix}:w``)."""
    return {
        "checkpoint_prefix": f"{prefix}:cp",
        "checkpoint_write_prefix": f"{prefix}:w",
    }


def layout_key(prefix: str) -> bytes:
    """The layout record of a test's saver: not data of any thread."""
    return f"{prefix}:cp:layout".encode()
