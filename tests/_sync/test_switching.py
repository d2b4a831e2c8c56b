# This file is generated from tests/_async/test_switching.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Switching to this saver: other savers' checkpoints, stale configs, copies.

- checkpoints of any LangGraph saver (``InMemorySaver``'s string versions
  here) are stored with ``put`` and graphs go on from them to the state they
  reach on ``InMemorySaver``;
- ``copy_from`` brings the latest checkpoint of every thread and namespace
  across, with its pending writes, idempotently;
- a config that names a checkpoint that is no longer stored never costs the
  thread its state: the run is refused (``StaleCheckpointError``) and the
  stored checkpoint stays;
- ``delete_for_runs`` never deletes what other runs wrote, and
  ``copy_thread`` names the copy in its metadata;
- the layout version recorded on the server is checked before any write.
"""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.message import add_messages
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import (
    DeleteRefusedError,
    InvalidConfigError,
    LayoutVersionError,
    SearchUnavailableError,
    ShallowRedisSaver,
    StaleCheckpointError,
)
from tests._io_sync import Redis, sqlite_saver
from tests._sync.graph_support import interrupt_in, normalize
from tests.builders import cfg, chain_graph, checkpoint, layout_key, saver_prefixes


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    log: Annotated[list[str], operator.add]


class Notes(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    notes: list[str]


def chat_graph(cp: Any) -> Any:
    """``answer`` echoes the last message, then ``review`` asks for approval
    (``interrupt``) when the message says so; a subgraph keeps a log."""

    def answer(state: Chat) -> dict[str, Any]:
        last = state["messages"][-1]
        turn = len(state["messages"])
        return {"messages": [AIMessage(f"echo {last.content}", id=f"ai-{turn}")]}

    def review(state: Chat, config: RunnableConfig) -> dict[str, Any]:
        if "ask" in state["messages"][-2].content:
            return {"log": [f"review:{interrupt_in(config, 'ok?')}"]}
        return {"log": ["review:auto"]}

    def note(state: Notes) -> dict[str, Any]:
        return {"notes": [f"note:{len(state['messages'])}"]}

    sub = chain_graph(Notes, note).compile()
    return chain_graph(Chat, answer, review, ("sub", sub)).compile(checkpointer=cp)


def human(text: str, turn: int) -> dict[str, Any]:
    return {"messages": [HumanMessage(text, id=f"human-{turn}")]}


def thread(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


def first_turns(source: InMemorySaver, thread_id: str) -> None:
    """Two turns on ``InMemorySaver``: one done, one paused at an interrupt,
    with a ``Command(update=...)`` applied in between."""
    graph = chat_graph(source)
    config = thread(thread_id)
    graph.invoke(human("hello", 0), config)
    graph.update_state(config, {"log": ["edited"]})
    graph.invoke(human("please ask", 2), config)


def last_turns(cp: Any, thread_id: str) -> Any:
    """Resume the interrupt, then one more turn; what the graph shows."""
    graph = chat_graph(cp)
    config = thread(thread_id)
    seen = [graph.get_state(config)]
    seen.append(graph.invoke(Command(resume="yes"), config))
    seen.append(graph.invoke(human("bye", 6), config))
    seen.append(graph.get_state(config))
    return seen


# -- any saver's checkpoints continue ----------------------------------------


def test_next_version_keeps_the_form_it_is_given(saver: ShallowRedisSaver):
    assert saver.get_next_version(None, None) == 1
    assert saver.get_next_version(41, None) == 42
    current = InMemorySaver().get_next_version(None, None)
    assert isinstance(current, str)
    later = [current]
    for _ in range(12):  # past 9 -> 10: the padding keeps string order
        later.append(saver.get_next_version(later[-1], None))
    assert later == sorted(later) and len(set(later)) == len(later)
    assert all(int(v.split(".")[0]) == i + 1 for i, v in enumerate(later))
    with pytest.raises(InvalidConfigError, match="'v3'"):
        saver.get_next_version("v3", None)


def test_an_inmemory_checkpoint_put_here_continues(
    saver: ShallowRedisSaver, thread_id: str
):
    """The issue's reproduction: a checkpoint with string versions, stored
    with ``put`` (its own versions), then the graph goes on here, to the
    state the same turns reach on ``InMemorySaver``."""
    source = InMemorySaver()
    first_turns(source, thread_id)
    for tup in [t for t in source.list(thread(thread_id))]:
        if tup.checkpoint["id"] != (source.get_tuple(tup.config)).checkpoint["id"]:
            continue
    latest = {}
    for tup in source.list(thread(thread_id)):
        ns = tup.config["configurable"]["checkpoint_ns"]
        if ns not in latest:
            latest[ns] = tup
    for ns, tup in latest.items():
        config = saver.put(
            cfg(thread_id, ns),
            tup.checkpoint,
            tup.metadata,
            tup.checkpoint["channel_versions"],
        )
        for task_id, channel, value in tup.pending_writes:
            saver.put_writes(config, [(channel, value)], task_id)
    assert isinstance(
        next(iter(latest[""].checkpoint["channel_versions"].values())), str
    )

    ours = normalize(last_turns(saver, thread_id))
    reference = normalize(last_turns(source, thread_id))
    assert ours == reference
    final = ours[-1]
    assert final["values"]["log"].count("edited") == 1
    assert "review:yes" in final["values"]["log"]


def test_copy_from_brings_every_thread_across(
    saver: ShallowRedisSaver,
):
    """``copy_from`` an ``InMemorySaver`` holding two threads (one paused at
    an interrupt, with a subgraph namespace): each continues here as there;
    a second copy changes nothing; a thread that went on here is not set
    back by a later copy."""
    source = InMemorySaver()
    ids = [f"copy-{uuid.uuid4().hex}" for _ in range(2)]
    for tid in ids:
        first_turns(source, tid)

    summary = saver.copy_from(source)
    assert (summary.threads, summary.skipped_newer) == (2, 0)
    namespaces = {
        (
            t.config["configurable"]["thread_id"],
            t.config["configurable"]["checkpoint_ns"],
        )
        for t in source.list(None)
    }
    assert summary.namespaces == len(namespaces)
    assert summary.writes > 0
    before = [saver.get_tuple(cfg(t)) for t in ids]
    for tid in ids:
        want = source.get_tuple(thread(tid))
        got = saver.get_tuple(thread(tid))
        assert got.checkpoint == want.checkpoint
        assert got.metadata == want.metadata
        assert sorted(got.pending_writes) == sorted(want.pending_writes)

    again = saver.copy_from(source, thread_ids=ids)
    assert (again.threads, again.namespaces) == (2, summary.namespaces)
    assert [saver.get_tuple(cfg(t)) for t in ids] == before

    ours = normalize(last_turns(saver, ids[0]))
    reference = normalize(last_turns(source, ids[0]))
    assert ours == reference
    # a thread that went on here is not set back by copying the source again
    chat_graph(saver).invoke(Command(resume="yes"), thread(ids[1]))
    moved_on = saver.get_tuple(thread(ids[1]))
    third = saver.copy_from(source, thread_ids=[ids[1]])
    assert third.skipped_newer >= 1
    assert (saver.get_tuple(thread(ids[1]))).checkpoint == moved_on.checkpoint


def test_copy_from_a_sqlite_saver(saver: ShallowRedisSaver, thread_id: str):
    """LangGraph's SQLite saver (full history, string versions) as the
    source: the latest checkpoint of each namespace comes across and the
    thread goes on here as it goes on there."""
    with sqlite_saver() as source:
        first_turns(source, thread_id)
        summary = saver.copy_from(source, thread_ids=[thread_id])
        assert summary.threads == 1 and summary.namespaces >= 2
        want = source.get_tuple(thread(thread_id))
        got = saver.get_tuple(thread(thread_id))
        assert got.checkpoint == want.checkpoint
        assert sorted(got.pending_writes) == sorted(want.pending_writes)
        ours = normalize(last_turns(saver, thread_id))
        reference = normalize(last_turns(source, thread_id))
    assert ours == reference


def test_copy_from_refuses_what_is_not_a_saver(saver: ShallowRedisSaver):
    with pytest.raises(InvalidConfigError, match="source must be"):
        saver.copy_from({"not": "a saver"})  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="not a str"):
        saver.copy_from(InMemorySaver(), thread_ids="t")


# -- stale configs never destroy data -----------------------------------------


def test_invoke_with_an_old_config_is_refused_and_keeps_the_state(
    saver: ShallowRedisSaver, thread_id: str
):
    """``get_state`` config, then ``update_state``, then invoke, resume and
    ``update_state`` with the config taken before: each is refused naming
    the stored checkpoint, and the edited state is intact."""
    graph = chat_graph(saver)
    config = thread(thread_id)
    graph.invoke(human("please ask", 0), config)
    old = (graph.get_state(config)).config
    graph.update_state(config, {"log": ["edited"]})
    kept = graph.get_state(config)
    stored_id = kept.config["configurable"]["checkpoint_id"]
    old_id = old["configurable"]["checkpoint_id"]
    assert stored_id != old_id

    for attempt in (
        lambda: graph.invoke(human("again", 9), old),
        lambda: graph.invoke(Command(resume="yes"), old),
        lambda: graph.update_state(old, {"log": ["lost?"]}),
    ):
        with pytest.raises(StaleCheckpointError) as info:
            attempt()
        assert info.value.stored_checkpoint_id == stored_id
        assert info.value.config_checkpoint_id == old_id
        assert stored_id in str(info.value)
        now = graph.get_state(config)
        assert now.values == kept.values and now.next == kept.next
        assert now.config == kept.config

    # without the checkpoint id the run goes on from the stored checkpoint
    done = graph.invoke(Command(resume="yes"), config)
    assert done["log"][-2:] == ["edited", "review:yes"]


def test_a_subgraph_with_an_old_config_is_refused(
    saver: ShallowRedisSaver, thread_id: str
):
    """A subgraph paused at an interrupt, its namespace's state config taken,
    the root moved on by ``update_state`` and resumed: the old subgraph
    config cannot overwrite the subgraph's checkpoint."""

    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
        return {"log": [f"ask:{interrupt_in(config, 'sub?')}"]}

    sub = chain_graph(Log, ask).compile()
    graph = chain_graph(Log, ("sub", sub)).compile(checkpointer=saver)
    config = thread(thread_id)

    graph.invoke({"log": ["in"]}, config)
    nested = graph.get_state(config, subgraphs=True)
    sub_config = nested.tasks[0].state.config
    graph.invoke(Command(resume="first"), config)
    graph.invoke({"log": ["again"]}, config)  # the subgraph asks again
    now = graph.get_state(config, subgraphs=True)
    with pytest.raises(StaleCheckpointError):
        graph.update_state(sub_config, {"log": ["stale"]})
    assert graph.get_state(config, subgraphs=True) == now


