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
    AsyncShallowRedisSaver,
    DeleteRefusedError,
    InvalidConfigError,
    LayoutVersionError,
    SearchUnavailableError,
    StaleCheckpointError,
)
from tests._async.graph_support import interrupt_in, normalize
from tests._io_async import AsyncRedis, sqlite_saver
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


async def first_turns(source: InMemorySaver, thread_id: str) -> None:
    """Two turns on ``InMemorySaver``: one done, one paused at an interrupt,
    with a ``Command(update=...)`` applied in between."""
    graph = chat_graph(source)
    config = thread(thread_id)
    await graph.ainvoke(human("hello", 0), config)
    await graph.aupdate_state(config, {"log": ["edited"]})
    await graph.ainvoke(human("please ask", 2), config)


async def last_turns(cp: Any, thread_id: str) -> Any:
    """Resume the interrupt, then one more turn; what the graph shows."""
    graph = chat_graph(cp)
    config = thread(thread_id)
    seen = [await graph.aget_state(config)]
    seen.append(await graph.ainvoke(Command(resume="yes"), config))
    seen.append(await graph.ainvoke(human("bye", 6), config))
    seen.append(await graph.aget_state(config))
    return seen


# -- any saver's checkpoints continue ----------------------------------------


def test_next_version_keeps_the_form_it_is_given(asaver: AsyncShallowRedisSaver):
    assert asaver.get_next_version(None, None) == 1
    assert asaver.get_next_version(41, None) == 42
    current = InMemorySaver().get_next_version(None, None)
    assert isinstance(current, str)
    later = [current]
    for _ in range(12):  # past 9 -> 10: the padding keeps string order
        later.append(asaver.get_next_version(later[-1], None))
    assert later == sorted(later) and len(set(later)) == len(later)
    assert all(int(v.split(".")[0]) == i + 1 for i, v in enumerate(later))
    with pytest.raises(InvalidConfigError, match="'v3'"):
        asaver.get_next_version("v3", None)


