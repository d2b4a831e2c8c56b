# This file is generated from tests/_async/test_ids.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Thread ids, namespaces and prefixes: any string works, nothing crosses over."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests._sync.conftest import drop
from tests._sync.storage import saver_keys
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


def store(saver: ShallowRedisSaver, thread_id: Any, ns: str, value: Any) -> dict:
    """Put a checkpoint holding ``value`` and one write carrying it too."""
    stored = saver.put(
        cfg(thread_id, ns), checkpoint({"v": value}), {"tag": value}, {"v": 1}
    )
    saver.put_writes(stored, [("v", value)], "task")
    return stored


def value_of(saver: ShallowRedisSaver, thread_id: Any, ns: str) -> Any:
    """The value a thread/namespace holds (checked consistent), or None."""
    tup = saver.get_tuple(cfg(thread_id, ns))
    if tup is None:
        return None
    value = tup.checkpoint["channel_values"]["v"]
    assert tup.metadata["tag"] == value
    assert tup.pending_writes == [("task", "v", value)]
    return value


@pytest.mark.parametrize("odd", ODD_IDS, ids=lambda s: repr(s)[:20])
def test_any_string_is_a_thread_id_and_a_namespace(saver, client, odd):
    deleted = set()
    for thread_id, ns in ((odd, ""), ("plain", odd), (odd, odd)):
        stored = store(saver, thread_id, ns, "value")
        assert stored["configurable"]["thread_id"] == thread_id
        assert stored["configurable"]["checkpoint_ns"] == ns
        tup = saver.get_tuple(cfg(thread_id, ns))
        assert tup is not None
        assert tup.config == stored
        assert value_of(saver, thread_id, ns) == "value"
        assert saver.get_tuple(stored) is not None
        listed = [t for t in saver.list(whole(thread_id))]
        assert [t.config for t in listed] == [stored]
        listed = [t for t in saver.list(cfg(thread_id, ns))]
        assert [t.config for t in listed] == [stored]
        saver.delete_thread(thread_id)
        deleted.add(thread_id)
        assert saver.get_tuple(cfg(thread_id, ns)) is None
        # nothing but the tombstones of the threads deleted (Keys.tombstone)
        assert sorted(saver_keys(client, saver)) == sorted(
            saver.keys.tombstone(t).encode() for t in deleted
        )


def test_odd_ids_never_see_each_other(saver):
    for i, thread_id in enumerate(ODD_IDS):
        store(saver, thread_id, "", f"thread-{i}")
        store(saver, "shared", thread_id, f"ns-{i}")
    for i, thread_id in enumerate(ODD_IDS):
        assert value_of(saver, thread_id, "") == f"thread-{i}"
        assert value_of(saver, "shared", thread_id) == f"ns-{i}"
    listed = [t for t in saver.list(whole("shared"))]
    assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == sorted(
        ODD_IDS
    )
    # deleting one thread leaves every other alone
    saver.delete_thread("")
    assert value_of(saver, "", "") is None
    for i, thread_id in enumerate(ODD_IDS[1:], start=1):
        assert value_of(saver, thread_id, "") == f"thread-{i}"
    assert value_of(saver, "shared", "") == "ns-0"


def test_ids_differing_only_in_case_are_distinct(saver):
    variants = ["thread", "Thread", "THREAD", "tHREAD"]
    for i, name in enumerate(variants):
        store(saver, name, "", i)
        store(saver, "t", name, i * 10)
    for i, name in enumerate(variants):
        assert value_of(saver, name, "") == i
        assert value_of(saver, "t", name) == i * 10
    saver.delete_thread("Thread")
    assert value_of(saver, "Thread", "") is None
    assert value_of(saver, "thread", "") == 0
    assert value_of(saver, "THREAD", "") == 2


def test_separator_in_thread_and_namespace_do_not_collide(saver):
    store(saver, "k", "child:1", "first")
    store(saver, "k:child", "1", "second")
    store(saver, "k:child:1", "", "third")
    assert value_of(saver, "k", "child:1") == "first"
    assert value_of(saver, "k:child", "1") == "second"
    assert value_of(saver, "k:child:1", "") == "third"
    assert value_of(saver, "k", "") is None
    assert value_of(saver, "k:child", "") is None
    saver.delete_thread("k")
    assert value_of(saver, "k", "child:1") is None
    assert value_of(saver, "k:child", "1") == "second"
    assert value_of(saver, "k:child:1", "") == "third"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ids=st.lists(st.text(), min_size=2, max_size=2, unique=True),
    ns=st.text(max_size=20) | st.just(""),
)
def test_distinct_thread_ids_never_cross(saver, ids, ns):
    first, second = ids
    try:
        store(saver, first, ns, "first")
        assert value_of(saver, second, ns) is None
        store(saver, second, ns, "second")
        assert value_of(saver, first, ns) == "first"
        assert value_of(saver, second, ns) == "second"
        saver.delete_thread(first)
        assert value_of(saver, first, ns) is None
        assert value_of(saver, second, ns) == "second"
    finally:
        saver.delete_thread(first)
        saver.delete_thread(second)