# -- delete_for_runs and copy_thread -----------------------------------------


def test_delete_for_runs_rolls_back_to_where_the_run_started(
    saver: ShallowRedisSaver, client: Redis, has_search: bool
):
    """Run 1 writes thread A (a checkpoint and a pending write); run 2 takes
    two steps on A and creates thread B. Deleting run 2, as the LangGraph
    server's rollback does, puts A back exactly as run 1 left it and deletes
    B; a second run on A after that starts from run 1's checkpoint."""
    a, b = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    run1, run2 = str(uuid.uuid4()), str(uuid.uuid4())

    def put(tid: str, run: str, parent: str | None, value: str) -> str:
        cp = checkpoint({"x": value})
        config = saver.put(
            cfg(tid, "", parent), cp, {"run_id": run, "step": 1}, {"x": 1}
        )
        return config["configurable"]["checkpoint_id"]

    first = put(a, run1, None, "run1")
    saver.put_writes(cfg(a, "", first), [("x", "pending")], "task")
    before = saver.get_tuple(cfg(a))
    second = put(a, run2, first, "run2-step1")
    put(a, run2, second, "run2-step2")
    put(b, run2, None, "run2")
    if not has_search:
        with pytest.raises(SearchUnavailableError):
            saver.delete_for_runs([run2])
        return
    saver.delete_for_runs([run2])
    assert saver.get_tuple(cfg(a)) == before
    assert saver.get_tuple(cfg(b)) is None
    assert not client.exists(saver.keys.rollback_base(a, ""))
    # the search entry follows: run 1's checkpoint is found by its metadata
    found = [t.config for t in saver.list(None, filter={"run_id": run1})]
    assert found == [before.config]
    # run 1 alone wrote A again: deleting it now deletes the thread
    saver.delete_for_runs([run1])
    assert saver.get_tuple(cfg(a)) is None


