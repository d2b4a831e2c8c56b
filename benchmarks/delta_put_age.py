"""How a ``DeltaChannel`` thread's non-snapshot ``put`` costs grow: by the
thread's age, and by the position in the snapshot cycle.

    python benchmarks/delta_put_age.py

One thread of 400 turns (a user message and a reply, ``corpus.text``) on
``AsyncShallowRedisSaver`` alone with an embedded Redis, ``durability="sync"``,
a ``DeltaChannel`` of messages at the default ``snapshot_frequency`` (a
snapshot every 50 turns here). Prints the median non-snapshot ``put`` over
windows of 10 turns and by position in the 50-turn cycle. The section 6 of
``run.py`` measures the same next to the other savers; this one runs in
seconds, so it can be repeated on a quiet machine.
"""

import asyncio
import random
import statistics
import sys
import time

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "tools")
from typing import Annotated, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

import corpus
from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from redis_server import RedisServer


def add_all(state, writes):
    for w in writes:
        state = add_messages(state, w)
    return state


class S(TypedDict):
    messages: Annotated[list[AnyMessage], DeltaChannel(add_all)]


rng = random.Random(0)


def node(s):
    return {"messages": [AIMessage(corpus.text(rng, 350))]}


g = StateGraph(S)
g.add_node("n", node)
g.add_edge(START, "n")
g.add_edge("n", END)


async def main():
    srv = RedisServer(kind="modules").start()
    try:
        async with AsyncShallowRedisSaver.from_conn_string(srv.url) as saver:
            await saver.asetup()
            puts = []  # (turn, seconds, snapshot?)
            orig = saver.aput
            turn = [0]

            async def aput(config, checkpoint, metadata, new_versions):
                snap = any(
                    type(v).__name__ == "_DeltaSnapshot"
                    for v in checkpoint["channel_values"].values()
                )
                t = time.perf_counter()
                r = await orig(config, checkpoint, metadata, new_versions)
                puts.append((turn[0], time.perf_counter() - t, snap))
                return r

            saver.aput = aput
            app = g.compile(checkpointer=saver)
            cfg = {"configurable": {"thread_id": "age"}}
            for i in range(1, 401):
                turn[0] = i
                await app.ainvoke(
                    {"messages": [HumanMessage(corpus.text(rng, 250))]},
                    cfg,
                    durability="sync",
                )

            def med(lo, hi):
                xs = [d for t, d, s in puts if lo <= t <= hi and not s]
                return statistics.median(xs) * 1e6, len(xs)

            for lo, hi in (
                (1, 10),
                (91, 100),
                (191, 200),
                (291, 300),
                (391, 400),
                (351, 360),
                (376, 385),
            ):
                m, n = med(lo, hi)
                print(f"turns {lo}-{hi}: non-snapshot put median {m:.0f} us (n={n})")
            a, _ = med(1, 10)
            b, _ = med(391, 400)
            print(f"ratio 391-400 / 1-10: {b / a:.2f}x")
            # by position in the 50-turn snapshot cycle
            for p in range(0, 50, 10):
                xs = [
                    d for t, d, s in puts if (t - 1) % 50 in range(p, p + 10) and not s
                ]
                print(
                    f"cycle position {p}-{p + 9}: {statistics.median(xs) * 1e6:.0f} us (n={len(xs)})"
                )
    finally:
        srv.stop()


asyncio.run(main())
