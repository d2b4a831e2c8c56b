# This file is generated from tests/_async/test_plain_redis.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The core operations on a Redis without the Search and JSON modules.

A plain server is started for this module whatever ``--redis-kind`` says, so
both kinds of server are covered in every run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langgraph.checkpoint.redis_shallow import (
    SearchUnavailableError,
    ShallowRedisSaver,
)
from langgraph.checkpoint.redis_shallow.search import has_search_module
from redis_server import RedisServer
from tests._io_sync import Redis
from tests._sync.storage import is_data_key
from tests.builders import cfg, checkpoint_at, saver_prefixes


@pytest.fixture(scope="module")
def plain_url() -> Iterator[str]:
    """URL of a Redis server started without modules, for this module."""
    with RedisServer(modules=False) as server:
        yield server.url


@pytest.fixture
def plain_client(plain_url: str) -> Iterator[Redis]:
    client = Redis.from_url(plain_url)
    yield client
    client.close()


@pytest.fixture
def plain_saver(plain_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    with ShallowRedisSaver.from_conn_string(
        plain_url,
        ttl={"default_ttl": 5, "refresh_on_read": True},
        **saver_prefixes(prefix),
    ) as saver:
        saver.setup()
        yield saver


def test_server_really_has_no_modules(plain_client):
    assert not has_search_module(plain_client.module_list())


def test_setup_passes_and_is_idempotent(plain_saver):
    plain_saver.setup()
    plain_saver.setup()


def test_core_operations_work(plain_saver, plain_client, thread_id):
    stored = plain_saver.put(cfg(thread_id), checkpoint_at(1), {"step": 1}, {"a": 1})
    plain_saver.put_writes(stored, [("a", 2), ("b", 3)], "task", "path")
    sub = plain_saver.put(
        cfg(thread_id, "sub"), checkpoint_at(7), {"step": 7}, {"a": 7}
    )

    tup = plain_saver.get_tuple(cfg(thread_id))
    assert tup is not None
    assert tup.config == stored
    assert tup.checkpoint["channel_values"] == {"a": 1}
    assert tup.metadata["step"] == 1
    assert tup.pending_writes == [("task", "a", 2), ("task", "b", 3)]
    assert plain_saver.get_tuple(stored) is not None

    # a second put replaces the first
    stored = plain_saver.put(stored, checkpoint_at(2), {"step": 2}, {"a": 2})
    tup = plain_saver.get_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 2}
    assert tup.pending_writes == []

    # list of one thread: all its namespaces, or one; filters and limit
    listed = [t for t in plain_saver.list({"configurable": {"thread_id": thread_id}})]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == [
        "",
        "sub",
    ]
    listed = [t for t in plain_saver.list(cfg(thread_id, "sub"))]
    assert [t.config for t in listed] == [sub]
    listed = [
        t
        for t in plain_saver.list(
            {"configurable": {"thread_id": thread_id}}, filter={"step": 7}
        )
    ]
    assert [t.config for t in listed] == [sub]
    listed = [
        t for t in plain_saver.list({"configurable": {"thread_id": thread_id}}, limit=1)
    ]
    assert len(listed) == 1

    plain_saver.delete_thread(thread_id)
    assert plain_saver.get_tuple(cfg(thread_id)) is None
    assert plain_saver.get_tuple(cfg(thread_id, "sub")) is None
    prefix = plain_saver.keys.checkpoint_prefix.rsplit(":", 1)[0]
    assert [
        k for k in plain_client.scan_iter(match=prefix + ":*") if is_data_key(k)
    ] == [plain_saver.keys.tombstone(thread_id).encode()]


def test_put_writes_before_put_works(plain_saver, thread_id):
    cp = checkpoint_at(1)
    plain_saver.put_writes(
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
    plain_saver.put(cfg(thread_id), cp, {}, {"a": 1})
    tup = plain_saver.get_tuple(cfg(thread_id))
    assert tup is not None and tup.pending_writes == [("task", "a", "early")]
    plain_saver.delete_thread(thread_id)


def test_list_across_threads_needs_search(plain_saver, thread_id):
    plain_saver.put(cfg(thread_id), checkpoint_at(1), {"step": 1}, {"a": 1})
    for kwargs in ({}, {"filter": {"step": 1}}, {"limit": 5}):
        with pytest.raises(SearchUnavailableError) as info:
            for _ in plain_saver.list(None, **kwargs):
                pass
        assert "Search module" in str(info.value)
    plain_saver.delete_thread(thread_id)


def test_list_across_threads_needs_search_even_without_setup(
    plain_url, prefix, thread_id
):
    saver = ShallowRedisSaver(plain_url, **saver_prefixes(prefix))
    try:
        saver.put(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
        with pytest.raises(SearchUnavailableError, match="Search module"):
            for _ in saver.list(None):
                pass
        saver.delete_thread(thread_id)
    finally:
        saver.close()