def test_delete_for_runs_refuses_without_the_state_to_go_back_to(
    saver: ShallowRedisSaver, client: Redis, has_search: bool
):
    """If the state before the run is gone (here: its key deleted, as an
    eviction would), nothing is deleted and the error names the thread."""
    a = f"a-{uuid.uuid4().hex}"
    run1, run2 = str(uuid.uuid4()), str(uuid.uuid4())
    cp1 = empty_checkpoint()
    c1 = saver.put(cfg(a), cp1, {"run_id": run1}, {})
    cp2 = empty_checkpoint()
    saver.put(c1, cp2, {"run_id": run2}, {})
    client.delete(saver.keys.rollback_base(a, ""))
    if not has_search:
        with pytest.raises(SearchUnavailableError):
            saver.delete_for_runs([run2])
        return
    with pytest.raises(DeleteRefusedError) as info:
        saver.delete_for_runs([run2])
    assert info.value.namespaces == [(a, "")]
    assert (saver.get_tuple(cfg(a))).checkpoint["id"] == cp2["id"]


def test_copy_thread_names_the_copy_in_its_metadata(
    saver: ShallowRedisSaver, thread_id: str, has_search: bool
):
    graph = chat_graph(saver)
    graph.invoke(human("hello", 0), thread(thread_id))
    assert (saver.get_tuple(thread(thread_id))).metadata.get("thread_id") in (
        None,
        thread_id,
    )
    target = thread_id + "-copy"
    source_tuple = saver.get_tuple(thread(thread_id))
    source_tuple.metadata["thread_id"] = thread_id  # as the LangGraph server sets
    saver.put(
        cfg(thread_id),
        source_tuple.checkpoint,
        source_tuple.metadata,
        source_tuple.checkpoint["channel_versions"],
    )
    saver.copy_thread(thread_id, target)
    copy = saver.get_tuple(thread(target))
    assert copy.metadata["thread_id"] == target
    assert (saver.get_tuple(thread(thread_id))).metadata["thread_id"] == thread_id
    if has_search:
        found = [
            t.config["configurable"]["thread_id"]
            for t in saver.list(None, filter={"thread_id": target})
        ]
        assert found == [target]
    saver.delete_thread(target)


