"""Saver-level semantics: one checkpoint per (thread, namespace), its writes.

Where the semantics allow, every result is compared with LangGraph's
``InMemorySaver`` given the same calls (its sync API, in both variants).
"""

from __future__ import annotations

import random
from typing import Any
from uuid import uuid4

import pytest
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    writes_sort_key,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, RESUME, SCHEDULED

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import (
    SerializationError,
    StaleCheckpointError,
)
from tests._async.storage import checkpoint_fields, saver_keys, write_fields
from tests.builders import cfg, checkpoint


async def both_put(
    saver: AsyncShallowRedisSaver,
    mem: InMemorySaver,
    config: dict,
    cp: Checkpoint,
    metadata: dict,
    new_versions: dict,
) -> tuple[dict, dict]:
    ours = await saver.aput(config, cp, metadata, new_versions)
    theirs = mem.put(config, cp, metadata, new_versions)
    return ours, theirs


async def both_writes(
    saver: AsyncShallowRedisSaver,
    mem: InMemorySaver,
    config: dict,
    writes: list[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> None:
    await saver.aput_writes(config, writes, task_id, task_path)
    mem.put_writes(config, writes, task_id, task_path)


async def assert_same_as_memory(
    saver: AsyncShallowRedisSaver, mem: InMemorySaver, config: dict
) -> Any:
    ours = await saver.aget_tuple(config)
    theirs = mem.get_tuple(config)
    assert theirs is not None
    assert ours is not None
    assert ours.config == theirs.config
    assert ours.checkpoint == theirs.checkpoint
    assert ours.metadata == theirs.metadata
    assert ours.pending_writes == theirs.pending_writes
    return ours


# -- put / get_tuple ----------------------------------------------------------


async def test_put_returns_config_with_checkpoint_id(asaver, thread_id):
    mem = InMemorySaver()
    cp = checkpoint({"a": 1})
    ours, theirs = await both_put(asaver, mem, cfg(thread_id, "ns"), cp, {}, {"a": 1})
    assert ours == theirs == cfg(thread_id, "ns", cp["id"])


async def test_put_replaces_the_stored_checkpoint(
    asaver, aclient, thread_id, has_search
):
    cp1 = checkpoint({"a": 1, "old": "x"})
    c1 = await asaver.aput(cfg(thread_id), cp1, {"step": 1}, {"a": 1, "old": 1})
    cp2 = checkpoint({"a": 2, "b": 3}, versions={"a": 2, "b": 1})
    c2 = await asaver.aput(c1, cp2, {"step": 2}, {"a": 2, "b": 1})

    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None
    assert tup.config == c2
    assert tup.checkpoint["id"] == cp2["id"]
    assert tup.checkpoint["channel_values"] == {"a": 2, "b": 3}
    assert tup.metadata["step"] == 2
    with pytest.raises(StaleCheckpointError):
        await asaver.aget_tuple(cfg(thread_id, checkpoint_id=cp1["id"]))
    listed = [t async for t in asaver.alist(cfg(thread_id))]
    assert [t.checkpoint["id"] for t in listed] == [cp2["id"]]

    # Nothing of the first checkpoint is left in its hash: only the new
    # checkpoint's fields and one value field per channel version (and, with
    # Search, the run fields that delete_for_runs reads).
    hk = asaver.keys.for_namespace(thread_id, "")[0]
    fields = {f.decode() for f in await checkpoint_fields(aclient, hk)}
    run_fields = {"run", "solo"} if has_search else set()
    assert fields == {"id", "cp", "meta", "v:1:a:2", "v:1:b:1"} | run_fields


async def test_get_tuple_with_and_without_checkpoint_id(asaver, thread_id):
    assert await asaver.aget_tuple(cfg(thread_id)) is None
    cp1 = checkpoint({"a": 1})
    c1 = await asaver.aput(cfg(thread_id), cp1, {}, {"a": 1})
    cp2 = checkpoint({"a": 2}, versions={"a": 2})
    c2 = await asaver.aput(c1, cp2, {}, {"a": 2})

    latest = await asaver.aget_tuple(cfg(thread_id))
    assert latest is not None and latest.checkpoint["id"] == cp2["id"]
    by_id = await asaver.aget_tuple(c2)
    assert by_id is not None and by_id.checkpoint["id"] == cp2["id"]
    assert by_id.config == c2
    # the id the stored checkpoint superseded: refused, naming both ids
    with pytest.raises(StaleCheckpointError) as info:
        await asaver.aget_tuple(c1)
    assert info.value.stored_checkpoint_id == cp2["id"]
    assert info.value.config_checkpoint_id == cp1["id"]
    # ids never seen here: None (not time-ordered, or later than the stored)
    assert await asaver.aget_tuple(cfg(thread_id, checkpoint_id="not-an-id")) is None
    assert await asaver.aget_tuple(cfg(thread_id, checkpoint_id=str(uuid4()))) is None
    assert await asaver.aget_tuple(cfg(thread_id, checkpoint_id=str(uuid6()))) is None
    # a checkpoint id of another namespace is not found in this one
    assert await asaver.aget_tuple(cfg(thread_id, "other", cp2["id"])) is None


async def test_list_with_checkpoint_id_yields_only_the_stored_one(asaver, thread_id):
    mem = InMemorySaver()
    cp1 = checkpoint({"a": 1})
    c1, _ = await both_put(asaver, mem, cfg(thread_id), cp1, {}, {"a": 1})
    cp2 = checkpoint({"a": 2}, versions={"a": 2})
    c2, _ = await both_put(asaver, mem, c1, cp2, {}, {"a": 2})
    listed = [t.config async for t in asaver.alist(c2)]
    assert listed == [t.config for t in mem.list(c2)] == [c2]
    # the shallow saver no longer has the first checkpoint
    assert [t async for t in asaver.alist(c1)] == []


async def test_parent_config_is_none(asaver, thread_id):
    cp1 = checkpoint({"a": 1})
    c1 = await asaver.aput(cfg(thread_id), cp1, {}, {"a": 1})
    cp2 = checkpoint({"a": 2}, versions={"a": 2})
    c2 = await asaver.aput(c1, cp2, {}, {"a": 2})
    for config in (cfg(thread_id), c2):
        tup = await asaver.aget_tuple(config)
        assert tup is not None and tup.parent_config is None
    listed = [t async for t in asaver.alist(cfg(thread_id))]
    assert [t.parent_config for t in listed] == [None]


async def test_same_results_as_in_memory_saver(asaver, thread_id):
    mem = InMemorySaver()
    cp1 = checkpoint({"messages": ["hi"], "count": 1, "flag": None})
    c1, _ = await both_put(
        asaver, mem, cfg(thread_id), cp1, {"source": "input", "step": -1},
        {"messages": 1, "count": 1, "flag": 1},
    )  # fmt: skip
    await both_writes(
        asaver, mem, c1, [("messages", ["there"]), ("count", 2)], "task-a"
    )
    await assert_same_as_memory(asaver, mem, cfg(thread_id))
    await assert_same_as_memory(asaver, mem, c1)

    cp2 = checkpoint(
        {"messages": ["hi", "there"], "count": 2, "flag": None},
        versions={"messages": 2, "count": 2, "flag": 1},
    )
    c2, _ = await both_put(
        asaver, mem, c1, cp2, {"source": "loop", "step": 0}, {"messages": 2, "count": 2}
    )
    await both_writes(asaver, mem, c2, [(ERROR, "boom")], "task-b", "~path")
    await assert_same_as_memory(asaver, mem, cfg(thread_id))
    await assert_same_as_memory(asaver, mem, c2)


async def test_metadata_stored_as_in_memory_saver_stores_it(asaver, thread_id):
    mem = InMemorySaver()
    config = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "user": "alice",
            "attempt": 3,
            "ratio": 0.5,
            "enabled": True,
            "__private": "dropped",
            "obj": {"nested": "not copied"},
        },
        "metadata": {"run_name": "r1", "user": "overridden-by-configurable?"},
    }
    metadata = {
        "source": "loop",
        "step": 4,
        "parents": {"": "abc"},
        "nul": "a\x00b",
        "nested": {"list": [1, 2], "none": None},
    }
    cp = checkpoint({"a": 1})
    await both_put(asaver, mem, config, cp, metadata, {"a": 1})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.metadata["user"] == mem.get_tuple(cfg(thread_id)).metadata["user"]
    assert ours.metadata["nul"] == "ab"
    assert "__private" not in ours.metadata


