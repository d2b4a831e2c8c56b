"""``dump_thread`` / ``restore_thread``: a thread as stored, and back (the
backups of the command line's ``export`` / ``import``)."""

from __future__ import annotations

import pytest

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.layout import StoredNamespace
from tests._io_async import RoundTrips
from tests.builders import cfg, checkpoint


async def _thread(saver: AsyncShallowRedisSaver, thread_id: str) -> None:
    for ns in ("", "child:1"):
        cp = checkpoint({"messages": ["hi", ns], "n": 1})
        stored = await saver.aput(
            cfg(thread_id, ns),
            cp,
            {"run_id": "r1", "step": 1},
            {"messages": 1, "n": 1},
        )
        await saver.aput_writes(stored, [("messages", "w"), ("n", 2)], "task")


async def _everything(saver: AsyncShallowRedisSaver, thread_id: str) -> list:
    return [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]


async def test_dump_delete_restore_gives_the_same_thread(
    counted: tuple[AsyncShallowRedisSaver, RoundTrips], thread_id: str
):
    saver, trips = counted
    await _thread(saver, thread_id)
    before = await _everything(saver, thread_id)
    trips.reset()
    dumped = await saver.adump_thread(thread_id)
    assert trips.count == 1
    assert [s.checkpoint_ns for s in dumped] == ["", "child:1"]  # sorted
    assert all(isinstance(s, StoredNamespace) and s.fields for s in dumped)
    await saver.adelete_thread(thread_id)
    assert await saver.adump_thread(thread_id) == []
    trips.reset()
    await saver.arestore_thread(thread_id, dumped)
    assert trips.count == 1
    assert await _everything(saver, thread_id) == before
    assert await saver.adump_thread(thread_id) == dumped
    await saver.adelete_thread(thread_id)
    assert await _everything(saver, thread_id) == []


async def test_restore_replaces_the_thread_and_builds_missing_entries(
    asaver: AsyncShallowRedisSaver, thread_id: str, has_search: bool
):
    await _thread(asaver, thread_id)
    dumped = await asaver.adump_thread(thread_id)
    root = next(s for s in dumped if s.checkpoint_ns == "")
    # as dumped where there was no Search: no entry, no rollback base
    bare = [StoredNamespace(root.checkpoint_ns, root.fields, {}, {})]
    await asaver.arestore_thread(thread_id, bare)
    after = await asaver.adump_thread(thread_id)
    assert [s.checkpoint_ns for s in after] == [""]  # the child is gone
    assert after[0].fields == root.fields
    if has_search:  # the hash keeps its run and solo: the same entry
        assert after[0].entry == root.entry
        found = [t async for t in asaver.alist(None, filter={"run_id": "r1"})]
        assert [t.config["configurable"]["thread_id"] for t in found] == [thread_id]
    else:
        assert after[0].entry == {}
    await asaver.arestore_thread(thread_id, [])
    assert await asaver.adump_thread(thread_id) == []


async def test_rollback_base_survives_dump_and_restore(
    asaver: AsyncShallowRedisSaver, thread_id: str, has_search: bool
):
    """A run's rollback (delete_for_runs) works on a restored thread as on
    the original: the base a run started from is dumped and restored."""
    if not has_search:
        pytest.skip("rollback bases and delete_for_runs exist only with Search")
    config = cfg(thread_id)
    cp1 = checkpoint({"n": 1})
    stored = await asaver.aput(config, cp1, {"run_id": "run-1"}, {"n": 1})
    cp2 = checkpoint({"n": 2}, 2)
    await asaver.aput(stored, cp2, {"run_id": "run-2"}, {"n": 2})
    dumped = await asaver.adump_thread(thread_id)
    assert dumped[0].base  # run-2 started over run-1's checkpoint
    await asaver.adelete_thread(thread_id)
    await asaver.arestore_thread(thread_id, dumped)
    await asaver.adelete_for_runs(["run-2"])
    back = await asaver.aget_tuple(config)
    assert back is not None and back.checkpoint["id"] == cp1["id"]
    assert back.checkpoint["channel_values"] == {"n": 1}
