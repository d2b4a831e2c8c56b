"""What the benchmark stores: chat checkpoints, pending writes, a small graph.

The base checkpoint is made by LangGraph itself: a one-node
``MessagesState`` graph runs once on ``InMemorySaver`` with N - 1 input
messages (its node adds the N-th), so ``channel_values``,
``channel_versions`` and ``versions_seen`` are exactly what a real graph
writes. Each benchmark step then stores a new checkpoint that bumps the
``messages`` version (the way a graph step does), with ``new_versions``
naming only that channel.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

import corpus

MESSAGE_CHARS = 200
TASK_PATH = "~__pregel_pull, a"


def text(rng: random.Random, chars: int = MESSAGE_CHARS) -> str:
    """About ``chars`` characters of real English prose (``corpus.py``:
    consecutive sentences of the standard library's docstrings)."""
    return corpus.text(rng, chars)


def messages(n: int, seed: int = 0) -> list[Any]:
    """``n`` alternating Human/AI messages of about 200 characters of
    English text."""
    rng = random.Random(seed)
    return [
        (HumanMessage if i % 2 == 0 else AIMessage)(content=text(rng)) for i in range(n)
    ]


def base_checkpoint(n: int) -> tuple[Checkpoint, CheckpointMetadata]:
    """A real LangGraph checkpoint whose ``messages`` channel holds ``n``
    messages (with the ids ``add_messages`` gives them)."""
    reply = text(random.Random(n + 1))

    def node(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(content=reply)]}

    builder = StateGraph(MessagesState)
    builder.add_node("a", node)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "base"}}
    graph.invoke({"messages": messages(n - 1, seed=n)}, config)
    tup = saver.get_tuple(config)
    assert tup is not None
    assert len(tup.checkpoint["channel_values"]["messages"]) == n
    return tup.checkpoint, tup.metadata


def writes(rng: random.Random) -> list[tuple[str, Any]]:
    """The 3 pending writes of one task: a new AI message and two branches."""
    return [
        ("messages", [AIMessage(content=text(rng), id=str(uuid.uuid4()))]),
        ("branch:to:b", None),
        ("branch:to:c", None),
    ]


class Thread:
    """One benchmark thread: what the next ``put`` needs to know."""

    __slots__ = ("checkpoint_id", "step", "thread_id", "versions")

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.checkpoint_id: str | None = None
        self.versions: dict[str, Any] = {}
        self.step = -1

    def config(self, with_id: bool = True) -> dict[str, Any]:
        conf: dict[str, Any] = {"thread_id": self.thread_id, "checkpoint_ns": ""}
        if with_id and self.checkpoint_id is not None:
            conf["checkpoint_id"] = self.checkpoint_id
        return {"configurable": conf}


def next_put(
    saver: Any, thread: Thread, base: Checkpoint
) -> tuple[dict[str, Any], Checkpoint, CheckpointMetadata, dict[str, Any]]:
    """Arguments of the thread's next ``put`` (and advance the thread).

    The first put sends every channel; later ones bump ``messages`` only,
    with the saver's own ``get_next_version``.
    """
    config = thread.config()
    step = thread.step + 1
    if not thread.versions:
        versions = {
            ch: saver.get_next_version(None, None) for ch in base["channel_versions"]
        }
        new_versions = dict(versions)
    else:
        versions = dict(thread.versions)
        versions["messages"] = saver.get_next_version(versions["messages"], None)
        new_versions = {"messages": versions["messages"]}
    checkpoint: Checkpoint = {
        **base,
        "id": str(uuid6(clock_seq=step)),
        "ts": datetime.now(timezone.utc).isoformat(),
        "channel_versions": versions,
        "updated_channels": ["messages"],
    }
    metadata: CheckpointMetadata = {"source": "loop", "step": step, "parents": {}}
    thread.versions = versions
    thread.checkpoint_id = checkpoint["id"]
    thread.step = step
    return config, checkpoint, metadata, new_versions


def chain_graph(checkpointer: Any) -> Any:
    """A 3-node chain (a -> b -> c) on ``MessagesState``; each node adds one
    AI message of about 200 characters."""
    rng = random.Random(7)
    replies = [text(rng) for _ in range(3)]

    def make(reply: str) -> Any:
        def node(state: MessagesState) -> dict[str, Any]:
            return {"messages": [AIMessage(content=reply)]}

        return node

    builder = StateGraph(MessagesState)
    for name, reply in zip("abc", replies, strict=True):
        builder.add_node(name, make(reply))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=checkpointer)


def user_input(rng: random.Random) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=text(rng))]}
