"""Shared builders of the tests: configs, checkpoints, saver keys, graphs.

Both variants import it as it is (it holds no I/O), so the generated sync
tests use the same builders as the async ones they come from. New tests
build their inputs here rather than with a copy of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.graph import END, START, StateGraph


def cfg(thread_id: Any, ns: str = "", checkpoint_id: str | None = None) -> Any:
    """A LangGraph config of (thread, namespace), with a checkpoint id if
    given."""
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def checkpoint(
    values: dict[str, Any] | None = None,
    version: int = 1,
    *,
    versions: dict[str, Any] | None = None,
) -> Checkpoint:
    """A new checkpoint (fresh id) holding ``values`` (default ``{"a": 1}``),
    each channel at ``version``, or at the given ``versions`` (kept as
    given, even when they name other channels than ``values``)."""
    cp = empty_checkpoint()
    cp["channel_values"] = dict(values if values is not None else {"a": 1})
    if versions is not None:
        cp["channel_versions"] = dict(versions)
    else:
        cp["channel_versions"] = dict.fromkeys(cp["channel_values"], version)
    return cp


def checkpoint_at(n: int) -> Checkpoint:
    """The ``n``-th checkpoint of a thread: ``{"a": n}`` at version ``n``."""
    return checkpoint({"a": n}, n)


def saver_prefixes(prefix: str) -> dict[str, str]:
    """The key prefixes of a test's saver (``{prefix}:cp``, ``{prefix}:w``)."""
    return {
        "checkpoint_prefix": f"{prefix}:cp",
        "checkpoint_write_prefix": f"{prefix}:w",
    }


def layout_key(prefix: str) -> bytes:
    """The layout record of a test's saver: not data of any thread."""
    return f"{prefix}:cp:layout".encode()


Node = Callable[..., Any] | tuple[str, Any]


def chain_graph(state: Any, *nodes: Node) -> StateGraph:
    """``START -> nodes[0] -> nodes[1] ... -> END`` over ``state``, not yet
    compiled. A node is a function (named by its ``__name__``) or a
    ``(name, node)`` pair (a lambda, a compiled subgraph, a node made by a
    factory)."""
    builder = StateGraph(state)
    names = []
    for node in nodes:
        name, action = node if isinstance(node, tuple) else (node.__name__, node)
        builder.add_node(name, action)
        names.append(name)
    for start, end in zip([START, *names], [*names, END], strict=True):
        builder.add_edge(start, end)
    return builder