# -- pending writes -------------------------------------------------------------


async def test_pending_writes_in_task_path_task_id_idx_order(asaver, thread_id):
    mem = InMemorySaver()
    cp = checkpoint({"a": 1})
    c, _ = await both_put(asaver, mem, cfg(thread_id), cp, {}, {"a": 1})
    # Written deliberately out of order.
    await both_writes(asaver, mem, c, [("a", "b/t2/0"), ("a", "b/t2/1")], "t2", "b")
    await both_writes(asaver, mem, c, [("a", "a/t9/0")], "t9", "a")
    await both_writes(
        asaver, mem, c, [("a", "a/t1/0"), ("x", "a/t1/1"), ("a", "a/t1/2")], "t1", "a"
    )
    await both_writes(asaver, mem, c, [("a", "/t5/0")], "t5", "")
    await both_writes(asaver, mem, c, [(ERROR, "a/t9/err")], "t9", "a")

    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert [v for _, _, v in ours.pending_writes] == [
        "/t5/0",
        "a/t1/0",
        "a/t1/1",
        "a/t1/2",
        "a/t9/err",  # special channels sort by their negative index
        "a/t9/0",
        "b/t2/0",
        "b/t2/1",
    ]
    assert [(t, ch) for t, ch, _ in ours.pending_writes][:2] == [
        ("t5", "a"),
        ("t1", "a"),
    ]


