"""Late writes: a deleted thread stays deleted, a cancelled run cannot
overwrite a newer checkpoint.

A run cancelled (or whose thread is deleted) while it writes finishes its
step: its last ``put`` and ``put_writes`` reach the saver after the
deletion or after another run moved the thread on (LangGraph issues 7206
and 8810). ``InMemorySaver`` stores such a write again; these savers refuse
it with nothing stored, while a new run on the same thread id works at
once. The reference is ``InMemorySaver`` with the late write left out.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from redis.crc import key_slot
from typing_extensions import TypedDict

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    StaleCheckpointError,
    ThreadDeletedError,
)
from langgraph.checkpoint.redis_shallow.layout import TOMBSTONE_TTL_MS
from tests._io_async import AsyncRedis
from tests.builders import cfg, chain_graph, checkpoint, layout_key


async def put(saver: Any, config: Any, values: dict[str, Any] | None = None) -> Any:
    """Put a new checkpoint holding ``values`` under ``config``; its config."""
    cp = checkpoint(values)
    return await saver.aput(config, cp, {"source": "loop"}, cp["channel_versions"])


async def stored_keys(aclient: AsyncRedis, prefix: str) -> set[bytes]:
    """Every key of a test's saver but its layout record."""
    keys = {k async for k in aclient.scan_iter(match=prefix + ":*")}
    return keys - {layout_key(prefix)}


async def assert_deleted(
    saver: Any, aclient: AsyncRedis, prefix: str, thread_id: str
) -> None:
    """The thread reads as deleted and Redis holds its tombstone, and at most
    early writes of a refused run's checkpoints, out of the registry and
    expiring with the tombstone."""
    tombstone = saver.keys.tombstone(thread_id).encode()
    left = await stored_keys(aclient, prefix)
    assert tombstone in left
    for key in left - {tombstone}:
        assert await aclient.type(key) == b"hash", key
        assert not await aclient.hexists(key, "id"), key
        # set to what the tombstone had left: both go at the same instant
        # (read the tombstone first; a millisecond of rounding either way)
        expires = await aclient.pttl(tombstone)
        assert 0 < await aclient.pttl(key) <= expires + 1, key
    assert await saver.aget_tuple(cfg(thread_id)) is None
    assert [t async for t in saver.alist(cfg(thread_id))] == []


async def two_turns(saver: Any, thread_id: str) -> tuple[Any, Any]:
    """A thread with a checkpoint, its child, and a write of each namespace:
    the configs of the child in the root namespace and in ``"sub"``."""
    first = await put(saver, cfg(thread_id), {"a": 1})
    second = await put(saver, first, {"a": 2})
    await saver.aput_writes(second, [("a", 3)], "task-1")
    sub = await put(saver, cfg(thread_id, "sub"), {"b": 1})
    await saver.aput_writes(sub, [("b", 2)], "task-2")
    return second, sub


# -- a deleted thread stays deleted (LangGraph issue 7206) ----------------------