# -- the stored format has a version ------------------------------------------


def test_an_unknown_layout_is_refused_before_anything_is_written(
    redis_url: str, prefix: str, client: Redis, thread_id: str
):
    kwargs = saver_prefixes(prefix)
    client.set(layout_key(prefix), "7")
    with ShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        with pytest.raises(LayoutVersionError, match="layout 7") as info:
            saver.setup()
        assert "pip install -U" in str(info.value)
    with ShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        cp = empty_checkpoint()
        with pytest.raises(LayoutVersionError):
            saver.put(cfg(thread_id), cp, {}, {})
    client.set(layout_key(prefix), "0")
    with ShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        with pytest.raises(LayoutVersionError, match="no migration"):
            saver.put_writes(cfg(thread_id, "", "x"), [("a", 1)], "t")
    keys = [k for k in client.scan_iter(match=f"{prefix}:*")]
    assert keys == [layout_key(prefix)]
    client.delete(layout_key(prefix))


def test_setup_records_the_layout_version(saver: ShallowRedisSaver, client: Redis):
    assert client.get(saver.keys.layout_key()) == b"3"


@pytest.mark.parametrize("older", ["1", "2"])
def test_older_layouts_are_upgraded_in_place(
    redis_url: str, prefix: str, client: Redis, thread_id: str, older: str
):
    # layout 2 only added the delta history fields and compressed values,
    # and layout 3 the history window (a key and a field), none of which the
    # layouts before wrote: their data is data of layout 3 as it is
    kwargs = saver_prefixes(prefix)
    client.set(layout_key(prefix), older)
    with ShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        cp = empty_checkpoint()
        saver.put(cfg(thread_id), cp, {}, {})
        assert client.get(layout_key(prefix)) == b"3"
        saver.delete_thread(thread_id)
    client.delete(layout_key(prefix))


# -- a drop-in constructor ----------------------------------------------------


def test_upstream_cache_arguments_are_accepted_and_checked(redis_url: str):
    with ShallowRedisSaver.from_conn_string(
        redis_url, key_cache_max_size=100, channel_cache_max_size=10
    ) as saver:
        assert saver.client is not None
    for bad in (0, -1, "10", 1.5, True):
        with pytest.raises(InvalidConfigError, match="key_cache_max_size"):
            ShallowRedisSaver(redis_url, key_cache_max_size=bad)
        with pytest.raises(InvalidConfigError, match="channel_cache_max_size"):
            ShallowRedisSaver(redis_url, channel_cache_max_size=bad)


def test_the_saver_is_a_context_manager(redis_url: str):
    with ShallowRedisSaver(redis_url) as saver:
        saver.setup()
        assert saver.get_tuple(cfg("nobody-" + uuid.uuid4().hex)) is None
