"""Write ``user-42.jsonl``, the backup docs/command-line.md's session uses.

Runs the approval graph of docs/command-line.md on thread ``user-42`` up to its interrupt
(a real checkpoint, with a pending interrupt) and exports it with the
command line. Run it against a Redis it may write to:

    REDIS_URL=redis://localhost:6379 python examples/cli/make_backup.py

The file is committed so that that session shows fixed ids and sizes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from langgraph.checkpoint.redis_shallow.cli import main

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379")
OUT = Path(__file__).with_name("user-42.jsonl")


def draft(state: MessagesState) -> dict[str, Any]:
    question = state["messages"][-1].content
    return {"messages": [("ai", f"Draft: refund $40 for {question!r}")]}


def approve(state: MessagesState) -> dict[str, Any]:
    decision = interrupt({"review": state["messages"][-1].content})
    return {"messages": [("ai", "Sent." if decision == "yes" else "Discarded.")]}


builder = StateGraph(MessagesState)
builder.add_node("draft", draft)
builder.add_node("approve", approve)
builder.add_edge(START, "draft")
builder.add_edge("draft", "approve")

with ShallowRedisSaver.from_conn_string(REDIS_URL) as saver:
    saver.setup()
    saver.delete_thread("user-42")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "user-42"}}
    graph.invoke({"messages": [("user", "order 1234 arrived broken")]}, config)
    status = main(["--url", REDIS_URL, "export", "user-42", "--out", str(OUT)])
    saver.delete_thread("user-42")
raise SystemExit(status)