async def test_an_inmemory_checkpoint_put_here_continues(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """The issue's reproduction: a checkpoint with string versions, stored
    with ``put`` (its own versions), then the graph goes on here, to the
    state the same turns reach on ``InMemorySaver``."""
    source = InMemorySaver()
    await first_turns(source, thread_id)
    for tup in [t async for t in source.alist(thread(thread_id))]:
        if (
            tup.checkpoint["id"]
            != (await source.aget_tuple(tup.config)).checkpoint["id"]
        ):
            continue
    latest = {}
    async for tup in source.alist(thread(thread_id)):
        ns = tup.config["configurable"]["checkpoint_ns"]
        if ns not in latest:
            latest[ns] = tup
    for ns, tup in latest.items():
        config = await asaver.aput(
            cfg(thread_id, ns),
            tup.checkpoint,
            tup.metadata,
            tup.checkpoint["channel_versions"],
        )
        for task_id, channel, value in tup.pending_writes:
            await asaver.aput_writes(config, [(channel, value)], task_id)
    assert isinstance(
        next(iter(latest[""].checkpoint["channel_versions"].values())), str
    )

    ours = normalize(await last_turns(asaver, thread_id))
    reference = normalize(await last_turns(source, thread_id))
    assert ours == reference
    final = ours[-1]
    assert final["values"]["log"].count("edited") == 1
    assert "review:yes" in final["values"]["log"]


async def test_copy_from_brings_every_thread_across(
    asaver: AsyncShallowRedisSaver,
):
    """``copy_from`` an ``InMemorySaver`` holding two threads (one paused at
    an interrupt, with a subgraph namespace): each continues here as there;
    a second copy changes nothing; a thread that went on here is not set
    back by a later copy."""
    source = InMemorySaver()
    ids = [f"copy-{uuid.uuid4().hex}" for _ in range(2)]
    for tid in ids:
        await first_turns(source, tid)

    summary = await asaver.acopy_from(source)
    assert (summary.threads, summary.skipped_newer) == (2, 0)
    namespaces = {
        (
            t.config["configurable"]["thread_id"],
            t.config["configurable"]["checkpoint_ns"],
        )
        async for t in source.alist(None)
    }
    assert summary.namespaces == len(namespaces)
    assert summary.writes > 0
    before = [await asaver.aget_tuple(cfg(t)) for t in ids]
    for tid in ids:
        want = await source.aget_tuple(thread(tid))
        got = await asaver.aget_tuple(thread(tid))
        assert got.checkpoint == want.checkpoint
        assert got.metadata == want.metadata
        assert sorted(got.pending_writes) == sorted(want.pending_writes)

    again = await asaver.acopy_from(source, thread_ids=ids)
    assert (again.threads, again.namespaces) == (2, summary.namespaces)
    assert [await asaver.aget_tuple(cfg(t)) for t in ids] == before

    ours = normalize(await last_turns(asaver, ids[0]))
    reference = normalize(await last_turns(source, ids[0]))
    assert ours == reference
    # a thread that went on here is not set back by copying the source again
    await chat_graph(asaver).ainvoke(Command(resume="yes"), thread(ids[1]))
    moved_on = await asaver.aget_tuple(thread(ids[1]))
    third = await asaver.acopy_from(source, thread_ids=[ids[1]])
    assert third.skipped_newer >= 1
    assert (await asaver.aget_tuple(thread(ids[1]))).checkpoint == moved_on.checkpoint


async def test_copy_from_a_sqlite_saver(asaver: AsyncShallowRedisSaver, thread_id: str):
    """LangGraph's SQLite saver (full history, string versions) as the
    source: the latest checkpoint of each namespace comes across and the
    thread goes on here as it goes on there."""
    async with sqlite_saver() as source:
        await first_turns(source, thread_id)
        summary = await asaver.acopy_from(source, thread_ids=[thread_id])
        assert summary.threads == 1 and summary.namespaces >= 2
        want = await source.aget_tuple(thread(thread_id))
        got = await asaver.aget_tuple(thread(thread_id))
        assert got.checkpoint == want.checkpoint
        assert sorted(got.pending_writes) == sorted(want.pending_writes)
        ours = normalize(await last_turns(asaver, thread_id))
        reference = normalize(await last_turns(source, thread_id))
    assert ours == reference


async def test_copy_from_refuses_what_is_not_a_saver(asaver: AsyncShallowRedisSaver):
    with pytest.raises(InvalidConfigError, match="source must be"):
        await asaver.acopy_from({"not": "a saver"})  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="not a str"):
        await asaver.acopy_from(InMemorySaver(), thread_ids="t")


# -- stale configs never destroy data -----------------------------------------