# (task_path, task_id, channels of the task's one put_writes call)
SHUFFLED_TASKS: list[tuple[str, str, list[str]]] = [
    # no path (graph input, update_state): sorts first, by task id
    ("", "input-z", ["a", "b"]),
    ("", "input-a", ["b", "messages"]),
    # one path, several tasks: by task id, not by the order they wrote in
    ("~__pregel_pull, a", "t-9", ["a", ERROR, "b"]),
    ("~__pregel_pull, a", "t-1", ["b", "a", INTERRUPT, "c"]),
    ("~__pregel_pull, b", "t-0", ["a", RESUME, SCHEDULED, "c"]),
    # paths compare as strings ("10" < "9"), indexes as numbers (9 < 10)
    ("~__pregel_push, 10", "p-10", ["a", "b"]),
    ("~__pregel_push, 9", "p-9", ["a"] * 12),
    ("~__pregel_push, 0, ~__pregel_pull, sub", "p-0", [INTERRUPT, "a"]),
    ("é-path", "ü-task", ["a", "日本"]),
    ("z", "a-first-by-id-last-by-path", ["a"]),
]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
async def test_pending_writes_of_shuffled_calls_in_writes_sort_key_order(
    asaver, thread_id, seed
):
    """langgraph-checkpoint 4.3: ``get_tuple`` returns pending writes in
    ``writes_sort_key`` order, ``(task_path, task_id, idx)``, whatever order
    the tasks wrote them in; exactly the list ``InMemorySaver`` returns."""
    rng = random.Random(seed)
    mem = InMemorySaver()
    cp = checkpoint({"a": 1})
    c, _ = await both_put(asaver, mem, cfg(thread_id, "ns"), cp, {}, {"a": 1})
    calls = [
        (path, task, rng.sample(chans, len(chans)))
        for path, task, chans in SHUFFLED_TASKS
    ]
    rng.shuffle(calls)
    written = []  # (task_path, task_id, idx, channel, value), in call order
    for path, task, chans in calls:
        writes = [(ch, f"{path}|{task}|{i}|{ch}") for i, ch in enumerate(chans)]
        await both_writes(asaver, mem, c, writes, task, path)
        written += [
            (path, task, WRITES_IDX_MAP.get(ch, i), ch, v)
            for i, (ch, v) in enumerate(writes)
        ]

    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id, "ns"))
    assert (await assert_same_as_memory(asaver, mem, c)).pending_writes == (
        ours.pending_writes
    )
    listed = [t.pending_writes async for t in asaver.alist(cfg(thread_id, "ns"))]
    assert listed == [t.pending_writes for t in mem.list(cfg(thread_id, "ns"))]
    # and that list is writes_sort_key's order, which the calls were not in
    expected = [
        (task, ch, v)
        for _, task, _, ch, v in sorted(written, key=lambda w: writes_sort_key(*w[:3]))
    ]
    assert ours.pending_writes == expected
    assert [(task, ch, v) for _, task, _, ch, v in written] != expected
    assert len(expected) == sum(len(chans) for _, _, chans in SHUFFLED_TASKS)


