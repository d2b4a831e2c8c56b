"""Each saver refuses the other variant's API, at once, naming the class to use.

Hand-written (not generated): the two variants behave differently here on
purpose. ``AsyncShallowRedisSaver`` refuses the sync checkpointer API (and so
``graph.invoke`` / ``graph.get_state``) with a ``WrongApiError`` that names
``ShallowRedisSaver``; ``ShallowRedisSaver`` refuses the async API (and so
``graph.ainvoke`` / ``graph.aget_state``) naming ``AsyncShallowRedisSaver``.
Neither sends anything to Redis when refusing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    ShallowRedisSaver,
    WrongApiError,
)
from tests._async.conftest import drop as adrop
from tests._io_async import counting_client as async_counting_client
from tests._io_sync import counting_client as sync_counting_client
from tests._sync.conftest import drop as sync_drop

# the sync class's name on its own, not as the tail of "AsyncShallowRedisSaver"
NAMES_SYNC_CLASS = re.compile(r"(?<![A-Za-z])ShallowRedisSaver\b")
NAMES_ASYNC_CLASS = re.compile(r"\bAsyncShallowRedisSaver\b")


class State(TypedDict):
    n: int


def build_graph(calls: list[int]) -> StateGraph:
    def step(state: State) -> dict:
        calls.append(state["n"])
        return {"n": state["n"] + 1}

    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder


def cfg(thread_id: str = "t") -> dict:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def stored_cfg() -> dict:
    return {
        "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "x"}
    }


def make_cp() -> dict:
    cp = empty_checkpoint()
    cp["channel_values"] = {"n": 1}
    cp["channel_versions"] = {"n": 1}
    return cp


def sync_calls(saver: Any) -> dict[str, Callable[[], Any]]:
    """The sync checkpointer API, each call consumed in full."""
    return {
        "get_tuple": lambda: saver.get_tuple(cfg()),
        "get": lambda: saver.get(cfg()),
        "put": lambda: saver.put(cfg(), make_cp(), {}, {"n": 1}),
        "put_writes": lambda: saver.put_writes(stored_cfg(), [("n", 2)], "task"),
        "list": lambda: [*saver.list(cfg())],
        "list(None)": lambda: [*saver.list(None)],
        "delete_thread": lambda: saver.delete_thread("t"),
        "setup": lambda: saver.setup(),
        "prune": lambda: saver.prune(["t"]),
        "copy_thread": lambda: saver.copy_thread("t", "u"),
        "delete_for_runs": lambda: saver.delete_for_runs(["run"]),
    }


def async_calls(saver: Any) -> dict[str, Callable[[], Any]]:
    """The async checkpointer API, called but never awaited."""
    return {
        "aget_tuple": lambda: saver.aget_tuple(cfg()),
        "aget": lambda: saver.aget(cfg()),
        "aput": lambda: saver.aput(cfg(), make_cp(), {}, {"n": 1}),
        "aput_writes": lambda: saver.aput_writes(stored_cfg(), [("n", 2)], "task"),
        "alist": lambda: saver.alist(cfg()),
        "alist(None)": lambda: saver.alist(None),
        "adelete_thread": lambda: saver.adelete_thread("t"),
        "asetup": lambda: saver.asetup(),
        "aprune": lambda: saver.aprune(["t"]),
        "acopy_thread": lambda: saver.acopy_thread("t", "u"),
        "adelete_for_runs": lambda: saver.adelete_for_runs(["run"]),
    }


# -- the async saver refuses the sync API --------------------------------------------


@pytest.mark.parametrize("method", list(sync_calls(None)))
async def test_sync_api_on_async_saver_names_the_sync_class(redis_url, method):
    client, trips = async_counting_client(redis_url)
    saver = AsyncShallowRedisSaver(redis_client=client)
    try:
        with pytest.raises(WrongApiError) as info:
            sync_calls(saver)[method]()
        message = str(info.value)
        assert NAMES_SYNC_CLASS.search(message), message
        assert trips.count == 0
    finally:
        await client.aclose()


async def test_graph_invoke_with_async_saver_names_the_sync_class(redis_url, prefix):
    client, trips = async_counting_client(redis_url)
    saver = AsyncShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix=prefix + ":cp",
        checkpoint_write_prefix=prefix + ":w",
    )
    calls: list[int] = []
    graph = build_graph(calls).compile(checkpointer=saver)
    try:
        for run in (
            lambda: graph.invoke({"n": 1}, cfg()),
            lambda: [*graph.stream({"n": 1}, cfg())],
            lambda: graph.get_state(cfg()),
            lambda: [*graph.get_state_history(cfg())],
            lambda: graph.update_state(cfg(), {"n": 5}),
        ):
            with pytest.raises(WrongApiError) as info:
                run()
            assert NAMES_SYNC_CLASS.search(str(info.value)), str(info.value)
        assert calls == [], "a node ran before the saver refused"
        assert trips.count == 0

        # the async API of the same graph works
        await saver.asetup()
        assert await graph.ainvoke({"n": 1}, cfg()) == {"n": 2}
        assert (await graph.aget_state(cfg())).values == {"n": 2}
        assert calls == [1]
    finally:
        await adrop(saver, prefix)
        await client.aclose()


# -- the sync saver refuses the async API --------------------------------------------


@pytest.mark.parametrize("method", list(async_calls(None)))
def test_async_api_on_sync_saver_names_the_async_class(redis_url, method):
    client, trips = sync_counting_client(redis_url)
    saver = ShallowRedisSaver(redis_client=client)
    try:
        # raised by the call itself, before anything could be awaited
        with pytest.raises(WrongApiError) as info:
            async_calls(saver)[method]()
        message = str(info.value)
        assert NAMES_ASYNC_CLASS.search(message), message
        assert trips.count == 0
    finally:
        client.close()


async def test_graph_ainvoke_with_sync_saver_names_the_async_class(redis_url, prefix):
    client, trips = sync_counting_client(redis_url)
    saver = ShallowRedisSaver(
        redis_client=client,
        checkpoint_prefix=prefix + ":cp",
        checkpoint_write_prefix=prefix + ":w",
    )
    calls: list[int] = []
    graph = build_graph(calls).compile(checkpointer=saver)
    try:
        with pytest.raises(WrongApiError) as info:
            await graph.ainvoke({"n": 1}, cfg())
        assert NAMES_ASYNC_CLASS.search(str(info.value))
        with pytest.raises(WrongApiError) as info:
            async for _ in graph.astream({"n": 1}, cfg()):
                pass
        assert NAMES_ASYNC_CLASS.search(str(info.value))
        with pytest.raises(WrongApiError) as info:
            await graph.aget_state(cfg())
        assert NAMES_ASYNC_CLASS.search(str(info.value))
        with pytest.raises(WrongApiError) as info:
            await graph.aupdate_state(cfg(), {"n": 5})
        assert NAMES_ASYNC_CLASS.search(str(info.value))
        assert calls == [], "a node ran before the saver refused"
        assert trips.count == 0

        # the sync API of the same graph works
        saver.setup()
        assert graph.invoke({"n": 1}, cfg()) == {"n": 2}
        assert graph.get_state(cfg()).values == {"n": 2}
        assert calls == [1]
    finally:
        sync_drop(saver, prefix)
        client.close()


def test_wrong_api_error_is_a_type_error():
    # so code that probes for the API with ``except TypeError`` still works
    assert issubclass(WrongApiError, TypeError)
