# This file is generated from tests/_async/test_graphs_interrupts.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Graphs that pause and resume, on the saver and on ``InMemorySaver``.

Each test runs one scenario on both checkpointers (``run_both``) and asserts
the normalized observations are equal: invoke results, ``get_state``
values / next / tasks / interrupts / metadata. Counters prove that the tasks
that finished before a pause are not run again on resume: their writes were
kept by the saver.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests._io_sync import sleep
from tests._sync.graph_support import Log, approval_graph, interrupt_in, run_both
from tests.builders import chain_graph


def test_interrupt_then_resume(saver: ShallowRedisSaver, thread_id: str) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def draft(state: Log) -> dict[str, Any]:
            runs["draft"] += 1
            return {"log": ["draft"]}

        def approve(state: Log, config: RunnableConfig) -> dict[str, Any]:
            runs["approve"] += 1
            answer = interrupt_in(
                config, {"question": "publish?", "draft": state["log"][-1]}
            )
            return {"log": [f"approved:{answer}"]}

        def publish(state: Log) -> dict[str, Any]:
            runs["publish"] += 1
            return {"log": ["published"]}

        graph = chain_graph(Log, draft, approve, publish).compile(checkpointer=cp)

        paused = graph.invoke({"log": ["start"]}, config)
        waiting = graph.get_state(config)
        done = graph.invoke(Command(resume="yes"), config)
        final = graph.get_state(config)
        return paused, waiting, done, final, dict(runs)

    paused, waiting, done, final, runs = run_both(saver, thread_id, scenario)
    assert paused["log"] == ["start", "draft"]
    assert paused["__interrupt__"][0][1] == {"question": "publish?", "draft": "draft"}
    assert waiting["next"] == ("approve",)
    assert waiting["interrupts"] == paused["__interrupt__"]
    assert waiting["tasks"][0]["interrupts"] == paused["__interrupt__"]
    assert done["log"] == ["start", "draft", "approved:yes", "published"]
    assert final["next"] == () and final["tasks"] == [] and final["interrupts"] == []
    assert runs == {"draft": 1, "approve": 2, "publish": 1}


