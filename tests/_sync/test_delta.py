# This file is generated from tests/_async/test_delta.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""``DeltaChannel`` at any ``snapshot_frequency``: graphs give the state they
give on ``InMemorySaver``, the history matches its history, and what is kept
stays bounded by the snapshot frequency, not by the thread's age."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.message import add_messages
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests._sync.graph_support import config_of, interrupt_in, run_both
from tests.builders import chain_graph

delta = pytest.importorskip("langgraph.channels.delta")


def add_all(state: list[Any], writes: list[Any]) -> list[Any]:
    """``add_messages`` over a batch of writes (a ``DeltaChannel`` reducer)."""
    for w in writes:
        state = add_messages(state, w)
    return state


def chat_graph(cp: Any, k: int, *, sub: bool = True) -> Any:
    """``reply -> [sub: ask (interrupts)]`` over a ``DeltaChannel`` of
    messages (``snapshot_frequency=k``) in both graphs."""
    messages = Annotated[
        list[AnyMessage], delta.DeltaChannel(add_all, snapshot_frequency=k)
    ]
    State = TypedDict("State", {"messages": messages, "turn": int})  # noqa: UP013

    def reply(state: Any) -> dict[str, Any]:
        t = state["turn"]
        n = len(state["messages"])
        return {"messages": [AIMessage(f"r{t} saw {n}", id=f"r{t}")]}

    def ask(state: Any, config: RunnableConfig) -> dict[str, Any]:
        t = state["turn"]
        answer = interrupt_in(config, f"ok {t}?")
        return {"messages": [AIMessage(f"ok:{answer}", id=f"ok{t}")]}

    inner = chain_graph(State, ask)
    nodes = [reply, ("sub", inner.compile())] if sub else [reply]
    return chain_graph(State, *nodes).compile(checkpointer=cp)


def user(t: int) -> dict[str, Any]:
    return {"messages": [HumanMessage(f"u{t}", id=f"u{t}")], "turn": t}


def history_values(history: Any) -> Any:
    """A history without task ids (they depend on checkpoint ids)."""
    return {
        ch: (entry.get("seed"), [(c, v) for _, c, v in entry["writes"]])
        for ch, entry in history.items()
    }


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize("k", [2, 5])
def test_chat_with_interrupts_subgraph_and_command_matches_memory(
    saver: ShallowRedisSaver, thread_id: str, durability: Any, k: int
) -> None:
    def scenario(cp: Any, config: Any) -> Any:
        graph = chat_graph(cp, k)
        seen = []
        for t in range(8):
            seen.append(graph.invoke(user(t), config, durability=durability))
            note = {"messages": [HumanMessage(f"note{t}", id=f"n{t}")]}
            seen.append(
                graph.invoke(
                    Command(resume=f"a{t}", update=note), config, durability=durability
                )
            )
            if t % 3 == 2:
                seen.append(
                    graph.update_state(
                        config, {"messages": [HumanMessage(f"m{t}", id=f"m{t}")]}
                    )
                )
            seen.append(graph.get_state(config, subgraphs=True))
        return seen

    seen = run_both(saver, thread_id, scenario)
    final = seen[-1]["values"]["messages"]
    assert [m.id for m in final][:6] == ["u0", "r0", "n0", "ok0", "u1", "r1"]
    assert len(final) == 8 * 4 + 2


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_history_matches_memory_and_storage_stays_bounded(
    saver: ShallowRedisSaver, thread_id: str, durability: Any
) -> None:
    k = 10
    compared = 0
    ours, ref = (
        chat_graph(saver, k, sub=False),
        chat_graph(InMemorySaver(), k, sub=False),
    )
    config = config_of(thread_id)
    hk = saver.keys.for_namespace(thread_id, "")[0]
    delta_writes: list[int] = []
    for t in range(30):
        for graph in (ours, ref):
            graph.invoke(user(t), config, durability=durability)
        mine, theirs = ours.get_state(config), ref.get_state(config)
        assert mine.values == theirs.values
        tup = saver.get_tuple(mine.config)
        assert tup is not None
        if "messages" not in tup.checkpoint["channel_values"]:
            got = saver.get_delta_channel_history(
                config=mine.config, channels=["messages"]
            )
            want = ref.checkpointer.get_delta_channel_history(
                config=theirs.config, channels=["messages"]
            )
            assert history_values(got) == history_values(want)
            compared += 1
        fields = saver.client.hkeys(hk)
        delta_writes.append(sum(f.startswith(b"dw") for f in fields))
    assert len((ours.get_state(config)).values["messages"]) == 60
    # every turn writes the channel twice (input, reply): a snapshot every
    # k updates keeps at most about k writes aside, however old the thread
    assert compared >= 20
    assert max(delta_writes) <= k
    assert max(delta_writes[-10:]) <= max(delta_writes[:10])