async def test_pending_writes_only_of_the_returned_checkpoint(asaver, thread_id):
    cp1 = checkpoint({"a": 1})
    c1 = await asaver.aput(cfg(thread_id), cp1, {}, {"a": 1})
    await asaver.aput_writes(c1, [("a", "for-cp1")], "t1")
    cp2 = checkpoint({"a": 2}, versions={"a": 2})
    c2 = await asaver.aput(c1, cp2, {}, {"a": 2})
    await asaver.aput_writes(c2, [("a", "for-cp2")], "t1")
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.pending_writes == [("t1", "a", "for-cp2")]
    # the parent's writes are kept in storage but never returned for cp2
    tup = await asaver.aget_tuple(c2)
    assert tup is not None and tup.pending_writes == [("t1", "a", "for-cp2")]


async def test_regular_writes_insert_if_absent(asaver, thread_id):
    mem = InMemorySaver()
    cp = checkpoint({"a": 1})
    c, _ = await both_put(asaver, mem, cfg(thread_id), cp, {}, {"a": 1})
    await both_writes(asaver, mem, c, [("a", "first"), ("b", "first-b")], "t1")
    await both_writes(asaver, mem, c, [("a", "second"), ("b", "second-b")], "t1")
    # a longer retry: idx 2 is new and is added, idx 0 and 1 are kept
    await both_writes(asaver, mem, c, [("a", "x"), ("b", "y"), ("c", "third")], "t1")
    # same idx, another task: a distinct write
    await both_writes(asaver, mem, c, [("a", "other-task")], "t2")
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.pending_writes == [
        ("t1", "a", "first"),
        ("t1", "b", "first-b"),
        ("t1", "c", "third"),
        ("t2", "a", "other-task"),
    ]


@pytest.mark.parametrize("channel", [ERROR, INTERRUPT, RESUME, SCHEDULED])
async def test_special_channel_writes_overwrite(asaver, thread_id, channel):
    assert channel in WRITES_IDX_MAP
    mem = InMemorySaver()
    cp = checkpoint({"a": 1})
    c, _ = await both_put(asaver, mem, cfg(thread_id), cp, {}, {"a": 1})
    await both_writes(asaver, mem, c, [(channel, "v1"), ("a", "regular-1")], "t1")
    await both_writes(asaver, mem, c, [(channel, "v2"), ("a", "regular-2")], "t1")
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert (("t1", channel, "v2")) in ours.pending_writes
    assert ("t1", channel, "v1") not in ours.pending_writes
    # the regular write at idx 1 kept its first value
    assert ("t1", "a", "regular-1") in ours.pending_writes
    assert ("t1", "a", "regular-2") not in ours.pending_writes
    assert len(ours.pending_writes) == 2


async def test_put_writes_before_the_put_of_its_checkpoint(asaver, thread_id):
    mem = InMemorySaver()
    cp1 = checkpoint({"a": 1})
    c1, _ = await both_put(asaver, mem, cfg(thread_id), cp1, {}, {"a": 1})
    await both_writes(asaver, mem, c1, [("a", "w1")], "t1")

    cp2 = checkpoint({"a": 2}, versions={"a": 2})
    early = cfg(thread_id, "", cp2["id"])
    await both_writes(asaver, mem, early, [("a", "early"), (INTERRUPT, "stop")], "t2")
    # until its checkpoint is stored, the early writes are not visible
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["id"] == cp1["id"]
    assert tup.pending_writes == [("t1", "a", "w1")]
    assert await asaver.aget_tuple(early) is None

    await both_put(asaver, mem, c1, cp2, {}, {"a": 2})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.pending_writes == [("t2", INTERRUPT, "stop"), ("t2", "a", "early")]