def test_parallel_node_not_rerun_after_sibling_interrupt(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def fetch(state: Log) -> dict[str, Any]:
            runs["fetch"] += 1
            return {"log": ["fetched"]}

        def ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
            runs["ask"] += 1
            return {"log": [f"asked:{interrupt_in(config, 'which?')}"]}

        def join(state: Log) -> dict[str, Any]:
            runs["join"] += 1
            return {"log": ["joined"]}

        builder = StateGraph(Log)
        builder.add_node("fetch", fetch)
        builder.add_node("ask", ask)
        builder.add_node("join", join)
        builder.add_edge(START, "fetch")
        builder.add_edge(START, "ask")
        builder.add_edge(["fetch", "ask"], "join")
        builder.add_edge("join", END)
        graph = builder.compile(checkpointer=cp)

        paused = graph.invoke({"log": []}, config)
        waiting = graph.get_state(config)
        done = graph.invoke(Command(resume="blue"), config)
        final = graph.get_state(config)
        return paused, waiting, done, final, dict(runs)

    paused, waiting, done, final, runs = run_both(saver, thread_id, scenario)
    # the finished sibling's write is shown as part of the paused state
    assert paused["log"] == ["fetched"]
    assert waiting["next"] == ("ask",)
    by_name = {t["name"]: t for t in waiting["tasks"]}
    assert by_name["fetch"]["result"] == {"log": ["fetched"]}
    assert by_name["ask"]["interrupts"] == paused["__interrupt__"]
    assert sorted(done["log"]) == ["asked:blue", "fetched", "joined"]
    assert final["values"] == done
    assert runs == {"fetch": 1, "ask": 2, "join": 1}


def test_two_parallel_interrupts_resumed_together(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def left(state: Log, config: RunnableConfig) -> dict[str, Any]:
            runs["left"] += 1
            return {"log": [f"left:{interrupt_in(config, 'left?')}"]}

        def right(state: Log, config: RunnableConfig) -> dict[str, Any]:
            runs["right"] += 1
            return {"log": [f"right:{interrupt_in(config, 'right?')}"]}

        def quiet(state: Log) -> dict[str, Any]:
            runs["quiet"] += 1
            return {"log": ["quiet"]}

        builder = StateGraph(Log)
        for name, fn in (("left", left), ("right", right), ("quiet", quiet)):
            builder.add_node(name, fn)
            builder.add_edge(START, name)
            builder.add_edge(name, END)
        graph = builder.compile(checkpointer=cp)

        paused = graph.invoke({"log": []}, config)
        waiting = graph.get_state(config)
        answers = {i.id: f"ok-{i.value}" for i in waiting.interrupts}
        done = graph.invoke(Command(resume=answers), config)
        final = graph.get_state(config)
        return paused, waiting, done, final, dict(runs)

    paused, waiting, done, final, runs = run_both(saver, thread_id, scenario)
    assert [i[1] for i in paused["__interrupt__"]] == ["left?", "right?"]
    assert set(waiting["next"]) == {"left", "right"}
    assert waiting["interrupts"] == paused["__interrupt__"]
    assert sorted(done["log"]) == ["left:ok-left?", "quiet", "right:ok-right?"]
    assert final["next"] == () and final["interrupts"] == []
    assert runs == {"left": 2, "right": 2, "quiet": 1}


class Outer(TypedDict):
    log: Annotated[list[str], operator.add]


def test_subgraph_interrupt_state_and_resume(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def inner_prep(state: Log) -> dict[str, Any]:
            runs["inner_prep"] += 1
            return {"log": ["inner_prep"]}

        def inner_ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
            runs["inner_ask"] += 1
            return {"log": [f"inner_ask:{interrupt_in(config, 'inner?')}"]}

        # compiled without a checkpointer: it inherits the parent's
        sub = chain_graph(Log, inner_prep, inner_ask).compile()

        def before(state: Outer) -> dict[str, Any]:
            runs["before"] += 1
            return {"log": ["before"]}

        def after(state: Outer) -> dict[str, Any]:
            runs["after"] += 1
            return {"log": ["after"]}

        graph = chain_graph(Outer, before, ("sub", sub), after).compile(checkpointer=cp)

        paused = graph.invoke({"log": ["in"]}, config)
        flat = graph.get_state(config)
        nested = graph.get_state(config, subgraphs=True)
        done = graph.invoke(Command(resume="inner-yes"), config)
        final = graph.get_state(config, subgraphs=True)
        return paused, flat, nested, done, final, dict(runs)

    paused, flat, nested, done, final, runs = run_both(saver, thread_id, scenario)
    assert paused["__interrupt__"][0][1] == "inner?"
    assert flat["next"] == ("sub",)
    assert flat["interrupts"] == paused["__interrupt__"]
    # without subgraphs=True the task's state is the config of its namespace
    assert flat["tasks"][0]["state"]["configurable"]["checkpoint_ns"].startswith("sub:")
    sub_state = nested["tasks"][0]["state"]
    assert sub_state["values"] == {"log": ["in", "before", "inner_prep"]}
    assert sub_state["next"] == ("inner_ask",)
    assert sub_state["interrupts"] == paused["__interrupt__"]
    assert sub_state["config"]["configurable"]["checkpoint_ns"].startswith("sub:")
    assert done["log"] == [
        "in",
        "before",
        "in",
        "before",
        "inner_prep",
        "inner_ask:inner-yes",
        "after",
    ]
    assert final["next"] == () and final["tasks"] == []
    assert runs == {"before": 1, "inner_prep": 1, "inner_ask": 2, "after": 1}


class MapReduce(TypedDict):
    items: list[str]
    results: Annotated[list[str], operator.add]
    total: int


def map_reduce_graph(cp: Any, work: Any, reduce: Any) -> Any:
    """``Send`` one ``work`` task per item of ``items``, then ``reduce``."""

    def fan_out(state: MapReduce) -> list[Send]:
        return [Send("work", {"item": item}) for item in state["items"]]

    builder = StateGraph(MapReduce)
    builder.add_node("work", work)
    builder.add_node("reduce", reduce)
    builder.add_conditional_edges(START, fan_out, ["work"])
    builder.add_edge("work", "reduce")
    builder.add_edge("reduce", END)
    return builder.compile(checkpointer=cp)


def test_send_fan_out_map_reduce(saver: ShallowRedisSaver, thread_id: str) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def work(payload: dict[str, Any]) -> dict[str, Any]:
            runs[payload["item"]] += 1
            return {"results": [payload["item"].upper()]}

        def reduce(state: MapReduce) -> dict[str, Any]:
            return {"total": sum(len(r) for r in state["results"])}

        graph = map_reduce_graph(cp, work, reduce)

        first = graph.invoke({"items": ["a", "bb", "ccc"], "results": []}, config)
        second = graph.invoke({"items": ["dddd", "e"]}, config)
        final = graph.get_state(config)
        return first, second, final, dict(runs)

    first, second, final, runs = run_both(saver, thread_id, scenario)
    assert first == {
        "items": ["a", "bb", "ccc"],
        "results": ["A", "BB", "CCC"],
        "total": 6,
    }
    assert second["results"] == ["A", "BB", "CCC", "DDDD", "E"]
    assert second["total"] == 11
    assert final["values"] == second and final["next"] == ()
    assert runs == {"a": 1, "bb": 1, "ccc": 1, "dddd": 1, "e": 1}


def test_send_worker_interrupts_then_resume(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()

        def work(payload: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
            item = payload["item"]
            runs[item] += 1
            if item == "b":
                return {"results": [f"b:{interrupt_in(config, f'approve {item}?')}"]}
            return {"results": [item]}

        def reduce(state: MapReduce) -> dict[str, Any]:
            return {"total": len(state["results"])}

        graph = map_reduce_graph(cp, work, reduce)

        paused = graph.invoke({"items": ["a", "b", "c"], "results": []}, config)
        waiting = graph.get_state(config)
        done = graph.invoke(Command(resume="granted"), config)
        final = graph.get_state(config)
        return paused, waiting, done, final, dict(runs)

    paused, waiting, done, final, runs = run_both(saver, thread_id, scenario)
    assert [i[1] for i in paused["__interrupt__"]] == ["approve b?"]
    # the finished workers' results are kept; only the paused one is next
    assert waiting["values"]["results"] == ["a", "c"]
    assert waiting["next"] == ("work",)
    assert [t["result"] for t in waiting["tasks"]] == [
        {"results": ["a"]},
        None,
        {"results": ["c"]},
    ]
    assert (
        waiting["tasks"][1]["interrupts"]
        == waiting["interrupts"]
        == paused["__interrupt__"]
    )
    assert done["results"] == ["a", "b:granted", "c"]
    assert done["total"] == 3
    assert final["values"] == done and final["next"] == ()
    assert runs == {"a": 1, "b": 2, "c": 1}


def test_node_error_then_resume_after_fix(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    # sequential on purpose: when a task fails, whether a sibling of the same
    # step gets its writes saved first is a race inside LangGraph itself
    def scenario(cp: Any, config: Any) -> Any:
        runs: Counter[str] = Counter()
        fixed = {"ok": False}

        def steady(state: Log) -> dict[str, Any]:
            runs["steady"] += 1
            return {"log": ["steady"]}

        def flaky(state: Log) -> dict[str, Any]:
            runs["flaky"] += 1
            if not fixed["ok"]:
                raise ValueError(f"flaky failed on {state['log']!r}")
            return {"log": ["flaky"]}

        def finish(state: Log) -> dict[str, Any]:
            runs["finish"] += 1
            return {"log": ["finish"]}

        graph = chain_graph(Log, steady, flaky, finish).compile(checkpointer=cp)

        with pytest.raises(ValueError, match="flaky failed") as raised:
            graph.invoke({"log": ["go"]}, config)
        failed = graph.get_state(config)
        with pytest.raises(ValueError, match="flaky failed"):
            graph.invoke(None, config)  # not fixed yet: fails again
        failed_again = graph.get_state(config)
        fixed["ok"] = True
        done = graph.invoke(None, config)
        final = graph.get_state(config)
        return raised.value, failed, failed_again, done, final, dict(runs)

    error, failed, failed_again, done, final, runs = run_both(
        saver, thread_id, scenario
    )
    assert error == (
        "error",
        "ValueError",
        "ValueError(\"flaky failed on ['go', 'steady']\")",
    )
    assert failed["values"] == {"log": ["go", "steady"]}
    assert failed["next"] == ("flaky",)
    [task] = failed["tasks"]
    # get_state shows the error as the repr of the exception
    assert task["name"] == "flaky" and task["error"] == error[2]
    assert task["result"] is None and task["interrupts"] == []
    assert failed_again == failed
    assert done == {"log": ["go", "steady", "flaky", "finish"]}
    assert final["values"] == done and final["next"] == () and final["tasks"] == []
    assert runs == {"steady": 1, "flaky": 3, "finish": 1}


def test_interrupt_survives_late_put_of_previous_checkpoint(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    # LangGraph's default durability stores checkpoints in the background:
    # the put of a step's checkpoint may reach Redis after the writes of the
    # next step. Force that order: each put waits until the interrupt write
    # has been stored (as a slow network would make it).
    seen = {"interrupt": False}

    class LatePuts(ShallowRedisSaver):
        def put(
            self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
        ) -> Any:
            for _ in range(500):
                if seen["interrupt"]:
                    break
                sleep(0.01)
            return super().put(config, checkpoint, metadata, new_versions)

        def put_writes(
            self, config: Any, writes: Any, task_id: str, task_path: str = ""
        ) -> None:
            super().put_writes(config, writes, task_id, task_path)
            if any(channel == "__interrupt__" for channel, _ in writes):
                seen["interrupt"] = True

    late = LatePuts(
        redis_client=saver.client,
        checkpoint_prefix=saver.keys.checkpoint_prefix,
        checkpoint_write_prefix=saver.keys.entry_prefix,
    )

    graph = approval_graph(late)
    config: Any = {"configurable": {"thread_id": thread_id}}

    paused = graph.invoke({"log": []}, config, durability="async")
    assert [i.value for i in paused["__interrupt__"]] == ["publish?"]
    assert seen["interrupt"]
    waiting = graph.get_state(config)
    assert waiting.next == ("approve",)
    assert [i.value for i in waiting.interrupts] == ["publish?"]
    done = graph.invoke(Command(resume="yes"), config, durability="async")
    assert done == {"log": ["draft", "approved:yes"]}