async def test_late_put_and_put_writes_of_a_deleted_thread_are_refused(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    second, sub = await two_turns(asaver, thread_id)
    await asaver.adelete_thread(thread_id)
    tombstone = asaver.keys.tombstone(thread_id).encode()
    assert await stored_keys(aclient, prefix) == {tombstone}

    with pytest.raises(ThreadDeletedError) as info:
        await put(asaver, second, {"a": 4})  # the cancelled run's next step
    assert isinstance(info.value, StaleCheckpointError)
    assert info.value.thread_id == thread_id
    assert info.value.config_checkpoint_id == second["configurable"]["checkpoint_id"]
    assert "was deleted" in str(info.value) and "nothing was written" in str(info.value)
    with pytest.raises(ThreadDeletedError):
        await put(asaver, sub, {"b": 3})
    with pytest.raises(ThreadDeletedError):
        await asaver.aput_writes(second, [("a", 5)], "task-late")
    with pytest.raises(ThreadDeletedError):
        await asaver.aput_writes(sub, [("b", 5)], "task-late")

    assert await stored_keys(aclient, prefix) == {tombstone}
    assert await asaver.aget_tuple(cfg(thread_id)) is None
    assert await asaver.aget_tuple(cfg(thread_id, "sub")) is None
    assert [t async for t in asaver.alist(cfg(thread_id))] == []


async def test_the_descendants_of_a_refused_put_are_refused_and_early_writes_go(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    """With ``durability="async"`` a step's writes can reach the saver before
    its ``put``: writes for a checkpoint newer than the deletion are taken,
    then dropped with the ``put`` that is refused; that checkpoint's own
    child is refused too."""
    second, _ = await two_turns(asaver, thread_id)
    await asaver.adelete_thread(thread_id)
    late = checkpoint({"a": 4})
    late_config = cfg(thread_id, "", late["id"])
    await asaver.aput_writes(late_config, [("a", 5)], "task-early")
    with pytest.raises(ThreadDeletedError):
        await asaver.aput(second, late, {}, late["channel_versions"])
    tombstone = asaver.keys.tombstone(thread_id)
    assert await stored_keys(aclient, prefix) == {tombstone.encode()}
    assert await aclient.get(tombstone) == late["id"].encode()
    with pytest.raises(ThreadDeletedError):
        await put(asaver, late_config, {"a": 6})
    with pytest.raises(ThreadDeletedError):
        await asaver.aput_writes(late_config, [("a", 7)], "task-late")
    assert await stored_keys(aclient, prefix) == {tombstone.encode()}


async def test_a_new_run_works_at_once_as_on_a_new_thread(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, thread_id: str
):
    """A config without ``checkpoint_id`` (a new run) is not a late write:
    the thread starts afresh right after its deletion, as on InMemorySaver."""
    second, _ = await two_turns(asaver, thread_id)
    await asaver.adelete_thread(thread_id)
    memory = InMemorySaver()
    cp = checkpoint({"a": 10})
    # with durability="async" a write may come ahead of its checkpoint's put
    ahead = cfg(thread_id, "", cp["id"])
    for each in (asaver, memory):
        await each.aput_writes(ahead, [("a", 12)], "task-ahead")
    got = await asaver.aput(cfg(thread_id), cp, {"step": 0}, cp["channel_versions"])
    want = await memory.aput(cfg(thread_id), cp, {"step": 0}, cp["channel_versions"])
    assert got == want
    for each in (asaver, memory):
        await each.aput_writes(want, [("a", 11)], "task-new")
    # the thread is the new run's: nothing of it expires with the tombstone
    hash_key, _, registry = asaver.keys.for_namespace(thread_id, "")
    assert await aclient.pttl(hash_key) == -1
    assert await aclient.pttl(registry) == -1
    mine, theirs = (
        await asaver.aget_tuple(cfg(thread_id)),
        await memory.aget_tuple(cfg(thread_id)),
    )
    assert mine is not None and theirs is not None
    assert mine.checkpoint == theirs.checkpoint
    assert mine.metadata == theirs.metadata
    assert mine.pending_writes == theirs.pending_writes
    # the old run's late write still cannot touch the new thread
    with pytest.raises(StaleCheckpointError):
        await put(asaver, second, {"a": 99})
    with pytest.raises(ThreadDeletedError):
        await asaver.aput_writes(second, [("a", 99)], "task-late")
    again = await asaver.aget_tuple(cfg(thread_id))
    assert again is not None and again.pending_writes == theirs.pending_writes


async def test_the_tombstone_is_small_expires_and_lives_in_the_threads_slot(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    second, sub = await two_turns(asaver, thread_id)
    await asaver.adelete_thread("never-stored-" + thread_id)
    assert await stored_keys(aclient, prefix) != set()
    assert asaver.keys.tombstone("never-stored-" + thread_id).encode() not in (
        await stored_keys(aclient, prefix)
    )  # deleting nothing leaves nothing
    await asaver.adelete_thread(thread_id)
    tombstone = asaver.keys.tombstone(thread_id)
    # the newest checkpoint id the deletion removed (of every namespace),
    # expiring within the hour
    newest = max(c["configurable"]["checkpoint_id"] for c in (second, sub))
    assert newest == sub["configurable"]["checkpoint_id"]
    assert await aclient.get(tombstone) == newest.encode()
    assert 0 < await aclient.pttl(tombstone) <= TOMBSTONE_TTL_MS
    assert key_slot(tombstone.encode()) == key_slot(
        asaver.keys.registry(thread_id).encode()
    )
    assert await aclient.memory_usage(tombstone) < 200


async def test_prune_delete_leaves_a_tombstone_and_restore_lifts_it(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    """A thread written anew on purpose (restore, copy onto it) takes writes
    for its checkpoints again, whatever their ids."""
    second, _ = await two_turns(asaver, thread_id)
    dump = await asaver.adump_thread(thread_id)
    await asaver.aprune([thread_id], strategy="delete_all")
    with pytest.raises(ThreadDeletedError):
        await asaver.aput_writes(second, [("a", 5)], "task-late")
    await asaver.arestore_thread(thread_id, dump)
    assert asaver.keys.tombstone(thread_id).encode() not in await stored_keys(
        aclient, prefix
    )
    await asaver.aput_writes(second, [("a", 5)], "task-after-restore")
    restored = await asaver.aget_tuple(cfg(thread_id))
    assert restored is not None
    assert ("task-after-restore", "a", 5) in restored.pending_writes


async def test_late_writes_cost_no_extra_round_trip(counted, thread_id):
    """The tombstone is read inside the write scripts: ``put`` and
    ``put_writes`` stay one round trip each, refused or not."""
    saver, trips = counted
    second, _ = await two_turns(saver, thread_id)
    trips.reset()
    await put(saver, second, {"a": 4})
    await saver.aput_writes(second, [("a", 5)], "t")
    assert trips.count == 2
    await saver.adelete_thread(thread_id)
    trips.reset()
    with pytest.raises(ThreadDeletedError):
        await put(saver, second, {"a": 4})
    with pytest.raises(ThreadDeletedError):
        await saver.aput_writes(second, [("a", 5)], "t")
    assert trips.count == 2


# -- a cancelled run cannot overwrite a newer checkpoint (LangGraph issue 8810) --


async def test_a_late_put_of_a_cancelled_run_never_overwrites_a_newer_checkpoint(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """Run A is cancelled while it writes; run B (``multitask_strategy=
    "interrupt"``) moves the thread on; A's late put, whose parent is the
    checkpoint B started from, is refused and B's checkpoint stays."""
    start = await put(asaver, cfg(thread_id), {"a": 1})
    b = await put(asaver, start, {"a": "run B"})
    await asaver.aput_writes(b, [("a", "B's write")], "task-b")
    before = await asaver.aget_tuple(cfg(thread_id))
    with pytest.raises(StaleCheckpointError) as info:
        await put(asaver, start, {"a": "run A, late"})
    assert not isinstance(info.value, ThreadDeletedError)
    assert info.value.stored_checkpoint_id == b["configurable"]["checkpoint_id"]
    assert await asaver.aget_tuple(cfg(thread_id)) == before


async def test_the_late_first_checkpoint_of_a_run_never_overwrites_a_newer_one(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """Runs A and B start on an empty thread; B writes first, then A's first
    checkpoint (no parent, made before B's) arrives: refused, B's stays. A
    checkpoint without parent that is newer than the stored one is taken,
    as InMemorySaver takes it."""
    a_first = checkpoint({"a": "run A"})  # made first: the older id
    b = await put(asaver, cfg(thread_id), {"a": "run B"})
    with pytest.raises(StaleCheckpointError) as info:
        await asaver.aput(cfg(thread_id), a_first, {}, a_first["channel_versions"])
    assert info.value.stored_checkpoint_id == b["configurable"]["checkpoint_id"]
    assert "has no parent" in str(info.value) and "nothing was written" in str(
        info.value
    )
    assert (await asaver.aget_tuple(cfg(thread_id))).config == b
    memory = InMemorySaver()
    cp = checkpoint({"a": "run C"})
    for each in (asaver, memory):
        await each.aput(cfg(thread_id), cp, {}, cp["channel_versions"])
    mine, theirs = (
        await asaver.aget_tuple(cfg(thread_id)),
        await memory.aget_tuple(cfg(thread_id)),
    )
    assert mine.checkpoint == theirs.checkpoint and mine.config == theirs.config


# -- through a graph, in every durability mode ----------------------------------


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def deleting_graph(saver: Any, thread_id: str) -> Any:
    """``first`` -> ``second`` -> ``third``; ``second`` deletes the thread
    while the run goes on (an operator, or the server deleting the thread of
    a run it is cancelling)."""

    async def first(state: State) -> dict[str, Any]:
        return {"log": ["first"]}

    async def second(state: State) -> dict[str, Any]:
        await saver.adelete_thread(thread_id)
        return {"log": ["second"]}

    async def third(state: State) -> dict[str, Any]:
        return {"log": ["third"]}

    return chain_graph(State, first, second, third).compile(checkpointer=saver)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_run_whose_thread_is_deleted_cannot_bring_it_back(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    durability: Any,
):
    """The thread had a turn; during the next one it is deleted. The run
    fails with ThreadDeletedError and leaves only the tombstone; a new run
    on the same thread id then gives what it gives on a new InMemorySaver
    thread."""
    config = cfg(thread_id)
    plain = chain_graph(State, ("turn", lambda state: {"log": ["turn"]}))
    await plain.compile(checkpointer=asaver).ainvoke({"log": ["hi"]}, config)
    with pytest.raises(ThreadDeletedError):
        await deleting_graph(asaver, thread_id).ainvoke(
            {"log": ["again"]}, config, durability=durability
        )
    await assert_deleted(asaver, aclient, prefix, thread_id)

    fresh = await plain.compile(checkpointer=asaver).ainvoke({"log": ["new"]}, config)
    memory = InMemorySaver()
    want = await plain.compile(checkpointer=memory).ainvoke({"log": ["new"]}, config)
    assert fresh == want == {"log": ["new", "turn"]}
    mine = [t.checkpoint["channel_values"] async for t in asaver.alist(config)]
    assert mine == [(await memory.aget_tuple(config)).checkpoint["channel_values"]]
