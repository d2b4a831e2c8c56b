"""Multi-turn graphs on the saver, compared with the same graphs on ``InMemorySaver``.

Each test runs one scenario on both checkpointers (``run_both``) and asserts
that what they observed is equal once normalized: invoke results,
``get_state`` values / next / tasks / interrupts / metadata. The saver keeps
only the latest checkpoint, so state is compared, never history.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
)
from tests._async.graph_support import (
    Labels,
    chat_graph,
    config_of,
    interrupt_in,
    normalize,
    run_both,
)
from tests._io_async import gather
from tests.builders import chain_graph


async def test_multi_turn_chat_with_add_messages(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    async def scenario(cp: Any, config: Any) -> Any:
        graph = chat_graph(cp)
        seen = []
        for turn in range(5):
            message = HumanMessage(f"hello {turn}", id=f"human-{turn}")
            seen.append(await graph.ainvoke({"messages": [message]}, config))
            seen.append(await graph.aget_state(config))
        return seen

    seen = await run_both(asaver, thread_id, scenario)
    final = seen[-1]
    expected = []
    for turn in range(5):
        expected += [
            HumanMessage(f"hello {turn}", id=f"human-{turn}"),
            AIMessage(f"echo hello {turn}", id=f"ai-{turn}"),
        ]
    assert final["values"] == {"messages": expected}
    assert final["next"] == () and final["tasks"] == [] and final["interrupts"] == []
    assert final["metadata"] == {"source": "loop", "step": 13, "parents": {}}
    # every turn's state is a new checkpoint
    assert len({s["config"]["configurable"]["checkpoint_id"] for s in seen[1::2]}) == 5


class Notes(TypedDict):
    notes: Annotated[list[str], operator.add]


async def test_command_update_applied_exactly_once(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    # The writes of an update must not be replayed by later turns (a saver
    # keeping stale writes re-applies them at every turn).
    async def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def reply(state: Notes) -> dict[str, Any]:
            runs["reply"] += 1
            return {"notes": [f"reply-{len(state['notes'])}"]}

        graph = chain_graph(Notes, reply).compile(checkpointer=cp)

        seen = [await graph.ainvoke({"notes": ["turn-0"]}, config)]
        # on a thread at rest the update is stored as pending writes of the
        # latest checkpoint, and taken in by the next turn
        seen.append(
            await graph.ainvoke(Command(update={"notes": ["command-update"]}), config)
        )
        seen.append(await graph.aget_state(config))
        seen.append(await graph.ainvoke({"notes": ["turn-1"]}, config))
        seen.append(await graph.aupdate_state(config, {"notes": ["state-update"]}))
        seen.append(await graph.aget_state(config))
        for turn in range(2, 5):
            seen.append(await graph.ainvoke({"notes": [f"turn-{turn}"]}, config))
            seen.append(await graph.aget_state(config))
        return seen, dict(runs)

    seen, runs = await run_both(asaver, thread_id, scenario)
    assert seen[1] == {"notes": ["turn-0", "reply-1", "command-update"]}
    assert seen[2]["values"] == seen[1] and seen[2]["next"] == ()
    assert seen[-1]["values"]["notes"] == [
        "turn-0",
        "reply-1",
        "command-update",
        "turn-1",
        "reply-4",
        "state-update",
        "turn-2",
        "reply-7",
        "turn-3",
        "reply-9",
        "turn-4",
        "reply-11",
    ]
    assert seen[-1]["next"] == () and seen[-1]["tasks"] == []
    assert runs == {"reply": 5}


async def test_command_update_with_resume_applied_exactly_once(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    async def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def ask(state: Notes, config: RunnableConfig) -> dict[str, Any]:
            runs["ask"] += 1
            return {"notes": [f"answer:{interrupt_in(config, 'note?')}"]}

        graph = chain_graph(Notes, ask).compile(checkpointer=cp)

        seen = [await graph.ainvoke({"notes": ["turn-0"]}, config)]
        seen.append(
            await graph.ainvoke(
                Command(resume="r0", update={"notes": ["with-resume"]}), config
            )
        )
        for turn in range(1, 4):
            seen.append(await graph.ainvoke({"notes": [f"turn-{turn}"]}, config))
            seen.append(await graph.ainvoke(Command(resume=f"r{turn}"), config))
        seen.append(await graph.aget_state(config))
        return seen, dict(runs)

    seen, runs = await run_both(asaver, thread_id, scenario)
    notes = seen[-1]["values"]["notes"]
    assert notes.count("with-resume") == 1
    assert [n for n in notes if n.startswith("answer:")] == [
        f"answer:r{t}" for t in range(4)
    ]
    assert runs == {"ask": 8}


class Steps(TypedDict):
    log: Annotated[list[str], operator.add]


def three_steps(cp: Any, runs: Counter[str], **compile_args: Any) -> Any:
    """``a -> b -> c``, each appending its name to ``log``."""

    def step(name: str) -> Any:
        def node(state: Steps) -> dict[str, Any]:
            runs[name] += 1
            return {"log": [name]}

        return node

    graph = chain_graph(Steps, *((name, step(name)) for name in "abc"))
    return graph.compile(checkpointer=cp, **compile_args)


async def test_update_state_as_node(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    async def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()
        graph = three_steps(cp, runs, interrupt_before=["b"])
        seen = [await graph.ainvoke({"log": ["in-1"]}, config)]
        seen.append(await graph.aget_state(config))
        # as if "a" had written it: "b" still runs next
        seen.append(await graph.aupdate_state(config, {"log": ["as-a"]}, as_node="a"))
        seen.append(await graph.aget_state(config))
        seen.append(await graph.ainvoke(None, config))
        # second turn: an update as "b" stands in for "b", so "c" is next
        seen.append(await graph.ainvoke({"log": ["in-2"]}, config))
        seen.append(await graph.aupdate_state(config, {"log": ["as-b"]}, as_node="b"))
        seen.append(await graph.aget_state(config))
        seen.append(await graph.ainvoke(None, config))
        seen.append(await graph.aget_state(config))
        return seen, dict(runs)

    seen, runs = await run_both(asaver, thread_id, scenario)
    paused, before_b, _, after_a, first, _, _, after_b, second, final = seen
    assert paused == {"log": ["in-1", "a"]}
    assert before_b["next"] == ("b",)
    assert after_a["next"] == ("b",)
    assert after_a["values"] == {"log": ["in-1", "a", "as-a"]}
    assert after_a["metadata"]["source"] == "update"
    assert first == {"log": ["in-1", "a", "as-a", "b", "c"]}
    assert after_b["next"] == ("c",)
    assert after_b["metadata"]["source"] == "update"
    assert second == {"log": ["in-1", "a", "as-a", "b", "c", "in-2", "a", "as-b", "c"]}
    assert final["values"] == second and final["next"] == ()
    assert runs == {"a": 2, "b": 1, "c": 2}


async def test_update_state_as_copy_forks_the_stored_checkpoint(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """``update_state(config, None, as_node="__copy__")`` (LangGraph's fork
    without an update) stores a copy of the checkpoint, put with that
    checkpoint's ``parent_config`` as its config. The copy replaces the
    stored checkpoint, with the same values and what runs next, and the
    graph goes on from it as on ``InMemorySaver``. A guard for the history
    window (issue 18): a saver that names a parent the window no longer
    holds must still take this put."""

    async def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()
        graph = three_steps(cp, runs, interrupt_before=["c"])
        seen = [await graph.ainvoke({"log": ["in"]}, config)]
        state = await graph.aget_state(config)
        seen.append(await graph.aupdate_state(state.config, None, as_node="__copy__"))
        seen.append(await graph.aget_state(config))
        seen.append(await graph.ainvoke(None, config))
        seen.append(await graph.aget_state(config))
        return seen, dict(runs)

    seen, runs = await run_both(asaver, thread_id, scenario)
    paused, copy_config, copied, finished, final = seen
    assert paused == {"log": ["in", "a", "b"]}
    assert copied["config"] == copy_config
    assert copied["metadata"]["source"] == "fork"
    assert copied["values"] == paused and copied["next"] == ("c",)
    assert finished == final["values"] == {"log": ["in", "a", "b", "c"]}
    assert runs == {"a": 1, "b": 1, "c": 1}


async def test_get_state_history_is_the_latest_checkpoint(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    async def scenario(cp: Any, config: Any) -> Any:
        graph = three_steps(cp, Counter(), interrupt_before=["c"])
        seen = []
        for turn in range(2):
            await graph.ainvoke({"log": [f"in-{turn}"]}, config)  # pauses before c
            for _ in range(2):  # paused, then finished
                labels = Labels()
                state = normalize(await graph.aget_state(config), labels)
                history = [s async for s in graph.aget_state_history(config)]
                seen.append((state, normalize(history[0], labels), len(history)))
                await graph.ainvoke(None, config)
        return seen

    ours = await scenario(asaver, config_of(thread_id))
    reference = await scenario(InMemorySaver(), config_of(thread_id))
    for (state, latest, count), (ref_state, ref_latest, ref_count) in zip(
        ours, reference, strict=True
    ):
        assert count == 1  # only the latest checkpoint is kept
        assert ref_count > 1
        assert latest == state  # with its real values, tasks, interrupts
        assert state == ref_state
        assert latest == ref_latest
    assert ours[-1][0]["values"] == {
        "log": ["in-0", "a", "b", "c", "in-1", "a", "b", "c"]
    }
    assert ours[-2][0]["next"] == ("c",)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_durability_modes(
    asaver: AsyncShallowRedisSaver, thread_id: str, durability: Any
) -> None:
    async def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def step(name: str) -> Any:
            def node(state: Steps) -> dict[str, Any]:
                runs[name] += 1
                return {"log": [name]}

            return node

        def gate(state: Steps, config: RunnableConfig) -> dict[str, Any]:
            runs["gate"] += 1
            return {"log": [f"gate:{interrupt_in(config, 'continue?')}"]}

        graph = chain_graph(
            Steps, ("a", step("a")), ("b", step("b")), gate, ("d", step("d"))
        ).compile(checkpointer=cp)

        paused = await graph.ainvoke({"log": ["in"]}, config, durability=durability)
        waiting = await graph.aget_state(config)
        chunks = [
            c
            async for c in graph.astream(
                Command(resume="go"),
                config,
                stream_mode="values",
                durability=durability,
            )
        ]
        final = await graph.aget_state(config)
        again = await graph.ainvoke({"log": ["in-2"]}, config, durability=durability)
        resumed = await graph.ainvoke(
            Command(resume="go-2"), config, durability=durability
        )
        return paused, waiting, chunks, final, again, resumed, dict(runs)

    paused, waiting, chunks, final, again, resumed, runs = await run_both(
        asaver, thread_id, scenario
    )
    assert paused["log"] == ["in", "a", "b"]
    assert waiting["next"] == ("gate",)
    assert waiting["interrupts"] == paused["__interrupt__"]
    assert chunks[-1] == {"log": ["in", "a", "b", "gate:go", "d"]}
    assert final["values"] == chunks[-1] and final["next"] == ()
    assert [i[1] for i in again["__interrupt__"]] == ["continue?"]
    assert resumed["log"] == [
        "in",
        "a",
        "b",
        "gate:go",
        "d",
        "in-2",
        "a",
        "b",
        "gate:go-2",
        "d",
    ]
    assert runs == {"a": 2, "b": 2, "gate": 4, "d": 2}


async def test_twenty_threads_run_concurrently(
    asaver: AsyncShallowRedisSaver, thread_id: str
) -> None:
    async def one_thread(graph: Any, n: int) -> Any:
        config = config_of(f"{thread_id}-{n}")
        for turn in range(2):
            await graph.ainvoke({"log": [f"t{n}-in{turn}"]}, config)
            await graph.ainvoke(Command(resume=f"t{n}-ok{turn}"), config)
        return await graph.aget_state(config)

    def build(cp: Any) -> Any:
        def work(state: Steps) -> dict[str, Any]:
            return {"log": [f"work{len(state['log'])}"]}

        def ask(state: Steps, config: RunnableConfig) -> dict[str, Any]:
            return {"log": [interrupt_in(config, "ok?")]}

        return chain_graph(Steps, work, ask).compile(checkpointer=cp)

    graph = build(asaver)

    def runner(n: int) -> Any:
        async def run() -> Any:
            return await one_thread(graph, n)

        return run

    ours = await gather(*(runner(n) for n in range(20)))
    reference_graph = build(InMemorySaver())
    for n, state in enumerate(ours):
        reference = await one_thread(reference_graph, n)
        assert normalize(state) == normalize(reference)
        assert state.values == {
            "log": [
                f"t{n}-in0",
                "work1",
                f"t{n}-ok0",
                f"t{n}-in1",
                "work4",
                f"t{n}-ok1",
            ]
        }
        assert state.next == ()


def delta_reducer(state: list[str], batches: Any) -> list[str]:
    """Batching-invariant list append for ``DeltaChannel``."""
    out = list(state)
    for batch in batches:
        out.extend(batch)
    return out


def delta_graph(cp: Any, snapshot_frequency: int, pause: bool) -> Any:
    """``a -> b [-> c]`` over a ``DeltaChannel`` ``log``; ``c`` interrupts."""
    delta = pytest.importorskip("langgraph.channels.delta")
    channel = delta.DeltaChannel(delta_reducer, snapshot_frequency=snapshot_frequency)
    # functional form: the channel is a local value, not a module-level name
    DeltaState = TypedDict(  # noqa: UP013
        "DeltaState", {"log": Annotated[list[str], channel], "n": int}
    )

    def a(state: Any) -> dict[str, Any]:
        return {"log": [f"a{state['n']}"]}

    def b(state: Any) -> dict[str, Any]:
        return {"n": state["n"] + 100}  # a step that leaves the delta channel alone

    def c(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return {"log": [f"c:{interrupt_in(config, 'ok?')}"]}

    nodes = (a, b, c) if pause else (a, b)
    return chain_graph(DeltaState, *nodes).compile(checkpointer=cp)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize(("snapshot_frequency", "turns"), [(1, 3), (3, 4)])
async def test_delta_channel_matches_memory(
    asaver: AsyncShallowRedisSaver,
    thread_id: str,
    durability: Any,
    snapshot_frequency: int,
    turns: int,
) -> None:
    # snapshot_frequency=1: every checkpoint holds the channel's full value;
    # 3: most checkpoints hold no value for the channel, and it is rebuilt
    # from the history the saver keeps (see test_delta.py)
    async def scenario(cp: Any, config: Any) -> Any:
        graph = delta_graph(cp, snapshot_frequency=snapshot_frequency, pause=True)
        seen = []
        for turn in range(turns):
            seen.append(
                await graph.ainvoke(
                    {"log": [f"u{turn}"], "n": turn}, config, durability=durability
                )
            )
            seen.append(
                await graph.ainvoke(Command(resume=turn), config, durability=durability)
            )
        seen.append(await graph.aupdate_state(config, {"log": ["manual"]}))
        seen.append(await graph.aget_state(config))
        return seen

    seen = await run_both(asaver, thread_id, scenario)
    if snapshot_frequency == 1:
        assert seen[-1]["values"] == {
            "log": ["u0", "a0", "c:0", "u1", "a1", "c:1", "u2", "a2", "c:2", "manual"],
            "n": 102,
        }
    else:
        assert seen[-1]["values"]["log"][-4:] == ["u3", "a3", "c:3", "manual"]