async def test_put_writes_before_the_first_put_of_a_thread(asaver, aclient, thread_id):
    cp = checkpoint({"a": 1})
    early = cfg(thread_id, "sub", cp["id"])
    await asaver.aput_writes(early, [("a", "early")], "t1")
    assert await asaver.aget_tuple(cfg(thread_id, "sub")) is None
    assert [t async for t in asaver.alist(cfg(thread_id))] == []
    await asaver.aput(cfg(thread_id, "sub"), cp, {}, {"a": 1})
    tup = await asaver.aget_tuple(cfg(thread_id, "sub"))
    assert tup is not None and tup.pending_writes == [("t1", "a", "early")]
    # and delete_thread removes what the early write created too (its
    # tombstone is all that is left)
    await asaver.adelete_thread(thread_id)
    assert await saver_keys(aclient, asaver) == [
        asaver.keys.tombstone(thread_id).encode()
    ]


async def test_put_drops_writes_of_all_but_new_and_parent(asaver, aclient, thread_id):
    hk = asaver.keys.for_namespace(thread_id, "")[0]
    config = cfg(thread_id)
    previous = None
    sizes = []
    for step in range(30):
        cp = checkpoint({"a": step}, versions={"a": step + 1})
        config = await asaver.aput(config, cp, {"step": step}, {"a": step + 1})
        # after the put: only the parent's writes are left
        assert len(await write_fields(aclient, hk)) == (3 if previous else 0)
        await asaver.aput_writes(config, [("a", step), ("b", step), ("c", step)], "t")
        # a write for a checkpoint id that never gets stored (a lost branch);
        # LangGraph's ids are time-ordered, so the next put's id is newer
        lost = str(uuid6())
        await asaver.aput_writes(cfg(thread_id, "", lost), [("a", 0)], "t")
        sizes.append(len(await write_fields(aclient, hk)))
        previous = config
    assert max(sizes) == 7  # parent (3) + new (3) + one lost write
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and [v for _, _, v in tup.pending_writes] == [29, 29, 29]


async def test_put_keeps_writes_of_other_namespaces(asaver, thread_id):
    ca = await asaver.aput(cfg(thread_id, "a"), checkpoint({"x": 1}), {}, {"x": 1})
    await asaver.aput_writes(ca, [("x", "kept")], "t")
    config = cfg(thread_id, "b")
    for step in range(3):
        config = await asaver.aput(
            config,
            checkpoint({"x": step}, versions={"x": step + 1}),
            {},
            {"x": step + 1},
        )
    tup = await asaver.aget_tuple(cfg(thread_id, "a"))
    assert tup is not None and tup.pending_writes == [("t", "x", "kept")]


async def test_put_writes_with_no_writes_is_a_no_op(asaver, aclient, thread_id):
    # on a thread that does not exist: nothing is created
    await asaver.aput_writes(cfg(thread_id, "", "some-id"), [], "t1")
    assert await saver_keys(aclient, asaver) == []
    # on an existing one: nothing changes
    c = await asaver.aput(cfg(thread_id), checkpoint({"a": 1}), {}, {"a": 1})
    await asaver.aput_writes(c, [("a", 1)], "t1")
    before = await asaver.aget_tuple(cfg(thread_id))
    await asaver.aput_writes(c, [], "t1")
    await asaver.aput_writes(c, (), "t2", "path")
    after = await asaver.aget_tuple(cfg(thread_id))
    assert after == before


# -- channel values -------------------------------------------------------------


async def test_values_sent_for_new_versions_only_but_all_come_back(
    asaver, aclient, thread_id
):
    mem = InMemorySaver()
    cp1 = checkpoint({"a": "a1", "b": "b1"})
    c1, _ = await both_put(asaver, mem, cfg(thread_id), cp1, {}, {"a": 1, "b": 1})
    # second put: only "a" changed; "b" is not sent again
    cp2 = checkpoint({"a": "a2", "b": "b1"}, versions={"a": 2, "b": 1})
    await both_put(asaver, mem, c1, cp2, {}, {"a": 2})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.checkpoint["channel_values"] == {"a": "a2", "b": "b1"}
    hk = asaver.keys.for_namespace(thread_id, "")[0]
    fields = {f.decode() for f in await aclient.hkeys(hk) if f.startswith(b"v:")}
    assert fields == {"v:1:a:2", "v:1:b:1"}

    # a third put where nothing changed at all
    cp3 = checkpoint({"a": "a2", "b": "b1"}, versions={"a": 2, "b": 1})
    await both_put(asaver, mem, cfg(thread_id, "", cp2["id"]), cp3, {}, {})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.checkpoint["channel_values"] == {"a": "a2", "b": "b1"}


