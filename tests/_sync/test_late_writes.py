# This file is generated from tests/_async/test_late_writes.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
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
    ShallowRedisSaver,
    StaleCheckpointError,
    ThreadDeletedError,
)
from langgraph.checkpoint.redis_shallow.layout import TOMBSTONE_TTL_MS
from tests._io_sync import Redis
from tests.builders import cfg, chain_graph, checkpoint, layout_key


def put(saver: Any, config: Any, values: dict[str, Any] | None = None) -> Any:
    """Put a new checkpoint holding ``values`` under ``config``; its config."""
    cp = checkpoint(values)
    return saver.put(config, cp, {"source": "loop"}, cp["channel_versions"])


def stored_keys(client: Redis, prefix: str) -> set[bytes]:
    """Every key of a test's saver but its layout record."""
    keys = {k for k in client.scan_iter(match=prefix + ":*")}
    return keys - {layout_key(prefix)}


def assert_deleted(saver: Any, client: Redis, prefix: str, thread_id: str) -> None:
    """The thread reads as deleted and Redis holds its tombstone, and at most
    early writes of a refused run's checkpoints, out of the registry and
    expiring with the tombstone."""
    tombstone = saver.keys.tombstone(thread_id).encode()
    left = stored_keys(client, prefix)
    assert tombstone in left
    for key in left - {tombstone}:
        assert client.type(key) == b"hash", key
        assert not client.hexists(key, "id"), key
        # set to what the tombstone had left: both go at the same instant
        # (read the tombstone first; a millisecond of rounding either way)
        expires = client.pttl(tombstone)
        assert 0 < client.pttl(key) <= expires + 1, key
    assert saver.get_tuple(cfg(thread_id)) is None
    assert [t for t in saver.list(cfg(thread_id))] == []


def two_turns(saver: Any, thread_id: str) -> tuple[Any, Any]:
    """A thread with a checkpoint, its child, and a write of each namespace:
    the configs of the child in the root namespace and in ``"sub"``."""
    first = put(saver, cfg(thread_id), {"a": 1})
    second = put(saver, first, {"a": 2})
    saver.put_writes(second, [("a", 3)], "task-1")
    sub = put(saver, cfg(thread_id, "sub"), {"b": 1})
    saver.put_writes(sub, [("b", 2)], "task-2")
    return second, sub


# -- a deleted thread stays deleted (LangGraph issue 7206) ----------------------


def test_late_put_and_put_writes_of_a_deleted_thread_are_refused(
    saver: ShallowRedisSaver, client: Redis, prefix: str, thread_id: str
):
    second, sub = two_turns(saver, thread_id)
    saver.delete_thread(thread_id)
    tombstone = saver.keys.tombstone(thread_id).encode()
    assert stored_keys(client, prefix) == {tombstone}

    with pytest.raises(ThreadDeletedError) as info:
        put(saver, second, {"a": 4})  # the cancelled run's next step
    assert isinstance(info.value, StaleCheckpointError)
    assert info.value.thread_id == thread_id
    assert info.value.config_checkpoint_id == second["configurable"]["checkpoint_id"]
    assert "was deleted" in str(info.value) and "nothing was written" in str(info.value)
    with pytest.raises(ThreadDeletedError):
        put(saver, sub, {"b": 3})
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(second, [("a", 5)], "task-late")
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(sub, [("b", 5)], "task-late")

    assert stored_keys(client, prefix) == {tombstone}
    assert saver.get_tuple(cfg(thread_id)) is None
    assert saver.get_tuple(cfg(thread_id, "sub")) is None
    assert [t for t in saver.list(cfg(thread_id))] == []


def test_the_descendants_of_a_refused_put_are_refused_and_early_writes_go(
    saver: ShallowRedisSaver, client: Redis, prefix: str, thread_id: str
):
    """With ``durability="async"`` a step's writes can reach the saver before
    its ``put``: writes for a checkpoint newer than the deletion are taken,
    then dropped with the ``put`` that is refused; that checkpoint's own
    child is refused too."""
    second, _ = two_turns(saver, thread_id)
    saver.delete_thread(thread_id)
    late = checkpoint({"a": 4})
    late_config = cfg(thread_id, "", late["id"])
    saver.put_writes(late_config, [("a", 5)], "task-early")
    with pytest.raises(ThreadDeletedError):
        saver.put(second, late, {}, late["channel_versions"])
    tombstone = saver.keys.tombstone(thread_id)
    assert stored_keys(client, prefix) == {tombstone.encode()}
    assert client.get(tombstone) == late["id"].encode()
    with pytest.raises(ThreadDeletedError):
        put(saver, late_config, {"a": 6})
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(late_config, [("a", 7)], "task-late")
    assert stored_keys(client, prefix) == {tombstone.encode()}