def test_prune_copy_and_copy_from_keep_the_history(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    graph = chat_graph(saver, 50, sub=False)
    config = config_of(thread_id)
    for t in range(5):
        graph.invoke(user(t), config, durability="sync")
    want = (graph.get_state(config)).values
    assert len(want["messages"]) == 10
    saver.prune([thread_id], strategy="keep_latest")
    assert (graph.get_state(config)).values == want
    saver.copy_thread(thread_id, thread_id + "-copy")
    assert (graph.get_state(config_of(thread_id + "-copy"))).values == want
    # another saver's thread, copied in: its history comes along
    memory = InMemorySaver()
    other = chat_graph(memory, 50, sub=False)
    for t in range(5):
        other.invoke(user(t), config_of("mem"), durability="sync")
    saver.copy_from(memory, thread_ids=["mem"])
    assert (graph.get_state(config_of("mem"))).values == want
    graph.invoke(user(5), config_of("mem"), durability="sync")
    other.invoke(user(5), config_of("mem"), durability="sync")
    assert (graph.get_state(config_of("mem"))).values == (
        other.get_state(config_of("mem"))
    ).values
    saver.delete_thread("mem")
    saver.delete_thread(thread_id + "-copy")


def test_history_of_an_unknown_checkpoint_is_empty(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    graph = chat_graph(saver, 50, sub=False)
    config = config_of(thread_id)
    for t in range(2):
        graph.invoke(user(t), config, durability="sync")
    other: RunnableConfig = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": "0" * 8,
        }
    }
    got = saver.get_delta_channel_history(config=other, channels=["messages"])
    assert got == {"messages": {"writes": []}}
    assert saver.get_delta_channel_history(config=config, channels=[]) == {}


def test_rollback_restores_the_history_with_the_checkpoint(
    saver: ShallowRedisSaver, thread_id: str, has_search: bool
) -> None:
    if not has_search:
        pytest.skip("delete_for_runs needs the Search module")
    graph = chat_graph(saver, 10, sub=False)

    def run(n: int) -> RunnableConfig:
        return {
            "configurable": {"thread_id": thread_id},
            "metadata": {"run_id": f"r{n}"},
        }

    for t in range(7):
        graph.invoke(user(t), run(t), durability="sync")
    before = (graph.get_state(config_of(thread_id))).values
    graph.invoke(user(7), run(7), durability="sync")
    saver.delete_for_runs(["r7"])
    assert (graph.get_state(config_of(thread_id))).values == before
    graph.invoke(user(7), run(8), durability="sync")
    after = (graph.get_state(config_of(thread_id))).values
    assert [m.id for m in after["messages"]][-3:] == ["r6", "u7", "r7"]
    assert len(after["messages"]) == 16


def extend_in_place(state: list[Any], writes: list[Any]) -> list[Any]:
    """A reducer that updates its state in place (allowed, if unusual)."""
    for w in writes:
        state.extend(w if isinstance(w, list) else [w])
    return state


def test_seeds_decoded_once_are_never_shared_with_a_reducer(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    """The saver keeps the seed it decoded last (a long conversation would
    otherwise decode its whole list every step); a reducer that extends the
    list it is given in place must not change what the next read returns:
    the same states as on ``InMemorySaver``, turn after turn."""
    State = TypedDict(  # noqa: UP013
        "State",
        {
            "items": Annotated[
                list, delta.DeltaChannel(extend_in_place, snapshot_frequency=3)
            ]
        },
    )
    builder = chain_graph(State, ("step", lambda s: {"items": [len(s["items"])]}))

    def scenario(cp: Any, config: Any) -> Any:
        graph = builder.compile(checkpointer=cp)
        return [
            (graph.invoke({"items": [-1]}, config, durability="sync"))["items"]
            for _ in range(10)
        ]

    seen = run_both(saver, thread_id, scenario)
    assert seen[-1] == [x for i in range(10) for x in (-1, 2 * i + 1)]
    # two reads of the same history: equal seeds, separate containers
    config = config_of(thread_id)
    stored = saver.get_tuple(config)
    assert stored is not None
    first = saver.get_delta_channel_history(config=stored.config, channels=["items"])
    first["items"]["seed"].value.append("changed by the caller")
    second = saver.get_delta_channel_history(config=stored.config, channels=["items"])
    assert "changed by the caller" not in second["items"]["seed"].value
    assert second["items"]["seed"].value == first["items"]["seed"].value[:-1]


def test_a_window_refuses_delta_channels_before_writing(
    redis_url: str, prefix: str, thread_id: str
) -> None:
    """With ``keep_last`` above 1 the saver would rebuild a delta channel
    wrong for the older checkpoints of the window (it keeps the channel's
    history for the newest only), so the first ``put`` that needs that
    history is refused, naming the channel and the way out, with nothing of
    it written (the checkpoints before it, which needed no history, stay).
    ``snapshot_frequency=1`` needs no history: it works."""
    from langgraph.checkpoint.redis_shallow.errors import UnsupportedChannelError
    from tests.builders import saver_prefixes

    with ShallowRedisSaver.from_conn_string(
        redis_url, keep_last=3, **saver_prefixes(prefix)
    ) as saver:
        graph = chat_graph(saver, 3, sub=False)
        with pytest.raises(UnsupportedChannelError, match=r"messages.*keep_last=1"):
            graph.invoke(user(0), config_of(thread_id))
        stored = saver.get_tuple(config_of(thread_id))
        assert stored is not None  # the run's first checkpoint, not the refused
        assert stored.metadata["step"] < 1
        assert "r0" not in str(stored.checkpoint["channel_values"])
        every_step = chat_graph(saver, 1, sub=False)
        done = every_step.invoke(user(0), config_of(thread_id + "-1"))
        assert [m.content for m in done["messages"]] == ["u0", "r0 saw 1"]
        saver.delete_thread(thread_id + "-1")
        saver.delete_thread(thread_id)
