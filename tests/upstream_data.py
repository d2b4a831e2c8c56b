"""Datasets written by ``langgraph-checkpoint-redis`` 0.5.2 ("upstream").

The migration tests build what they migrate by running real graphs on
upstream's three savers (sync ``ShallowRedisSaver``, async
``AsyncShallowRedisSaver``, full ``RedisSaver``) and, for the bulk path, by
calling their ``put`` and ``put_writes`` directly. This module is sync and
hand-written (not generated): the async upstream class runs on an event loop
of its own in a worker thread, so it can be driven from sync and async tests.

Upstream is a test-only dependency (the ``test`` extra).
"""

from __future__ import annotations

import asyncio
import operator
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypedDict

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command

from tests._async.graph_support import interrupt_in

KINDS = ("sync_shallow", "async_shallow", "full")
"""The upstream savers whose data is migrated (bulk data: these three)."""

GRAPH_KINDS = (*KINDS, "full_async")
"""The savers the graph tests run on: also the full ``AsyncRedisSaver``."""


class Chat(TypedDict, total=False):
    """The state of the chat graph: messages and an additive counter."""

    messages: Annotated[list[Any], add_messages]
    n: Annotated[int, operator.add]


def chat_graph(checkpointer: Any, scenario: str = "parent") -> Any:
    """``sub`` (a subgraph that replies) then ``ask`` (interrupts), then ``count``.

    With ``scenario="sub"`` the interrupting node is inside the subgraph, so
    the pending interrupt lives in the subgraph's namespace.
    """

    def reply(state: Chat) -> Chat:
        return {"messages": [("ai", f"reply {len(state['messages'])}")]}

    def ask(state: Chat, config: RunnableConfig) -> Chat:
        answer = interrupt_in(config, "approve?")
        return {"messages": [("human", f"answer {answer}")]}

    def count(state: Chat) -> Chat:
        return {"n": 1}

    sub = StateGraph(Chat)
    sub.add_node("reply", reply)
    sub.add_edge(START, "reply")
    if scenario == "sub":
        sub.add_node("ask", ask)
        sub.add_edge("reply", "ask")
        sub.add_edge("ask", END)
    else:
        sub.add_edge("reply", END)
    builder = StateGraph(Chat)
    builder.add_node("sub", sub.compile())
    builder.add_node("count", count)
    builder.add_edge(START, "sub")
    if scenario == "sub":
        builder.add_edge("sub", "count")
    else:
        builder.add_node("ask", ask)
        builder.add_edge("sub", "ask")
        builder.add_edge("ask", "count")
    builder.add_edge("count", END)
    return builder.compile(checkpointer=checkpointer)


SCENARIOS: dict[str, tuple[list[Any], list[Any]]] = {
    # the interrupt in the parent graph
    "parent": (
        [
            {"messages": [("human", "hi")], "n": 0},
            Command(update={"n": 10}),
        ],
        [
            Command(resume="ok"),
            {"messages": [("human", "more")]},
            Command(resume="fine"),
        ],
    ),
    # the interrupt in the subgraph's namespace
    "sub": (
        [
            {"messages": [("human", "hi")], "n": 0},
            Command(update={"n": 10}),
        ],
        [
            Command(resume="ok"),
            {"messages": [("human", "more")]},
            Command(resume="fine"),
        ],
    ),
}
"""Per scenario: the turns run on upstream before the migration (the first
stops at the interrupt, the second applies a ``Command(update=...)`` while it
is pending, so it stays pending), and the turns run on our saver after it.
Upstream itself would apply the update a second time on the next turn (its
stale writes); after the migration it is applied once."""


def state_of(snapshot: Any) -> Any:
    """A comparable form of a ``StateSnapshot`` (message ids left out)."""
    values = snapshot.values
    return {
        "messages": [(m.type, m.content) for m in values.get("messages", [])],
        "n": values.get("n"),
        "next": snapshot.next,
        "interrupts": [i.value for i in snapshot.interrupts],
    }


def result_of(result: Any) -> Any:
    """A comparable form of what ``invoke`` returned."""
    return {
        "messages": [(m.type, m.content) for m in result.get("messages", [])],
        "n": result.get("n"),
        "interrupts": [i.value for i in result.get("__interrupt__", [])],
    }