@pytest.mark.parametrize(
    "raw", [42, 0, uuid.UUID("12345678-1234-5678-1234-567812345678")]
)
def test_int_and_uuid_thread_ids_are_stored_as_str(saver, raw):
    stored = store(saver, raw, "", "value")
    assert stored["configurable"]["thread_id"] == str(raw)
    assert type(stored["configurable"]["thread_id"]) is str
    for thread_id in (raw, str(raw)):
        tup = saver.get_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.config["configurable"]["thread_id"] == str(raw)
        assert tup.checkpoint["channel_values"] == {"v": "value"}
    listed = [t for t in saver.list(cfg(raw))]
    assert [t.config["configurable"]["thread_id"] for t in listed] == [str(raw)]
    saver.delete_thread(raw)
    assert saver.get_tuple(cfg(str(raw))) is None


@pytest.mark.parametrize(
    "thread_id", ["", "t", "a{b}c", "}{", "{", "%", "x" * 1000, "日本"]
)
def test_all_keys_of_a_thread_share_one_cluster_slot(saver, client, thread_id):
    namespaces = ["", "child:1", "{x}", "a|b:c", "日本"]
    computed = set()
    for ns in namespaces:
        computed.update(saver.keys.for_namespace(thread_id, ns))
        store(saver, thread_id, ns, ns)
        # writes for a checkpoint that is not stored yet create keys too
        saver.put_writes(cfg(thread_id, ns + "-early", "id-1"), [("v", 1)], "t")
        computed.update(saver.keys.for_namespace(thread_id, ns + "-early"))
    stored = saver_keys(client, saver)
    assert stored, "the thread wrote no keys"
    assert {k.decode() for k in stored} <= computed
    slots = {key_slot(k.encode()) for k in computed} | {key_slot(k) for k in stored}
    assert len(slots) == 1, f"keys of thread {thread_id!r} span slots {slots}"


def test_savers_with_different_prefixes_are_isolated(saver, redis_url, thread_id):
    other_prefix = "t" + uuid.uuid4().hex[:12]
    with ShallowRedisSaver.from_conn_string(
        redis_url, **saver_prefixes(other_prefix)
    ) as other:
        other.setup()
        try:
            store(saver, thread_id, "", "mine")
            assert value_of(other, thread_id, "") is None
            assert [t for t in other.list(cfg(thread_id))] == []
            store(other, thread_id, "", "theirs")
            assert value_of(saver, thread_id, "") == "mine"
            assert value_of(other, thread_id, "") == "theirs"
            other.delete_thread(thread_id)
            assert value_of(saver, thread_id, "") == "mine"
            assert value_of(other, thread_id, "") is None
        finally:
            drop(other, other_prefix)


def test_prefixes_that_extend_each_other_stay_apart(redis_url, prefix, has_search):
    # One saver's prefix is the start of the other's: neither may see (in
    # its search index, its registry or its deletes) the other's keys.
    outer = ShallowRedisSaver(
        redis_url,
        checkpoint_prefix=f"{prefix}:a",
        checkpoint_write_prefix=f"{prefix}:b",
    )
    inner = ShallowRedisSaver(
        redis_url,
        checkpoint_prefix=f"{prefix}:a:a",
        checkpoint_write_prefix=f"{prefix}:b:b",
    )
    try:
        for saver, who in ((outer, "outer"), (inner, "inner")):
            saver.setup()
            store(saver, "t", "", who)
            store(saver, who, "", who)
        if has_search:
            for saver, who in ((outer, "outer"), (inner, "inner")):
                listed = [t for t in saver.list(None)]
                assert sorted(
                    t.config["configurable"]["thread_id"] for t in listed
                ) == [
                    who,
                    "t",
                ]
                assert {t.checkpoint["channel_values"]["v"] for t in listed} == {who}
                # the index itself holds this saver's entries only
                found = saver.client.ft(saver.keys.index_name).search("*")
                assert found.total == 2
        outer.delete_thread("t")
        assert value_of(outer, "t", "") is None
        assert value_of(inner, "t", "") == "inner"
    finally:
        for saver in (outer, inner):
            drop(saver, prefix)
            saver.close()


def test_default_prefixes_do_not_collide_with_upstream_saver():
    saver = ShallowRedisSaver("redis://127.0.0.1:1")  # never connects
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


def test_default_prefixes_leave_upstream_keys_alone(redis_url, client):
    thread_id = "shared-" + uuid.uuid4().hex
    upstream = {
        f"checkpoint:{thread_id}:__empty__:1": b"cp",
        f"checkpoint_write:{thread_id}:__empty__:1:task:0": b"write",
        f"checkpoint_blob:{thread_id}:__empty__:messages:1": b"blob",
        f"checkpoint_latest:{thread_id}:__empty__": b"latest",
        f"write_keys_zset:{thread_id}:__empty__:1": b"zset",
    }
    for key, value in upstream.items():
        client.set(key, value)
    saver = ShallowRedisSaver(redis_url)
    try:
        store(saver, thread_id, "", "ours")
        store(saver, thread_id, "__empty__", "ours too")
        assert value_of(saver, thread_id, "") == "ours"
        saver.delete_thread(thread_id)
        assert value_of(saver, thread_id, "") is None
        for key, value in upstream.items():
            assert client.get(key) == value, key
    finally:
        saver.delete_thread(thread_id)
        client.delete(*upstream)
        saver.close()
