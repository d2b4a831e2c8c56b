"""Thread ids, namespaces and prefixes: any string works, nothing crosses over."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from tests._async.conftest import drop
from tests._async.storage import saver_keys
from tests.builders import cfg, checkpoint, saver_prefixes

ODD_IDS = [
    "",
    "ünïcödé 日本語 🦜",
    "a:b",
    "a:b:c:",
    ":",
    "a,b",
    "{}",
    "{x}",
    "}{",
    "a b",
    " ",
    "*",
    "a*",
    "?[ab]",
    "%",
    "%25",
    "%%",
    "\\",
    "\x00",
    "x" * 1000,
]

UPSTREAM_KEY_PREFIXES = (
    "checkpoint:",
    "checkpoint_write:",
    "checkpoint_blob:",
    "checkpoint_latest:",
    "write_keys_zset:",
)
UPSTREAM_INDEX_NAMES = (
    "checkpoint",
    "checkpoints",
    "checkpoint_writes",
    "checkpoint_blobs",
    "checkpoint_latest",
)


def whole(thread_id: Any) -> dict:
    """Config of a whole thread (every namespace)."""
    return {"configurable": {"thread_id": thread_id}}


async def store(
    saver: AsyncShallowRedisSaver, thread_id: Any, ns: str, value: Any
) -> dict:
    """Put a checkpoint holding ``value`` and one write carrying it too."""
    stored = await saver.aput(
        cfg(thread_id, ns), checkpoint({"v": value}), {"tag": value}, {"v": 1}
    )
    await saver.aput_writes(stored, [("v", value)], "task")
    return stored


async def value_of(saver: AsyncShallowRedisSaver, thread_id: Any, ns: str) -> Any:
    """The value a thread/namespace holds (checked consistent), or None."""
    tup = await saver.aget_tuple(cfg(thread_id, ns))
    if tup is None:
        return None
    value = tup.checkpoint["channel_values"]["v"]
    assert tup.metadata["tag"] == value
    assert tup.pending_writes == [("task", "v", value)]
    return value


@pytest.mark.parametrize("odd", ODD_IDS, ids=lambda s: repr(s)[:20])
async def test_any_string_is_a_thread_id_and_a_namespace(asaver, aclient, odd):
    deleted = set()
    for thread_id, ns in ((odd, ""), ("plain", odd), (odd, odd)):
        stored = await store(asaver, thread_id, ns, "value")
        assert stored["configurable"]["thread_id"] == thread_id
        assert stored["configurable"]["checkpoint_ns"] == ns
        tup = await asaver.aget_tuple(cfg(thread_id, ns))
        assert tup is not None
        assert tup.config == stored
        assert await value_of(asaver, thread_id, ns) == "value"
        assert await asaver.aget_tuple(stored) is not None
        listed = [t async for t in asaver.alist(whole(thread_id))]
        assert [t.config for t in listed] == [stored]
        listed = [t async for t in asaver.alist(cfg(thread_id, ns))]
        assert [t.config for t in listed] == [stored]
        await asaver.adelete_thread(thread_id)
        deleted.add(thread_id)
        assert await asaver.aget_tuple(cfg(thread_id, ns)) is None
        # nothing but the tombstones of the threads deleted (Keys.tombstone)
        assert sorted(await saver_keys(aclient, asaver)) == sorted(
            asaver.keys.tombstone(t).encode() for t in deleted
        )


async def test_odd_ids_never_see_each_other(asaver):
    for i, thread_id in enumerate(ODD_IDS):
        await store(asaver, thread_id, "", f"thread-{i}")
        await store(asaver, "shared", thread_id, f"ns-{i}")
    for i, thread_id in enumerate(ODD_IDS):
        assert await value_of(asaver, thread_id, "") == f"thread-{i}"
        assert await value_of(asaver, "shared", thread_id) == f"ns-{i}"
    listed = [t async for t in asaver.alist(whole("shared"))]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == sorted(
        ODD_IDS
    )
    # deleting one thread leaves every other alone
    await asaver.adelete_thread("")
    assert await value_of(asaver, "", "") is None
    for i, thread_id in enumerate(ODD_IDS[1:], start=1):
        assert await value_of(asaver, thread_id, "") == f"thread-{i}"
    assert await value_of(asaver, "shared", "") == "ns-0"


async def test_ids_differing_only_in_case_are_distinct(asaver):
    variants = ["thread", "Thread", "THREAD", "tHREAD"]
    for i, name in enumerate(variants):
        await store(asaver, name, "", i)
        await store(asaver, "t", name, i * 10)
    for i, name in enumerate(variants):
        assert await value_of(asaver, name, "") == i
        assert await value_of(asaver, "t", name) == i * 10
    await asaver.adelete_thread("Thread")
    assert await value_of(asaver, "Thread", "") is None
    assert await value_of(asaver, "thread", "") == 0
    assert await value_of(asaver, "THREAD", "") == 2


async def test_separator_in_thread_and_namespace_do_not_collide(asaver):
    await store(asaver, "k", "child:1", "first")
    await store(asaver, "k:child", "1", "second")
    await store(asaver, "k:child:1", "", "third")
    assert await value_of(asaver, "k", "child:1") == "first"
    assert await value_of(asaver, "k:child", "1") == "second"
    assert await value_of(asaver, "k:child:1", "") == "third"
    assert await value_of(asaver, "k", "") is None
    assert await value_of(asaver, "k:child", "") is None
    await asaver.adelete_thread("k")
    assert await value_of(asaver, "k", "child:1") is None
    assert await value_of(asaver, "k:child", "1") == "second"
    assert await value_of(asaver, "k:child:1", "") == "third"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ids=st.lists(st.text(), min_size=2, max_size=2, unique=True),
    ns=st.text(max_size=20) | st.just(""),
)
async def test_distinct_thread_ids_never_cross(asaver, ids, ns):
    first, second = ids
    try:
        await store(asaver, first, ns, "first")
        assert await value_of(asaver, second, ns) is None
        await store(asaver, second, ns, "second")
        assert await value_of(asaver, first, ns) == "first"
        assert await value_of(asaver, second, ns) == "second"
        await asaver.adelete_thread(first)
        assert await value_of(asaver, first, ns) is None
        assert await value_of(asaver, second, ns) == "second"
    finally:
        await asaver.adelete_thread(first)
        await asaver.adelete_thread(second)


@pytest.mark.parametrize(
    "raw", [42, 0, uuid.UUID("12345678-1234-5678-1234-567812345678")]
)
async def test_int_and_uuid_thread_ids_are_stored_as_str(asaver, raw):
    stored = await store(asaver, raw, "", "value")
    assert stored["configurable"]["thread_id"] == str(raw)
    assert type(stored["configurable"]["thread_id"]) is str
    for thread_id in (raw, str(raw)):
        tup = await asaver.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.config["configurable"]["thread_id"] == str(raw)
        assert tup.checkpoint["channel_values"] == {"v": "value"}
    listed = [t async for t in asaver.alist(cfg(raw))]
    assert [t.config["configurable"]["thread_id"] for t in listed] == [str(raw)]
    await asaver.adelete_thread(raw)
    assert await asaver.aget_tuple(cfg(str(raw))) is None


@pytest.mark.parametrize(
    "thread_id", ["", "t", "a{b}c", "}{", "{", "%", "x" * 1000, "日本"]
)
async def test_all_keys_of_a_thread_share_one_cluster_slot(asaver, aclient, thread_id):
    namespaces = ["", "child:1", "{x}", "a|b:c", "日本"]
    computed = set()
    for ns in namespaces:
        computed.update(asaver.keys.for_namespace(thread_id, ns))
        await store(asaver, thread_id, ns, ns)
        # writes for a checkpoint that is not stored yet create keys too
        await asaver.aput_writes(cfg(thread_id, ns + "-early", "id-1"), [("v", 1)], "t")
        computed.update(asaver.keys.for_namespace(thread_id, ns + "-early"))
    stored = await saver_keys(aclient, asaver)
    assert stored, "the thread wrote no keys"
    assert {k.decode() for k in stored} <= computed
    slots = {key_slot(k.encode()) for k in computed} | {key_slot(k) for k in stored}
    assert len(slots) == 1, f"keys of thread {thread_id!r} span slots {slots}"


async def test_savers_with_different_prefixes_are_isolated(
    asaver, redis_url, thread_id
):
    other_prefix = "t" + uuid.uuid4().hex[:12]
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(other_prefix)
    ) as other:
        await other.asetup()
        try:
            await store(asaver, thread_id, "", "mine")
            assert await value_of(other, thread_id, "") is None
            assert [t async for t in other.alist(cfg(thread_id))] == []
            await store(other, thread_id, "", "theirs")
            assert await value_of(asaver, thread_id, "") == "mine"
            assert await value_of(other, thread_id, "") == "theirs"
            await other.adelete_thread(thread_id)
            assert await value_of(asaver, thread_id, "") == "mine"
            assert await value_of(other, thread_id, "") is None
        finally:
            await drop(other, other_prefix)


async def test_prefixes_that_extend_each_other_stay_apart(
    redis_url, prefix, has_search
):
    # One saver's prefix is the start of the other's: neither may see (in
    # its search index, its registry or its deletes) the other's keys.
    outer = AsyncShallowRedisSaver(
        redis_url,
        checkpoint_prefix=f"{prefix}:a",
        checkpoint_write_prefix=f"{prefix}:b",
    )
    inner = AsyncShallowRedisSaver(
        redis_url,
        checkpoint_prefix=f"{prefix}:a:a",
        checkpoint_write_prefix=f"{prefix}:b:b",
    )
    try:
        for saver, who in ((outer, "outer"), (inner, "inner")):
            await saver.asetup()
            await store(saver, "t", "", who)
            await store(saver, who, "", who)
        if has_search:
            for saver, who in ((outer, "outer"), (inner, "inner")):
                listed = [t async for t in saver.alist(None)]
                assert sorted(
                    t.config["configurable"]["thread_id"] for t in listed
                ) == [
                    who,
                    "t",
                ]
                assert {t.checkpoint["channel_values"]["v"] for t in listed} == {who}
                # the index itself holds this saver's entries only
                found = await saver.client.ft(saver.keys.index_name).search("*")
                assert found.total == 2
        await outer.adelete_thread("t")
        assert await value_of(outer, "t", "") is None
        assert await value_of(inner, "t", "") == "inner"
    finally:
        for saver in (outer, inner):
            await drop(saver, prefix)
            await saver.aclose()


def test_default_prefixes_do_not_collide_with_upstream_saver():
    saver = AsyncShallowRedisSaver("redis://127.0.0.1:1")  # never connects
    keys = set()
    for thread_id in ["", "t", "checkpoint", "a:b"]:
        for ns in ["", "child"]:
            keys.update(saver.keys.for_namespace(thread_id, ns))
        keys.add(saver.keys.namespace_key_prefix(thread_id))
        keys.add(saver.keys.entry_key_prefix(thread_id))
    for key in keys:
        assert not key.startswith(UPSTREAM_KEY_PREFIXES), key
    for upstream in UPSTREAM_KEY_PREFIXES:
        assert not upstream.startswith(saver.keys.checkpoint_prefix + ":")
        assert not upstream.startswith(saver.keys.entry_prefix + ":")
    index = saver.keys.index_name
    assert index not in UPSTREAM_INDEX_NAMES
    assert not index.startswith(UPSTREAM_KEY_PREFIXES)


async def test_default_prefixes_leave_upstream_keys_alone(redis_url, aclient):
    thread_id = "shared-" + uuid.uuid4().hex
    upstream = {
        f"checkpoint:{thread_id}:__empty__:1": b"cp",
        f"checkpoint_write:{thread_id}:__empty__:1:task:0": b"write",
        f"checkpoint_blob:{thread_id}:__empty__:messages:1": b"blob",
        f"checkpoint_latest:{thread_id}:__empty__": b"latest",
        f"write_keys_zset:{thread_id}:__empty__:1": b"zset",
    }
    for key, value in upstream.items():
        await aclient.set(key, value)
    saver = AsyncShallowRedisSaver(redis_url)
    try:
        await store(saver, thread_id, "", "ours")
        await store(saver, thread_id, "__empty__", "ours too")
        assert await value_of(saver, thread_id, "") == "ours"
        await saver.adelete_thread(thread_id)
        assert await value_of(saver, thread_id, "") is None
        for key, value in upstream.items():
            assert await aclient.get(key) == value, key
    finally:
        await saver.adelete_thread(thread_id)
        await aclient.delete(*upstream)
        await saver.aclose()
