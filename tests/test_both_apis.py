"""Each saver serves both checkpointer APIs, natively.

Hand-written (not generated): it is about the two variants together. The
async saver's sync methods run the generated sync saver on a sync client;
the sync saver's ``a``-methods run the async saver on an async client. Both
see the same keys, so what one API writes the other reads. LangGraph's own
cases: a sync node of an async graph that calls a subgraph's ``.invoke()``
(it uses the sync API of the parent's checkpointer), ``graph.get_state`` in
sync code next to ``ainvoke``, and ``graph.ainvoke`` on the sync saver.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    InvalidConfigError,
    ShallowRedisSaver,
)
from langgraph.checkpoint.redis_shallow.telemetry import AsyncLoggedRetry, LoggedRetry
from tests._async.conftest import drop as adrop
from tests._async.graph_support import Log, interrupt_in, normalize
from tests._sync.conftest import drop as sync_drop
from tests.builders import cfg, chain_graph, checkpoint, saver_prefixes


@pytest.fixture
async def asaver(redis_url: str, prefix: str) -> AsyncIterator[AsyncShallowRedisSaver]:
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        yield saver
        await adrop(saver, prefix)


@pytest.fixture
def saver(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    with ShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        yield saver
        sync_drop(saver, prefix)


async def test_the_async_saver_serves_the_sync_api(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """Sync calls, made from the event loop's own thread, on the async saver:
    they write and read the same keys as its async calls."""
    config = asaver.put(
        cfg(thread_id), checkpoint({"x": "sync"}), {"step": 1}, {"x": 1}
    )
    asaver.put_writes(config, [("x", "w")], "task")
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup.checkpoint["channel_values"] == {"x": "sync"}
    assert tup.pending_writes == [("task", "x", "w")]
    again = await asaver.aput(config, checkpoint({"x": "async"}), {"step": 2}, {"x": 1})
    assert asaver.get_tuple(cfg(thread_id)).config == again
    assert [t.config for t in asaver.list(cfg(thread_id))] == [again]
    asaver.copy_thread(thread_id, thread_id + "-2")
    assert (await asaver.aget_tuple(cfg(thread_id + "-2"))) is not None
    asaver.prune([thread_id], strategy="delete")
    asaver.delete_thread(thread_id + "-2")
    assert await asaver.aget_tuple(cfg(thread_id)) is None
    assert asaver.get_tuple(cfg(thread_id + "-2")) is None
    asaver.setup()  # idempotent, on the sync client


async def test_the_sync_saver_serves_the_async_api(
    saver: ShallowRedisSaver, thread_id: str
):
    config = await saver.aput(cfg(thread_id), checkpoint({"x": "async"}), {}, {"x": 1})
    await saver.aput_writes(config, [("x", "w")], "task")
    tup = saver.get_tuple(cfg(thread_id))
    assert tup.checkpoint["channel_values"] == {"x": "async"}
    assert tup.pending_writes == [("task", "x", "w")]
    assert [t.config async for t in saver.alist(cfg(thread_id))] == [config]
    assert (await saver.aget_tuple(cfg(thread_id))).config == config
    await saver.acopy_thread(thread_id, thread_id + "-2")
    await saver.aprune([thread_id + "-2"], strategy="delete")
    await saver.adelete_thread(thread_id)
    assert saver.get_tuple(cfg(thread_id)) is None
    await saver.asetup()
    await saver.aclose()  # closes the async client, then the sync one
    assert saver._other_saver is None


def subgraph_scenario_graph(cp: Any) -> Any:
    """An async graph whose sync node calls a subgraph with ``.invoke()``;
    the subgraph interrupts."""

    def ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
        return {"log": [f"ask:{interrupt_in(config, 'sub?')}"]}

    sub = chain_graph(Log, ask).compile(checkpointer=True)

    def call_sub(state: Log, config: RunnableConfig) -> dict[str, Any]:
        return {"log": sub.invoke({"log": ["sub-in"]}, config)["log"]}

    async def first(state: Log) -> dict[str, Any]:
        return {"log": ["first"]}

    return chain_graph(Log, first, call_sub).compile(checkpointer=cp)


async def subgraph_scenario(cp: Any, thread_id: str) -> Any:
    graph = subgraph_scenario_graph(cp)
    config = {"configurable": {"thread_id": thread_id}}
    paused = await graph.ainvoke({"log": ["in"]}, config)
    # sync get_state next to the async graph: the sync API of the saver
    waiting = graph.get_state(config, subgraphs=True)
    done = await graph.ainvoke(Command(resume="yes"), config)
    final = graph.get_state(config)
    return paused, waiting, done, final


async def test_a_sync_subgraph_inside_an_async_graph(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """LangGraph's ``test_weather_subgraph`` case: the sync node's
    ``sub.invoke`` and ``graph.get_state`` use the async saver's sync API
    (from a worker thread and from the loop's thread). Same state as on
    ``InMemorySaver``."""
    ours = normalize(await subgraph_scenario(asaver, thread_id))
    reference = normalize(await subgraph_scenario(InMemorySaver(), thread_id))
    assert ours == reference
    paused, waiting, done, final = ours
    assert paused["__interrupt__"][0][1] == "sub?"
    assert waiting["next"] == ("call_sub",)
    assert done["log"] == ["in", "first", "sub-in", "ask:yes"]
    assert final["next"] == ()


async def test_ainvoke_on_the_sync_saver(saver: ShallowRedisSaver, thread_id: str):
    async def scenario(cp: Any, tid: str) -> Any:
        def ask(state: Log, config: RunnableConfig) -> dict[str, Any]:
            return {"log": [f"ask:{interrupt_in(config, 'ok?')}"]}

        graph = chain_graph(Log, ask).compile(checkpointer=cp)
        config = {"configurable": {"thread_id": tid}}
        paused = await graph.ainvoke({"log": ["in"]}, config)
        waiting = await graph.aget_state(config)
        done = await graph.ainvoke(Command(resume="yes"), config)
        return paused, waiting, done, graph.get_state(config)

    ours = normalize(await scenario(saver, thread_id))
    assert ours == normalize(await scenario(InMemorySaver(), thread_id))
    assert ours[2]["log"] == ["in", "ask:yes"]


def test_sync_calls_from_many_threads_share_one_sync_client(
    redis_url: str, prefix: str, thread_id: str
):
    """The sync client is made once, however many threads ask at once."""
    saver = AsyncShallowRedisSaver(redis_url, **saver_prefixes(prefix))
    seen = []

    def work(i: int) -> None:
        saver.put(cfg(f"{thread_id}-{i}"), checkpoint({"x": str(i)}), {}, {"x": 1})
        seen.append(id(saver._other()))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and len(seen) == 8
    for i in range(8):
        assert saver.get_tuple(cfg(f"{thread_id}-{i}")).checkpoint[
            "channel_values"
        ] == {"x": str(i)}
        saver.delete_thread(f"{thread_id}-{i}")
    other = saver._other_saver
    saver._close_other()
    assert other is not None and saver._other_saver is None


async def test_a_passed_client_is_copied_to_the_other_kind(
    redis_url: str, prefix: str, thread_id: str
):
    """With your own ``redis_client``, the other kind is made from its
    settings and closed with the saver; yours stays open."""
    client = redis.asyncio.Redis.from_url(redis_url)
    saver = AsyncShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    saver.put(cfg(thread_id), checkpoint({"x": "a"}), {}, {"x": 1})
    assert (await saver.aget_tuple(cfg(thread_id))) is not None
    derived = saver._other_saver
    assert derived is not None and derived._owns_client
    await saver.adelete_thread(thread_id)
    await saver.aclose()
    assert await client.ping()  # not closed: it is yours
    await client.aclose()

    sync_client = redis.Redis.from_url(redis_url)
    ssaver = ShallowRedisSaver(redis_client=sync_client, **saver_prefixes(prefix))
    await ssaver.aput(cfg(thread_id), checkpoint({"x": "b"}), {}, {"x": 1})
    assert ssaver.get_tuple(cfg(thread_id)).checkpoint["channel_values"] == {"x": "b"}
    ssaver.delete_thread(thread_id)
    await ssaver.aclose()
    assert sync_client.ping()
    sync_client.close()


async def test_a_client_that_cannot_be_copied_asks_for_other_api_client(
    redis_url: str, prefix: str, thread_id: str
):
    """Connections of a custom class cannot be carried over: the first call
    of the other API says to pass ``other_api_client``, and with it works."""

    class Traced(redis.asyncio.connection.Connection):
        pass

    pool = redis.asyncio.ConnectionPool.from_url(redis_url, connection_class=Traced)
    client = redis.asyncio.Redis(connection_pool=pool)
    saver = AsyncShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    with pytest.raises(InvalidConfigError, match="other_api_client"):
        saver.get_tuple(cfg(thread_id))
    sync_client = redis.Redis.from_url(redis_url)
    saver = AsyncShallowRedisSaver(
        redis_client=client, other_api_client=sync_client, **saver_prefixes(prefix)
    )
    saver.put(cfg(thread_id), checkpoint({"x": "c"}), {}, {"x": 1})
    assert (await saver.aget_tuple(cfg(thread_id))) is not None
    await saver.adelete_thread(thread_id)
    await saver.aclose()
    assert sync_client.ping()  # yours: left open
    sync_client.close()
    await client.aclose()


# -- the default retry ------------------------------------------------------------


async def fail_once_through(retry: Any) -> str:
    """Run, through ``retry``, a call that loses its connection once then
    succeeds, as redis-py's clients do (a coroutine for an asyncio retry)."""
    attempts: list[int] = []

    def step() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise redis.ConnectionError("connection lost")
        return "done"

    if inspect.iscoroutinefunction(type(retry).call_with_retry):

        async def ado() -> str:
            return step()

        async def afail(error: Exception) -> None:
            return None

        return str(await retry.call_with_retry(ado, afail))
    return str(retry.call_with_retry(step, lambda error: None))


@pytest.mark.parametrize("by", ["url", "client"])
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_every_client_the_saver_makes_keeps_the_default_retry_and_logs(
    redis_url: str, prefix: str, kind: str, by: str, caplog: pytest.LogCaptureFixture
):
    """Each client a saver makes, for its own API and the other one, keeps
    the saver's default retry (redis-py 8.2 replaced an asyncio client's
    retry, with a UserWarning, unless its ``call_with_retry`` is a coroutine
    function), and that retry logs each failure. A client passed in keeps
    its own retry. Any warning fails this test (pyproject's filterwarnings)."""
    caplog.set_level(logging.WARNING, logger="langgraph.checkpoint.redis_shallow")
    passed: Any = None
    if kind == "async":
        passed = redis.asyncio.Redis.from_url(redis_url) if by == "client" else None
        made: Any = AsyncShallowRedisSaver(
            redis_url if passed is None else None,
            redis_client=passed,
            **saver_prefixes(prefix),
        )
    else:
        passed = redis.Redis.from_url(redis_url) if by == "client" else None
        made = ShallowRedisSaver(
            redis_url if passed is None else None,
            redis_client=passed,
            **saver_prefixes(prefix),
        )
    other = made._other().client  # the client of the other API, made now
    mine = [] if passed is not None else [made.client]
    for client in [*mine, other]:
        retry = client.get_retry()
        assert isinstance(retry, (LoggedRetry, AsyncLoggedRetry)), type(retry)
        is_async = isinstance(client, redis.asyncio.Redis)
        assert isinstance(retry, AsyncLoggedRetry) == is_async
        caplog.clear()
        assert await fail_once_through(retry) == "done"
        logged = [r.getMessage() for r in caplog.records]
        assert logged == [
            "Redis command failed (ConnectionError: connection lost); retry 1 of 3"
        ], logged
    if passed is not None:
        assert not isinstance(passed.get_retry(), (LoggedRetry, AsyncLoggedRetry))
    if kind == "async":
        await made.aclose()
    else:
        made.close()
    if passed is not None:
        await passed.aclose() if kind == "async" else passed.close()