async def test_value_not_sent_and_not_stored_is_sent_again(asaver, thread_id):
    # The checkpoint refers to a version of "b" this thread never stored:
    # the saver must still store the value rather than lose it.
    cp = checkpoint({"a": 1, "b": "kept"})
    await asaver.aput(cfg(thread_id), cp, {}, {"a": 1})
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 1, "b": "kept"}


async def test_channel_with_version_but_no_value_is_absent(asaver, thread_id):
    mem = InMemorySaver()
    cp = checkpoint({"a": 1}, versions={"a": 1, "empty": 1})
    await both_put(asaver, mem, cfg(thread_id), cp, {}, {"a": 1, "empty": 1})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.checkpoint["channel_values"] == {"a": 1}
    assert ours.checkpoint["channel_versions"] == {"a": 1, "empty": 1}

    # a value that becomes empty later disappears too
    cp2 = checkpoint({}, versions={"a": 2, "empty": 1})
    await both_put(asaver, mem, cfg(thread_id, "", cp["id"]), cp2, {}, {"a": 2})
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.checkpoint["channel_values"] == {}


async def test_falsy_values_are_not_empty(asaver, thread_id):
    mem = InMemorySaver()
    values = {"zero": 0, "none": None, "blank": "", "no": False, "list": [], "dict": {}}
    cp = checkpoint(values)
    await both_put(asaver, mem, cfg(thread_id), cp, {}, dict.fromkeys(values, 1))
    ours = await assert_same_as_memory(asaver, mem, cfg(thread_id))
    assert ours.checkpoint["channel_values"] == values


async def test_put_keeps_writes_of_newer_checkpoints(asaver, aclient, thread_id):
    # With "async" durability the writes of checkpoint N+1 may reach Redis
    # before the put of checkpoint N: that put must not drop them.
    hk = asaver.keys.for_namespace(thread_id, "")[0]
    cps = [checkpoint({"a": i}, versions={"a": i + 1}) for i in range(3)]
    assert cps[0]["id"] < cps[1]["id"] < cps[2]["id"]
    c0 = await asaver.aput(cfg(thread_id), cps[0], {}, {"a": 1})
    await asaver.aput_writes(
        cfg(thread_id, "", cps[2]["id"]), [(INTERRUPT, "ask")], "t"
    )
    await asaver.aput_writes(cfg(thread_id, "", "0-older"), [("a", 9)], "t")
    c1 = await asaver.aput(c0, cps[1], {}, {"a": 2})
    # the older, never-stored checkpoint's write is gone; the newer one's stays
    assert len(await write_fields(aclient, hk)) == 1
    await asaver.aput(c1, cps[2], {}, {"a": 3})
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["id"] == cps[2]["id"]
    assert tup.pending_writes == [("t", INTERRUPT, "ask")]


@pytest.mark.parametrize("size", [100, 100_000], ids=["small", "large"])
async def test_a_put_refused_then_failing_leaves_the_stored_checkpoint_whole(
    asaver, thread_id, size
):
    # Writer B's put relies on a value the thread does not hold, so the
    # script refuses it; its resend then fails (a value the serde cannot
    # handle). Both writers use version 5 of "m": nothing of B's may reach
    # the stored checkpoint, A's, which must read back exactly as written.
    values_a = {"m": "a" * size, "x": "a"}
    cp_a = checkpoint(values_a, versions={"m": 5, "x": 1})
    await asaver.aput(cfg(thread_id), cp_a, {"who": "a"}, cp_a["channel_versions"])
    cp_b = checkpoint(
        {"m": "b" * size, "x": "b", "y": lambda: None},
        versions={"m": 5, "x": 2, "y": 1},
    )
    with pytest.raises(SerializationError):
        await asaver.aput(cfg(thread_id), cp_b, {"who": "b"}, {"m": 5, "x": 2})
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["id"] == cp_a["id"]
    assert tup.checkpoint["channel_values"] == values_a
    assert tup.metadata["who"] == "a"