async def test_invoke_with_an_old_config_is_refused_and_keeps_the_state(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """``get_state`` config, then ``update_state``, then invoke, resume and
    ``update_state`` with the config taken before: each is refused naming
    the stored checkpoint, and the edited state is intact."""
    graph = chat_graph(asaver)
    config = thread(thread_id)
    await graph.ainvoke(human("please ask", 0), config)
    old = (await graph.aget_state(config)).config
    await graph.aupdate_state(config, {"log": ["edited"]})
    kept = await graph.aget_state(config)
    stored_id = kept.config["configurable"]["checkpoint_id"]
    old_id = old["configurable"]["checkpoint_id"]
    assert stored_id != old_id

    for attempt in (
        lambda: graph.ainvoke(human("again", 9), old),
        lambda: graph.ainvoke(Command(resume="yes"), old),
        lambda: graph.aupdate_state(old, {"log": ["lost?"]}),
    ):
        with pytest.raises(StaleCheckpointError) as info:
            await attempt()
        assert info.value.stored_checkpoint_id == stored_id
        assert info.value.config_checkpoint_id == old_id
        assert stored_id in str(info.value)
        now = await graph.aget_state(config)
        assert now.values == kept.values and now.next == kept.next
        assert now.config == kept.config

    # without the checkpoint id the run goes on from the stored checkpoint
    done = await graph.ainvoke(Command(resume="yes"), config)
    assert done["log"][-2:] == ["edited", "review:yes"]


async def test_a_subgraph_with_an_old_config_is_refused(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """A subgraph paused at an interrupt, its namespace's state config taken,
    the root moved on by ``update_state`` and resumed: the old subgraph
    config cannot overwrite the subgraph's checkpoint."""

    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
        return {"log": [f"ask:{interrupt_in(config, 'sub?')}"]}

    sub = chain_graph(Log, ask).compile()
    graph = chain_graph(Log, ("sub", sub)).compile(checkpointer=asaver)
    config = thread(thread_id)

    await graph.ainvoke({"log": ["in"]}, config)
    nested = await graph.aget_state(config, subgraphs=True)
    sub_config = nested.tasks[0].state.config
    await graph.ainvoke(Command(resume="first"), config)
    await graph.ainvoke({"log": ["again"]}, config)  # the subgraph asks again
    now = await graph.aget_state(config, subgraphs=True)
    with pytest.raises(StaleCheckpointError):
        await graph.aupdate_state(sub_config, {"log": ["stale"]})
    assert await graph.aget_state(config, subgraphs=True) == now


# -- delete_for_runs and copy_thread -----------------------------------------


async def test_delete_for_runs_rolls_back_to_where_the_run_started(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, has_search: bool
):
    """Run 1 writes thread A (a checkpoint and a pending write); run 2 takes
    two steps on A and creates thread B. Deleting run 2, as the LangGraph
    server's rollback does, puts A back exactly as run 1 left it and deletes
    B; a second run on A after that starts from run 1's checkpoint."""
    a, b = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    run1, run2 = str(uuid.uuid4()), str(uuid.uuid4())

    async def put(tid: str, run: str, parent: str | None, value: str) -> str:
        cp = checkpoint({"x": value})
        config = await asaver.aput(
            cfg(tid, "", parent), cp, {"run_id": run, "step": 1}, {"x": 1}
        )
        return config["configurable"]["checkpoint_id"]

    first = await put(a, run1, None, "run1")
    await asaver.aput_writes(cfg(a, "", first), [("x", "pending")], "task")
    before = await asaver.aget_tuple(cfg(a))
    second = await put(a, run2, first, "run2-step1")
    await put(a, run2, second, "run2-step2")
    await put(b, run2, None, "run2")
    if not has_search:
        with pytest.raises(SearchUnavailableError):
            await asaver.adelete_for_runs([run2])
        return
    await asaver.adelete_for_runs([run2])
    assert await asaver.aget_tuple(cfg(a)) == before
    assert await asaver.aget_tuple(cfg(b)) is None
    assert not await aclient.exists(asaver.keys.rollback_base(a, ""))
    # the search entry follows: run 1's checkpoint is found by its metadata
    found = [t.config async for t in asaver.alist(None, filter={"run_id": run1})]
    assert found == [before.config]
    # run 1 alone wrote A again: deleting it now deletes the thread
    await asaver.adelete_for_runs([run1])
    assert await asaver.aget_tuple(cfg(a)) is None


async def test_delete_for_runs_refuses_without_the_state_to_go_back_to(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, has_search: bool
):
    """If the state before the run is gone (here: its key deleted, as an
    eviction would), nothing is deleted and the error names the thread."""
    a = f"a-{uuid.uuid4().hex}"
    run1, run2 = str(uuid.uuid4()), str(uuid.uuid4())
    cp1 = empty_checkpoint()
    c1 = await asaver.aput(cfg(a), cp1, {"run_id": run1}, {})
    cp2 = empty_checkpoint()
    await asaver.aput(c1, cp2, {"run_id": run2}, {})
    await aclient.delete(asaver.keys.rollback_base(a, ""))
    if not has_search:
        with pytest.raises(SearchUnavailableError):
            await asaver.adelete_for_runs([run2])
        return
    with pytest.raises(DeleteRefusedError) as info:
        await asaver.adelete_for_runs([run2])
    assert info.value.namespaces == [(a, "")]
    assert (await asaver.aget_tuple(cfg(a))).checkpoint["id"] == cp2["id"]


async def test_copy_thread_names_the_copy_in_its_metadata(
    asaver: AsyncShallowRedisSaver, thread_id: str, has_search: bool
):
    graph = chat_graph(asaver)
    await graph.ainvoke(human("hello", 0), thread(thread_id))
    assert (await asaver.aget_tuple(thread(thread_id))).metadata.get("thread_id") in (
        None,
        thread_id,
    )
    target = thread_id + "-copy"
    source_tuple = await asaver.aget_tuple(thread(thread_id))
    source_tuple.metadata["thread_id"] = thread_id  # as the LangGraph server sets
    await asaver.aput(
        cfg(thread_id),
        source_tuple.checkpoint,
        source_tuple.metadata,
        source_tuple.checkpoint["channel_versions"],
    )
    await asaver.acopy_thread(thread_id, target)
    copy = await asaver.aget_tuple(thread(target))
    assert copy.metadata["thread_id"] == target
    assert (await asaver.aget_tuple(thread(thread_id))).metadata[
        "thread_id"
    ] == thread_id
    if has_search:
        found = [
            t.config["configurable"]["thread_id"]
            async for t in asaver.alist(None, filter={"thread_id": target})
        ]
        assert found == [target]
    await asaver.adelete_thread(target)


# -- the stored format has a version ------------------------------------------


async def test_an_unknown_layout_is_refused_before_anything_is_written(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
):
    kwargs = saver_prefixes(prefix)
    await aclient.set(layout_key(prefix), "7")
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        with pytest.raises(LayoutVersionError, match="layout 7") as info:
            await saver.asetup()
        assert "pip install -U" in str(info.value)
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        cp = empty_checkpoint()
        with pytest.raises(LayoutVersionError):
            await saver.aput(cfg(thread_id), cp, {}, {})
    await aclient.set(layout_key(prefix), "0")
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        with pytest.raises(LayoutVersionError, match="no migration"):
            await saver.aput_writes(cfg(thread_id, "", "x"), [("a", 1)], "t")
    keys = [k async for k in aclient.scan_iter(match=f"{prefix}:*")]
    assert keys == [layout_key(prefix)]
    await aclient.delete(layout_key(prefix))


async def test_setup_records_the_layout_version(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis
):
    assert await aclient.get(asaver.keys.layout_key()) == b"3"


@pytest.mark.parametrize("older", ["1", "2"])
async def test_older_layouts_are_upgraded_in_place(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str, older: str
):
    # layout 2 only added the delta history fields and compressed values,
    # and layout 3 the history window (a key and a field), none of which the
    # layouts before wrote: their data is data of layout 3 as it is
    kwargs = saver_prefixes(prefix)
    await aclient.set(layout_key(prefix), older)
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, **kwargs) as saver:
        cp = empty_checkpoint()
        await saver.aput(cfg(thread_id), cp, {}, {})
        assert await aclient.get(layout_key(prefix)) == b"3"
        await saver.adelete_thread(thread_id)
    await aclient.delete(layout_key(prefix))


# -- a drop-in constructor ----------------------------------------------------


async def test_upstream_cache_arguments_are_accepted_and_checked(redis_url: str):
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, key_cache_max_size=100, channel_cache_max_size=10
    ) as saver:
        assert saver.client is not None
    for bad in (0, -1, "10", 1.5, True):
        with pytest.raises(InvalidConfigError, match="key_cache_max_size"):
            AsyncShallowRedisSaver(redis_url, key_cache_max_size=bad)
        with pytest.raises(InvalidConfigError, match="channel_cache_max_size"):
            AsyncShallowRedisSaver(redis_url, channel_cache_max_size=bad)


async def test_the_saver_is_a_context_manager(redis_url: str):
    async with AsyncShallowRedisSaver(redis_url) as saver:
        await saver.asetup()
        assert await saver.aget_tuple(cfg("nobody-" + uuid.uuid4().hex)) is None
