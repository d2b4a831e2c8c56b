"""An approval graph for the LangGraph server, persisted in Redis.

``langgraph.json`` next to this file serves it with ``langgraph dev`` on the
shallow Redis checkpointer (``server_checkpointer``, configured by
``REDIS_URL`` and ``LANGGRAPH_REDIS_*``). No model and no network: ``draft``
writes a line, ``review`` waits for a human (``interrupt``) and ``finish``
publishes or discards. ``delay`` (seconds) makes ``draft`` wait first, so
that a second run can arrive while the first is still going.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    """The thread's state: a topic, a log of what happened, the verdict."""

    topic: str
    log: Annotated[list[str], operator.add]
    approved: bool
    delay: float


async def draft(state: State) -> dict[str, Any]:
    """Write a draft of the topic (after ``delay`` seconds, if any)."""
    delay = state.get("delay") or 0
    if delay:
        await asyncio.sleep(delay)
    return {"log": [f"draft: {state.get('topic', '')}"], "delay": 0}


def review(state: State) -> dict[str, Any]:
    """Ask a human to approve the draft; resume with ``Command(resume=bool)``."""
    answer = interrupt({"question": f"publish {state.get('topic', '')!r}?"})
    return {"approved": bool(answer), "log": [f"review: {bool(answer)}"]}


def finish(state: State) -> dict[str, Any]:
    """Publish or discard, as the reviewer said."""
    return {"log": ["published" if state.get("approved") else "discarded"]}


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_node("finish", finish)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("review", "finish")
builder.add_edge("finish", END)

# No checkpointer here: the server passes its own (langgraph.json).
graph = builder.compile()
