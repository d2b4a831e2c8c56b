"""A one-node graph for tests/test_langgraph_server_late_writes.py.

``work`` waits ``delay`` seconds, then logs the topic. No checkpointer here:
the server passes the one ``langgraph.json`` names (``checkpointer.py``).
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    """A topic, a log of the turns, the delay of ``work``."""

    topic: str
    log: Annotated[list[str], operator.add]
    delay: float


async def work(state: State) -> dict[str, Any]:
    """Log the topic (after ``delay`` seconds, if any)."""
    delay = state.get("delay") or 0
    if delay:
        await asyncio.sleep(delay)
    return {"log": [f"work: {state.get('topic', '')}"], "delay": 0}


builder = StateGraph(State)
builder.add_node("work", work)
builder.add_edge(START, "work")
builder.add_edge("work", END)
graph = builder.compile()