def test_a_new_run_works_at_once_as_on_a_new_thread(
    saver: ShallowRedisSaver, client: Redis, thread_id: str
):
    """A config without ``checkpoint_id`` (a new run) is not a late write:
    the thread starts afresh right after its deletion, as on InMemorySaver."""
    second, _ = two_turns(saver, thread_id)
    saver.delete_thread(thread_id)
    memory = InMemorySaver()
    cp = checkpoint({"a": 10})
    # with durability="async" a write may come ahead of its checkpoint's put
    ahead = cfg(thread_id, "", cp["id"])
    for each in (saver, memory):
        each.put_writes(ahead, [("a", 12)], "task-ahead")
    got = saver.put(cfg(thread_id), cp, {"step": 0}, cp["channel_versions"])
    want = memory.put(cfg(thread_id), cp, {"step": 0}, cp["channel_versions"])
    assert got == want
    for each in (saver, memory):
        each.put_writes(want, [("a", 11)], "task-new")
    # the thread is the new run's: nothing of it expires with the tombstone
    hash_key, _, registry = saver.keys.for_namespace(thread_id, "")
    assert client.pttl(hash_key) == -1
    assert client.pttl(registry) == -1
    mine, theirs = (
        saver.get_tuple(cfg(thread_id)),
        memory.get_tuple(cfg(thread_id)),
    )
    assert mine is not None and theirs is not None
    assert mine.checkpoint == theirs.checkpoint
    assert mine.metadata == theirs.metadata
    assert mine.pending_writes == theirs.pending_writes
    # the old run's late write still cannot touch the new thread
    with pytest.raises(StaleCheckpointError):
        put(saver, second, {"a": 99})
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(second, [("a", 99)], "task-late")
    again = saver.get_tuple(cfg(thread_id))
    assert again is not None and again.pending_writes == theirs.pending_writes


def test_the_tombstone_is_small_expires_and_lives_in_the_threads_slot(
    saver: ShallowRedisSaver, client: Redis, prefix: str, thread_id: str
):
    second, sub = two_turns(saver, thread_id)
    saver.delete_thread("never-stored-" + thread_id)
    assert stored_keys(client, prefix) != set()
    assert saver.keys.tombstone("never-stored-" + thread_id).encode() not in (
        stored_keys(client, prefix)
    )  # deleting nothing leaves nothing
    saver.delete_thread(thread_id)
    tombstone = saver.keys.tombstone(thread_id)
    # the newest checkpoint id the deletion removed (of every namespace),
    # expiring within the hour
    newest = max(c["configurable"]["checkpoint_id"] for c in (second, sub))
    assert newest == sub["configurable"]["checkpoint_id"]
    assert client.get(tombstone) == newest.encode()
    assert 0 < client.pttl(tombstone) <= TOMBSTONE_TTL_MS
    assert key_slot(tombstone.encode()) == key_slot(
        saver.keys.registry(thread_id).encode()
    )
    assert client.memory_usage(tombstone) < 200


def test_prune_delete_leaves_a_tombstone_and_restore_lifts_it(
    saver: ShallowRedisSaver, client: Redis, prefix: str, thread_id: str
):
    """A thread written anew on purpose (restore, copy onto it) takes writes
    for its checkpoints again, whatever their ids."""
    second, _ = two_turns(saver, thread_id)
    dump = saver.dump_thread(thread_id)
    saver.prune([thread_id], strategy="delete_all")
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(second, [("a", 5)], "task-late")
    saver.restore_thread(thread_id, dump)
    assert saver.keys.tombstone(thread_id).encode() not in stored_keys(client, prefix)
    saver.put_writes(second, [("a", 5)], "task-after-restore")
    restored = saver.get_tuple(cfg(thread_id))
    assert restored is not None
    assert ("task-after-restore", "a", 5) in restored.pending_writes


