"""The core operations on a Redis without the Search and JSON modules.

A plain server is started for this module whatever ``--redis-kind`` says, so
both kinds of server are covered in every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    SearchUnavailableError,
)
from langgraph.checkpoint.redis_shallow.search import has_search_module
from redis_server import RedisServer
from tests._async.storage import is_data_key
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint_at, saver_prefixes


@pytest.fixture(scope="module")
def plain_url() -> Iterator[str]:
    """URL of a Redis server started without modules, for this module."""
    with RedisServer(modules=False) as server:
        yield server.url


@pytest.fixture
async def plain_client(plain_url: str) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(plain_url)
    yield client
    await client.aclose()


@pytest.fixture
async def plain_saver(
    plain_url: str, prefix: str
) -> AsyncIterator[AsyncShallowRedisSaver]:
    async with AsyncShallowRedisSaver.from_conn_string(
        plain_url,
        ttl={"default_ttl": 5, "refresh_on_read": True},
        **saver_prefixes(prefix),
    ) as saver:
        await saver.asetup()
        yield saver


async def test_server_really_has_no_modules(plain_client):
    assert not has_search_module(await plain_client.module_list())


async def test_setup_passes_and_is_idempotent(plain_saver):
    await plain_saver.asetup()
    await plain_saver.asetup()


async def test_core_operations_work(plain_saver, plain_client, thread_id):
    stored = await plain_saver.aput(
        cfg(thread_id), checkpoint_at(1), {"step": 1}, {"a": 1}
    )
    await plain_saver.aput_writes(stored, [("a", 2), ("b", 3)], "task", "path")
    sub = await plain_saver.aput(
        cfg(thread_id, "sub"), checkpoint_at(7), {"step": 7}, {"a": 7}
    )

    tup = await plain_saver.aget_tuple(cfg(thread_id))
    assert tup is not None
    assert tup.config == stored
    assert tup.checkpoint["channel_values"] == {"a": 1}
    assert tup.metadata["step"] == 1
    assert tup.pending_writes == [("task", "a", 2), ("task", "b", 3)]
    assert await plain_saver.aget_tuple(stored) is not None

    # a second put replaces the first
    stored = await plain_saver.aput(stored, checkpoint_at(2), {"step": 2}, {"a": 2})
    tup = await plain_saver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 2}
    assert tup.pending_writes == []

    # list of one thread: all its namespaces, or one; filters and limit
    listed = [
        t async for t in plain_saver.alist({"configurable": {"thread_id": thread_id}})
    ]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == [
        "",
        "sub",
    ]
    listed = [t async for t in plain_saver.alist(cfg(thread_id, "sub"))]
    assert [t.config for t in listed] == [sub]
    listed = [
        t
        async for t in plain_saver.alist(
            {"configurable": {"thread_id": thread_id}}, filter={"step": 7}
        )
    ]
    assert [t.config for t in listed] == [sub]
    listed = [
        t
        async for t in plain_saver.alist(
            {"configurable": {"thread_id": thread_id}}, limit=1
        )
    ]
    assert len(listed) == 1

    await plain_saver.adelete_thread(thread_id)
    assert await plain_saver.aget_tuple(cfg(thread_id)) is None
    assert await plain_saver.aget_tuple(cfg(thread_id, "sub")) is None
    prefix = plain_saver.keys.checkpoint_prefix.rsplit(":", 1)[0]
    assert [
        k async for k in plain_client.scan_iter(match=prefix + ":*") if is_data_key(k)
    ] == [plain_saver.keys.tombstone(thread_id).encode()]


async def test_put_writes_before_put_works(plain_saver, thread_id):
    cp = checkpoint_at(1)
    await plain_saver.aput_writes(
        {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": "",
                "checkpoint_id": cp["id"],
            }
        },
        [("a", "early")],
        "task",
    )
    await plain_saver.aput(cfg(thread_id), cp, {}, {"a": 1})
    tup = await plain_saver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.pending_writes == [("task", "a", "early")]
    await plain_saver.adelete_thread(thread_id)


async def test_list_across_threads_needs_search(plain_saver, thread_id):
    await plain_saver.aput(cfg(thread_id), checkpoint_at(1), {"step": 1}, {"a": 1})
    for kwargs in ({}, {"filter": {"step": 1}}, {"limit": 5}):
        with pytest.raises(SearchUnavailableError) as info:
            async for _ in plain_saver.alist(None, **kwargs):
                pass
        assert "Search module" in str(info.value)
    await plain_saver.adelete_thread(thread_id)


async def test_list_across_threads_needs_search_even_without_setup(
    plain_url, prefix, thread_id
):
    saver = AsyncShallowRedisSaver(plain_url, **saver_prefixes(prefix))
    try:
        await saver.aput(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
        with pytest.raises(SearchUnavailableError, match="Search module"):
            async for _ in saver.alist(None):
                pass
        await saver.adelete_thread(thread_id)
    finally:
        await saver.aclose()
