"""Demo: a graph with a human approval step, on Redis, sync and async.

Run with ``nox -s demo`` (or ``python examples/demo.py``). It starts an
embedded Redis (or uses ``REDIS_URL``), runs the same graph with
``ShallowRedisSaver`` (``graph.invoke``) and ``AsyncShallowRedisSaver``
(``await graph.ainvoke``), and prints the state, what Redis holds for the
thread (each key with its type, length and memory) and the time each step
took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver, ShallowRedisSaver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))


class State(MessagesState):
    approved: bool


def draft(state: State) -> dict[str, Any]:
    """Drafts a reply to the last message."""
    question = state["messages"][-1].content
    return {
        "messages": [AIMessage(content=f"Draft reply to {question!r}: refund $40.")]
    }


def approve(state: State) -> dict[str, Any]:
    """Pauses for a human decision (interrupt), then records it."""
    decision = interrupt({"review": state["messages"][-1].content})
    return {"approved": decision == "yes"}


def send(state: State) -> dict[str, Any]:
    """Sends the reply if it was approved."""
    text = "Sent." if state["approved"] else "Discarded; a human will follow up."
    return {"messages": [AIMessage(content=text)]}


def build() -> Any:
    """The three-node graph: draft -> approve (human) -> send."""
    g = StateGraph(State)
    g.add_node("draft", draft)
    g.add_node("approve", approve)
    g.add_node("send", send)
    g.add_edge(START, "draft")
    g.add_edge("draft", "approve")
    g.add_edge("approve", "send")
    g.add_edge("send", END)
    return g


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` if set, else an embedded Redis for the demo's lifetime."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from redis_server import RedisServer

    with RedisServer(modules=True) as server:
        print(f"embedded Redis started at {server.url} (pid {server.pid})")
        yield server.url


LENGTH = {
    "hash": ("HLEN", "field", "fields"),
    "set": ("SCARD", "member", "members"),
    "string": ("STRLEN", "byte", "bytes"),
    "list": ("LLEN", "item", "items"),
    "zset": ("ZCARD", "member", "members"),
    "stream": ("XLEN", "entry", "entries"),
}
"""Per Redis type (as ``TYPE`` names it): the command that gives its length
and the length's unit (singular, plural)."""


def show_storage(url: str, prefix: str) -> None:
    """Print every key under ``prefix``: its type, its length (fields of a
    hash, members of a set, bytes of a string...) and the memory it takes."""
    client = redis.Redis.from_url(url)
    total = 0
    print(f"    in Redis ({prefix}:*):")
    print(f"      {'key':<28} {'type':<6} {'length':>11}  {'memory':>12}")
    for key in sorted(client.scan_iter(match=f"{prefix}:*")):
        kind = client.type(key).decode()
        size = client.memory_usage(key) or 0
        total += size
        if kind in LENGTH:
            command, one, many = LENGTH[kind]
            n = client.execute_command(command, key)
            length = f"{n} {one if n == 1 else many}"
        else:
            length = ""
        print(f"      {key.decode():<28} {kind:<6} {length:>11}  {size:>6} bytes")
    print(f"      total: {total} bytes of memory")
    client.close()


def show_state(values: dict[str, Any], nxt: tuple[str, ...]) -> None:
    for m in values.get("messages", []):
        print(f"    {type(m).__name__:<13} {m.content}")
    print(f"    next: {list(nxt) or 'done'}; approved: {values.get('approved')}")


def run_sync(url: str) -> None:
    prefix = "demo-sync"
    print("\n== ShallowRedisSaver: graph.invoke ==")
    with ShallowRedisSaver.from_conn_string(
        url, checkpoint_prefix=f"{prefix}:cp", checkpoint_write_prefix=f"{prefix}:w"
    ) as saver:
        saver.setup()
        saver.delete_thread("ticket-42")
        graph = build().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "ticket-42"}}
        t = time.perf_counter()
        graph.invoke(
            {"messages": [HumanMessage(content="Where is my refund?")]}, config
        )
        print(
            f"  step 1, until the approval interrupt: {(time.perf_counter() - t) * 1e3:.1f} ms"
        )
        state = graph.get_state(config)
        show_state(state.values, state.next)
        print(f"    waiting on: {state.tasks[0].interrupts[0].value}")
        show_storage(url, prefix)
        t = time.perf_counter()
        graph.invoke(Command(resume="yes"), config)
        print(f"  step 2, resumed with 'yes': {(time.perf_counter() - t) * 1e3:.1f} ms")
        state = graph.get_state(config)
        show_state(state.values, state.next)
        show_storage(url, prefix)
        saver.delete_thread("ticket-42")


async def run_async(url: str) -> None:
    prefix = "demo-async"
    print("\n== AsyncShallowRedisSaver: await graph.ainvoke ==")
    async with AsyncShallowRedisSaver.from_conn_string(
        url, checkpoint_prefix=f"{prefix}:cp", checkpoint_write_prefix=f"{prefix}:w"
    ) as saver:
        await saver.asetup()
        await saver.adelete_thread("ticket-43")
        graph = build().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "ticket-43"}}
        t = time.perf_counter()
        await graph.ainvoke(
            {"messages": [HumanMessage(content="Cancel my order")]}, config
        )
        print(
            f"  step 1, until the approval interrupt: {(time.perf_counter() - t) * 1e3:.1f} ms"
        )
        state = await graph.aget_state(config)
        show_state(state.values, state.next)
        print(f"    waiting on: {state.tasks[0].interrupts[0].value}")
        show_storage(url, prefix)
        t = time.perf_counter()
        await graph.ainvoke(Command(resume="no"), config)
        print(f"  step 2, resumed with 'no': {(time.perf_counter() - t) * 1e3:.1f} ms")
        state = await graph.aget_state(config)
        show_state(state.values, state.next)
        show_storage(url, prefix)
        await saver.adelete_thread("ticket-43")


ASYNC_NEEDS = (3, 11)
"""LangGraph's ``interrupt()`` in an async graph needs Python 3.11+ (the
context of a node's task is carried by asyncio only from 3.11)."""


def main() -> None:
    with redis_url() as url:
        run_sync(url)
        if sys.version_info >= ASYNC_NEEDS:
            asyncio.run(run_async(url))
        else:
            print(
                "\n(the async run needs Python 3.11+: LangGraph's interrupt() "
                "in an async graph; this is Python "
                f"{sys.version_info.major}.{sys.version_info.minor})"
            )
    print("\ndone")


if __name__ == "__main__":
    main()