def test_late_writes_cost_no_extra_round_trip(counted, thread_id):
    """The tombstone is read inside the write scripts: ``put`` and
    ``put_writes`` stay one round trip each, refused or not."""
    saver, trips = counted
    second, _ = two_turns(saver, thread_id)
    trips.reset()
    put(saver, second, {"a": 4})
    saver.put_writes(second, [("a", 5)], "t")
    assert trips.count == 2
    saver.delete_thread(thread_id)
    trips.reset()
    with pytest.raises(ThreadDeletedError):
        put(saver, second, {"a": 4})
    with pytest.raises(ThreadDeletedError):
        saver.put_writes(second, [("a", 5)], "t")
    assert trips.count == 2


# -- a cancelled run cannot overwrite a newer checkpoint (LangGraph issue 8810) --


def test_a_late_put_of_a_cancelled_run_never_overwrites_a_newer_checkpoint(
    saver: ShallowRedisSaver, thread_id: str
):
    """Run A is cancelled while it writes; run B (``multitask_strategy=
    "interrupt"``) moves the thread on; A's late put, whose parent is the
    checkpoint B started from, is refused and B's checkpoint stays."""
    start = put(saver, cfg(thread_id), {"a": 1})
    b = put(saver, start, {"a": "run B"})
    saver.put_writes(b, [("a", "B's write")], "task-b")
    before = saver.get_tuple(cfg(thread_id))
    with pytest.raises(StaleCheckpointError) as info:
        put(saver, start, {"a": "run A, late"})
    assert not isinstance(info.value, ThreadDeletedError)
    assert info.value.stored_checkpoint_id == b["configurable"]["checkpoint_id"]
    assert saver.get_tuple(cfg(thread_id)) == before


def test_the_late_first_checkpoint_of_a_run_never_overwrites_a_newer_one(
    saver: ShallowRedisSaver, thread_id: str
):
    """Runs A and B start on an empty thread; B writes first, then A's first
    checkpoint (no parent, made before B's) arrives: refused, B's stays. A
    checkpoint without parent that is newer than the stored one is taken,
    as InMemorySaver takes it."""
    a_first = checkpoint({"a": "run A"})  # made first: the older id
    b = put(saver, cfg(thread_id), {"a": "run B"})
    with pytest.raises(StaleCheckpointError) as info:
        saver.put(cfg(thread_id), a_first, {}, a_first["channel_versions"])
    assert info.value.stored_checkpoint_id == b["configurable"]["checkpoint_id"]
    assert "has no parent" in str(info.value) and "nothing was written" in str(
        info.value
    )
    assert (saver.get_tuple(cfg(thread_id))).config == b
    memory = InMemorySaver()
    cp = checkpoint({"a": "run C"})
    for each in (saver, memory):
        each.put(cfg(thread_id), cp, {}, cp["channel_versions"])
    mine, theirs = (
        saver.get_tuple(cfg(thread_id)),
        memory.get_tuple(cfg(thread_id)),
    )
    assert mine.checkpoint == theirs.checkpoint and mine.config == theirs.config


# -- through a graph, in every durability mode ----------------------------------


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def deleting_graph(saver: Any, thread_id: str) -> Any:
    """``first`` -> ``second`` -> ``third``; ``second`` deletes the thread
    while the run goes on (an operator, or the server deleting the thread of
    a run it is cancelling)."""

    def first(state: State) -> dict[str, Any]:
        return {"log": ["first"]}

    def second(state: State) -> dict[str, Any]:
        saver.delete_thread(thread_id)
        return {"log": ["second"]}

    def third(state: State) -> dict[str, Any]:
        return {"log": ["third"]}

    return chain_graph(State, first, second, third).compile(checkpointer=saver)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_a_run_whose_thread_is_deleted_cannot_bring_it_back(
    saver: ShallowRedisSaver,
    client: Redis,
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
    plain.compile(checkpointer=saver).invoke({"log": ["hi"]}, config)
    with pytest.raises(ThreadDeletedError):
        deleting_graph(saver, thread_id).invoke(
            {"log": ["again"]}, config, durability=durability
        )
    assert_deleted(saver, client, prefix, thread_id)

    fresh = plain.compile(checkpointer=saver).invoke({"log": ["new"]}, config)
    memory = InMemorySaver()
    want = plain.compile(checkpointer=memory).invoke({"log": ["new"]}, config)
    assert fresh == want == {"log": ["new", "turn"]}
    mine = [t.checkpoint["channel_values"] for t in saver.list(config)]
    assert mine == [(memory.get_tuple(config)).checkpoint["channel_values"]]
