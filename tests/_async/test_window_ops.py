"""The history window (``keep_last`` above 1) through every operation that
moves whole threads: ``copy_thread``, ``dump_thread`` / ``restore_thread``,
TTL, the rollback of ``delete_for_runs``, savers with different windows on
the same keys, and how the window stores values (each once)."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.keys import HISTORY_SUFFIX
from langgraph.checkpoint.redis_shallow.layout import history_ids
from tests._async.conftest import drop
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint, saver_prefixes
from tests.window_reference import WindowReference

STEPS = 6


def step_checkpoint(step: int) -> Any:
    """Step ``step`` of a thread: ``a`` changes every step, ``b`` every
    third, ``c`` never (it keeps version 1)."""
    return checkpoint(
        {"a": f"a{step}", "b": f"b{step // 3}", "c": "same"},
        versions={"a": step + 1, "b": step // 3 + 1, "c": 1},
    )


async def run_steps(
    saver: Any,
    thread_id: str,
    ns: str = "",
    run_id: str = "run-1",
    checkpoints: list[Any] | None = None,
) -> list[Any]:
    """``STEPS`` puts (of ``checkpoints``, else new ones), each the child of
    the last, with a write each."""
    if checkpoints is None:
        checkpoints = [step_checkpoint(step) for step in range(STEPS)]
    configs: list[Any] = []
    for step, cp in enumerate(checkpoints):
        parent = configs[-1] if configs else cfg(thread_id, ns)
        changed = {
            k: v
            for k, v in cp["channel_versions"].items()
            if step == 0 or (k == "a") or (k == "b" and step % 3 == 0)
        }
        meta = {"step": step, "run_id": run_id, "source": "loop"}
        config = await saver.aput(parent, cp, meta, changed)
        await saver.aput_writes(config, [("a", f"w{step}")], f"task-{step}")
        configs.append(config)
    return configs


async def listed(saver: Any, thread_id: str) -> list[Any]:
    return [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]


@pytest.fixture
async def saver3(redis_url: str, prefix: str) -> Any:
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, keep_last=3, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        yield saver
        await drop(saver, prefix)


async def test_the_window_matches_the_reference_and_stores_each_value_once(
    saver3: AsyncShallowRedisSaver, aclient: AsyncRedis, thread_id: str
) -> None:
    ref = WindowReference(3)
    checkpoints = [step_checkpoint(step) for step in range(STEPS)]
    await run_steps(saver3, thread_id, checkpoints=checkpoints)
    await run_steps(ref, thread_id, checkpoints=checkpoints)
    ours = await listed(saver3, thread_id)
    assert ours == ref.list(cfg(thread_id))
    hk = saver3.keys.for_namespace(thread_id, "")[0]
    top = await aclient.hgetall(hk)
    history = await aclient.hgetall(hk + HISTORY_SUFFIX)
    assert history_ids(history) == [t.checkpoint["id"] for t in ours[1:]]
    # every value the window refers to is stored once, in one of the hashes
    referenced = {
        f"v:1:{ch}:{v}".encode()
        for t in ours
        for ch, v in t.checkpoint["channel_versions"].items()
    }
    stored = [f for f in (*top, *history) if f.startswith(b"v:")]
    assert sorted(stored) == sorted(referenced)
    assert len(referenced) == 3 + 1 + 1  # a: 3 versions, b: 1 (steps 3-5), c: 1


async def test_copy_dump_and_restore_keep_the_window(
    saver3: AsyncShallowRedisSaver, thread_id: str
) -> None:
    await run_steps(saver3, thread_id)
    await run_steps(saver3, thread_id, "child:1")
    before = await listed(saver3, thread_id)
    assert len(before) == 6
    await saver3.acopy_thread(thread_id, thread_id + "-copy")
    copied = await listed(saver3, thread_id + "-copy")
    assert [t.checkpoint for t in copied] == [t.checkpoint for t in before]
    assert [t.pending_writes for t in copied] == [t.pending_writes for t in before]
    assert [t.metadata["step"] for t in copied] == [t.metadata["step"] for t in before]
    dumped = await saver3.adump_thread(thread_id)
    assert all(s.history for s in dumped)
    await saver3.adelete_thread(thread_id)
    assert await listed(saver3, thread_id) == []
    await saver3.arestore_thread(thread_id, dumped)
    assert await listed(saver3, thread_id) == before
    await saver3.adelete_thread(thread_id + "-copy")


async def test_the_window_expires_whole(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
) -> None:
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, keep_last=3, ttl={"default_ttl": 1}, **saver_prefixes(prefix)
    ) as saver:
        await run_steps(saver, thread_id)
        hk = saver.keys.for_namespace(thread_id, "")[0]
        for key in (hk, hk + HISTORY_SUFFIX):
            assert 0 < await aclient.pttl(key) <= 60_000
        await drop(saver, prefix)


async def test_smaller_and_larger_windows_on_the_same_keys(
    redis_url: str, prefix: str, thread_id: str
) -> None:
    """A saver with a smaller window reads the newest checkpoints it would
    keep, and its next put trims the thread to its own window; a larger
    window reads what is there and grows from it."""
    prefixes = saver_prefixes(prefix)
    async with (
        AsyncShallowRedisSaver.from_conn_string(
            redis_url, keep_last=4, **prefixes
        ) as big,
        AsyncShallowRedisSaver.from_conn_string(
            redis_url, keep_last=1, **prefixes
        ) as one,
    ):
        configs = await run_steps(big, thread_id)
        assert len(await listed(big, thread_id)) == 4
        only = await listed(one, thread_id)
        assert [t.config for t in only] == [configs[-1]]
        cp = step_checkpoint(STEPS)
        newest = await one.aput(configs[-1], cp, {"step": STEPS}, {"a": STEPS + 1})
        assert [t.config for t in await listed(big, thread_id)] == [newest]
        await big.aput(newest, step_checkpoint(STEPS + 1), {}, {"a": STEPS + 2})
        assert len(await listed(big, thread_id)) == 2
        await drop(big, prefix)


@pytest.mark.parametrize("keep_last", [3, 10])
async def test_rollback_restores_the_window_before_the_run(
    redis_url: str, prefix: str, thread_id: str, has_search: bool, keep_last: int
) -> None:
    """``delete_for_runs`` of the running run (the LangGraph server's
    rollback) brings back the thread as the run found it: its newest
    checkpoint, and the older ones still in the window. With 10, all of
    them; with 3, the run's two puts had already pushed two out of the
    window, so only the newest comes back (as on ``InMemorySaver`` pruned
    to 3, where they are gone too)."""
    if not has_search:
        pytest.skip("delete_for_runs needs the Search module (tested elsewhere)")
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, keep_last=keep_last, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        first = await run_steps(saver, thread_id, run_id="run-1")
        before = await listed(saver, thread_id)
        meta = {"step": STEPS, "run_id": "run-2"}
        cp = step_checkpoint(STEPS)
        second = await saver.aput(first[-1], cp, meta, {"a": STEPS + 1})
        cp = step_checkpoint(STEPS + 1)
        await saver.aput(second, cp, {**meta, "step": STEPS + 1}, {"a": STEPS + 2})
        await saver.adelete_for_runs(["run-2"])
        after = await listed(saver, thread_id)
        assert [t._replace(parent_config=None) for t in after] == [
            t._replace(parent_config=None) for t in before[: keep_last - 2]
        ]
        # a parent is named while it is in the window
        parents = [t.parent_config for t in before[: keep_last - 2]]
        oldest_parent = parents[-1] if keep_last > STEPS else None
        assert [t.parent_config for t in after] == [*parents[:-1], oldest_parent]
        await drop(saver, prefix)


async def test_copy_from_brings_the_window(
    saver3: AsyncShallowRedisSaver, thread_id: str
) -> None:
    """``copy_from`` with a window brings the 3 newest checkpoints of each
    namespace, oldest first, with their writes, each naming its parent
    while the parent came along: the window ``InMemorySaver`` pruned to 3
    holds, as this saver lists it."""
    source, reference = InMemorySaver(), WindowReference(3)
    for ns in ("", "child:1"):
        checkpoints = [step_checkpoint(step) for step in range(STEPS)]
        for target in (source, reference):
            await run_steps(target, thread_id, ns, checkpoints=checkpoints)
    summary = await saver3.acopy_from(source, thread_ids=[thread_id])
    assert (summary.threads, summary.namespaces, summary.checkpoints) == (1, 2, 6)
    assert summary.writes == 6 and summary.skipped_newer == 0
    whole = {"configurable": {"thread_id": thread_id}}
    assert await listed(saver3, thread_id) == reference.list(whole)
    again = await saver3.acopy_from(source, thread_ids=[thread_id])
    assert again.skipped_newer == 4  # all but each namespace's newest
    assert await listed(saver3, thread_id) == reference.list(whole)
