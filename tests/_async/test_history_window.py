"""Graphs that use history, on savers keeping the last 1, 2, 3 or 10
checkpoints, compared with ``InMemorySaver`` pruned the same way.

Each scenario runs on the saver (``window_saver``: ``keep_last`` 1, 2, 3
and 10) and on ``tests.window_reference.WindowReference`` with the same
``keep_last``, and everything the graph shows must be equal once normalized
(``graph_support.normalize``): ``get_state_history`` (values, next, tasks,
metadata, config and ``parent_config`` of every snapshot), replaying from
an older checkpoint, forks with ``update_state`` on an older config, an
interrupt resumed a second time from the checkpoint it paused at, an "edit
the first message and regenerate" fork, subgraphs and the three durability
modes. A step that reaches a checkpoint older than the window records the
error it raised (``StaleCheckpointError`` on both), so a window too small
for a scenario is compared too.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import StaleCheckpointError
from tests._async.graph_support import (
    Log,
    approval_graph,
    chat_graph,
    run_both,
)
from tests.builders import chain_graph
from tests.window_reference import WindowReference


async def attempt(step: Any) -> Any:
    """The result of ``await step()``, or the error it raised (by name)."""
    try:
        return await step()
    except StaleCheckpointError as exc:
        return ("error", type(exc).__name__)


async def history(graph: Any, config: Any) -> list[Any]:
    return [s async for s in graph.aget_state_history(config)]


async def test_history_replay_and_fork(
    window_saver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """Three turns, the history, a replay from each checkpoint the first
    turn made, and a fork with ``update_state`` from the oldest one."""

    async def scenario(cp: Any, config: Any) -> Any:
        graph = chat_graph(cp)
        for turn in range(3):
            message = HumanMessage(f"hi {turn}", id=f"human-{turn}")
            await graph.ainvoke({"messages": [message]}, config)
        seen: list[Any] = [await history(graph, config)]
        oldest = seen[0][-1].config
        first_turn = [s.config for s in seen[0] if s.metadata["step"] <= 1]
        for older in first_turn:
            seen.append(await attempt(partial(graph.ainvoke, None, older)))
        fork = await attempt(
            lambda: graph.aupdate_state(
                oldest, {"messages": [HumanMessage("edited", id="human-e")]}
            )
        )
        seen.append(fork)
        if isinstance(fork, dict):
            seen.append(await attempt(lambda: graph.ainvoke(None, fork)))
        seen.append(await history(graph, config))
        seen.append(await graph.aget_state(config))
        return seen

    await run_both(
        window_saver, thread_id, scenario, WindowReference(window_saver.keep_last)
    )


async def test_edit_the_first_message_and_regenerate(
    window_saver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """What a chat front end's "edit" button does: find the checkpoint
    before the first message was added (the parent of the checkpoint whose
    state first holds it) and run the graph from there with the edited
    message as input (the SDK's ``runs.create(..., checkpoint_id=...)``):
    a fork of the thread."""

    async def scenario(cp: Any, config: Any) -> Any:
        graph = chat_graph(cp)
        await graph.ainvoke({"messages": [HumanMessage("hi", id="h-1")]}, config)
        await graph.ainvoke({"messages": [HumanMessage("more", id="h-2")]}, config)
        states = await history(graph, config)
        holding = [s for s in states if s.values.get("messages")]
        first = holding[-1]  # the oldest state that holds the first message
        seen: list[Any] = [states, first.parent_config]
        if first.parent_config is None:
            return seen
        edited = HumanMessage("hello there", id="h-1")
        seen.append(
            await attempt(
                lambda: graph.ainvoke({"messages": [edited]}, first.parent_config)
            )
        )
        seen.append(await graph.aget_state(config))
        seen.append(await history(graph, config))
        return seen

    seen = await run_both(
        window_saver, thread_id, scenario, WindowReference(window_saver.keep_last)
    )
    if window_saver.keep_last >= 6:  # the whole thread is in the window
        final = seen[3]["values"]["messages"]
        assert [m.content for m in final] == ["hello there", "echo hello there"]


async def test_an_interrupt_resumed_again_from_its_checkpoint(
    window_saver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """Pause at an interrupt, resume with "yes"; then resume the paused
    checkpoint again, with "no", from its config: a fork of the thread."""

    async def scenario(cp: Any, config: Any) -> Any:
        graph = approval_graph(cp)
        await graph.ainvoke({"log": ["start"]}, config)
        paused = await graph.aget_state(config)
        seen: list[Any] = [paused]
        seen.append(await graph.ainvoke(Command(resume="yes"), config))
        seen.append(
            await attempt(lambda: graph.ainvoke(Command(resume="no"), paused.config))
        )
        seen.append(await graph.aget_state(config))
        seen.append(await history(graph, config))
        return seen

    await run_both(
        window_saver, thread_id, scenario, WindowReference(window_saver.keep_last)
    )


def nested_graph(cp: Any) -> Any:
    """A parent whose second node is a subgraph of two steps."""

    def inner(name: str) -> Any:
        return (name, lambda state: {"log": [name]})

    sub = chain_graph(Log, inner("sub-a"), inner("sub-b")).compile()
    return chain_graph(Log, inner("outer"), ("sub", sub)).compile(checkpointer=cp)


async def test_subgraphs_keep_their_window(
    window_saver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """Two runs through a subgraph; the parent's history and its replay."""

    async def scenario(cp: Any, config: Any) -> Any:
        graph = nested_graph(cp)
        await graph.ainvoke({"log": ["in-1"]}, config)
        await graph.ainvoke({"log": ["in-2"]}, config)
        states = await history(graph, config)
        seen: list[Any] = [states, await graph.aget_state(config, subgraphs=True)]
        seen.append(await attempt(lambda: graph.ainvoke(None, states[-1].config)))
        return seen

    await run_both(
        window_saver, thread_id, scenario, WindowReference(window_saver.keep_last)
    )


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_durability_modes_keep_the_same_window(
    window_saver: AsyncShallowRedisSaver, thread_id: str, durability: str
) -> None:
    """Three turns in each durability mode: the same history, the same
    replay from the oldest checkpoint kept."""

    async def scenario(cp: Any, config: Any) -> Any:
        graph = chat_graph(cp)
        for turn in range(3):
            message = HumanMessage(f"hi {turn}", id=f"human-{turn}")
            await graph.ainvoke({"messages": [message]}, config, durability=durability)
        states = await history(graph, config)
        replay = await attempt(
            lambda: graph.ainvoke(None, states[-1].config, durability=durability)
        )
        return [states, replay, await history(graph, config)]

    await run_both(
        window_saver, thread_id, scenario, WindowReference(window_saver.keep_last)
    )