def run_in_thread(fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on its own event loop in a worker thread."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(fn()))
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


def upstream_prefixes(prefix: str) -> tuple[str, str]:
    """Upstream's (checkpoint_prefix, checkpoint_write_prefix) of a test."""
    return f"{prefix}_ucp", f"{prefix}_uw"


def _sync_saver(kind: str, url: str, prefix: str) -> Any:
    from langgraph.checkpoint.redis import RedisSaver
    from langgraph.checkpoint.redis.shallow import ShallowRedisSaver

    cp, wp = upstream_prefixes(prefix)
    cls = RedisSaver if kind == "full" else ShallowRedisSaver
    saver = cls(url, checkpoint_prefix=cp, checkpoint_write_prefix=wp)
    saver.setup()
    return saver


def run_turns(
    kind: str, scenario: str, url: str, prefix: str, thread_id: str
) -> list[Any]:
    """Run the turns before the migration on the upstream saver ``kind``."""
    config = {"configurable": {"thread_id": thread_id}}
    before = SCENARIOS[scenario][0]
    if kind in ("async_shallow", "full_async"):
        from langgraph.checkpoint.redis.aio import AsyncRedisSaver
        from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver

        cp, wp = upstream_prefixes(prefix)
        cls = AsyncRedisSaver if kind == "full_async" else AsyncShallowRedisSaver

        async def go() -> list[Any]:
            async with cls.from_conn_string(
                url, checkpoint_prefix=cp, checkpoint_write_prefix=wp
            ) as saver:
                await saver.asetup()
                graph = chat_graph(saver, scenario)
                return [result_of(await graph.ainvoke(t, config)) for t in before]

        return list(run_in_thread(go))
    saver = _sync_saver(kind, url, prefix)
    try:
        graph = chat_graph(saver, scenario)
        return [result_of(graph.invoke(t, config)) for t in before]
    finally:
        saver._redis.close()


def reference(scenario: str, thread_id: str) -> tuple[list[Any], Any]:
    """All turns of the scenario on ``InMemorySaver``: results, final state."""
    from langgraph.checkpoint.memory import InMemorySaver

    graph = chat_graph(InMemorySaver(), scenario)
    config = {"configurable": {"thread_id": thread_id}}
    before, after = SCENARIOS[scenario]
    results = [result_of(graph.invoke(t, config)) for t in [*before, *after]]
    return results, state_of(graph.get_state(config))


# -- bulk data: direct put / put_writes ----------------------------------------


def _checkpoint(step: int, messages: list[Any]) -> dict[str, Any]:
    cp = empty_checkpoint()
    cp["id"] = str(uuid.uuid6()) if hasattr(uuid, "uuid6") else _uuid6()
    version = f"{step:032}.{0.5:016}"
    cp["channel_values"] = {"messages": messages, "n": step}
    cp["channel_versions"] = {"messages": version, "n": version}
    return dict(cp)


def _uuid6() -> str:
    from langgraph.checkpoint.base.id import uuid6

    return str(uuid6())


def bulk_ops(thread_id: str) -> list[tuple[str, Any]]:
    """What one bulk thread receives: two checkpoints, writes on each.

    The writes of the first checkpoint stay in upstream's shallow registry
    (stale: 2 per thread); the second checkpoint has 2 writes of one task.
    """
    from langchain_core.messages import AIMessage, HumanMessage

    first = _checkpoint(1, [HumanMessage(content=f"hello {thread_id}")])
    second = _checkpoint(
        2,
        [
            HumanMessage(content=f"hello {thread_id}"),
            AIMessage(content="hi there"),
        ],
    )
    meta1 = {"source": "loop", "step": 1, "parents": {}}
    meta2 = {"source": "loop", "step": 2, "parents": {}}
    return [
        ("put", (first, meta1)),
        ("writes", ([("messages", ["stale"]), ("n", 99)], "task-old", "")),
        ("put", (second, meta2)),
        (
            "writes",
            ([("messages", [f"pending {thread_id}"]), ("n", 3)], "task-new", "~path"),
        ),
    ]


def _apply_sync(saver: Any, thread_id: str) -> None:
    config: dict[str, Any] = {
        "configurable": {"thread_id": thread_id, "checkpoint_ns": ""}
    }
    for op, args in bulk_ops(thread_id):
        if op == "put":
            cp, meta = args
            config = saver.put(config, cp, meta, dict(cp["channel_versions"]))
        else:
            writes, task_id, task_path = args
            saver.put_writes(config, writes, task_id, task_path)


def write_bulk(url: str, prefix: str, thread_ids: dict[str, list[str]]) -> None:
    """Write the bulk threads: ``thread_ids`` maps each kind to its threads."""
    for kind in ("sync_shallow", "full"):
        if thread_ids.get(kind):
            saver = _sync_saver(kind, url, prefix)
            try:
                for tid in thread_ids[kind]:
                    _apply_sync(saver, tid)
            finally:
                saver._redis.close()
    if thread_ids.get("async_shallow"):
        from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver

        cp, wp = upstream_prefixes(prefix)

        async def go() -> None:
            async with AsyncShallowRedisSaver.from_conn_string(
                url, checkpoint_prefix=cp, checkpoint_write_prefix=wp
            ) as saver:
                await saver.asetup()
                for tid in thread_ids["async_shallow"]:
                    config: dict[str, Any] = {
                        "configurable": {"thread_id": tid, "checkpoint_ns": ""}
                    }
                    for op, args in bulk_ops(tid):
                        if op == "put":
                            cp_, meta = args
                            config = await saver.aput(
                                config, cp_, meta, dict(cp_["channel_versions"])
                            )
                        else:
                            writes, task_id, task_path = args
                            await saver.aput_writes(config, writes, task_id, task_path)

        run_in_thread(go)


def upstream_tuple(
    kind: str, url: str, prefix: str, thread_id: str, ns: str = ""
) -> Any:
    """What upstream's own ``get_tuple`` returns for the thread (sync)."""
    saver = _sync_saver(kind, url, prefix) if kind != "async_shallow" else None
    if saver is None:
        from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver

        cp, wp = upstream_prefixes(prefix)

        async def go() -> Any:
            async with AsyncShallowRedisSaver.from_conn_string(
                url, checkpoint_prefix=cp, checkpoint_write_prefix=wp
            ) as s:
                return await s.aget_tuple(
                    {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
                )

        return run_in_thread(go)
    try:
        return saver.get_tuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        )
    finally:
        saver._redis.close()


# -- cleanup -------------------------------------------------------------------


def drop_upstream(url: str, prefix: str, thread_ids: list[str]) -> None:
    """Remove a test's upstream keys, registries and search indexes."""
    client = redis.Redis.from_url(url)
    try:
        cp, wp = upstream_prefixes(prefix)
        patterns = [f"{cp}*", f"{wp}*"]
        patterns += [f"write_*:{t}:*" for t in thread_ids]
        for pattern in patterns:
            keys = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(keys), 1000):
                client.unlink(*keys[i : i + 1000])
        for index in (cp, wp):
            try:
                client.execute_command("FT.DROPINDEX", index)
            except redis.ResponseError:
                pass
    finally:
        client.close()


@contextmanager
def upstream_dataset(url: str, prefix: str, thread_ids: list[str]) -> Iterator[None]:
    """Drop the test's upstream data when the block ends."""
    try:
        yield
    finally:
        drop_upstream(url, prefix, thread_ids)


def saver_kind_of(saver: BaseCheckpointSaver[Any]) -> str:
    """Name of a saver's class (for messages)."""
    return type(saver).__name__


def migrate_cli(url: str, prefix: str, *extra: str, target: str | None = None) -> int:
    """``migrate`` from the test's upstream prefixes into its saver prefixes
    (``{prefix}:cp`` / ``{prefix}:w``, those of the ``asaver`` fixture)."""
    from langgraph.checkpoint.redis_shallow.cli import main

    cp, wp = upstream_prefixes(prefix)
    return main(
        [
            "migrate",
            "--from-upstream", url,
            "--to", target or url,
            "--upstream-checkpoint-prefix", cp,
            "--upstream-checkpoint-write-prefix", wp,
            "--checkpoint-prefix", f"{prefix}:cp",
            "--checkpoint-write-prefix", f"{prefix}:w",
            *extra,
        ]
    )  # fmt: skip
