# This file is generated from tests/_async/test_window_ops.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The history window (``keep_last`` above 1) through every operation that
moves whole threads: ``copy_thread``, ``dump_thread`` / ``restore_thread``,
TTL, the rollback of ``delete_for_runs``, savers with different windows on
the same keys, and how the window stores values (each once)."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from langgraph.checkpoint.redis_shallow.keys import HISTORY_SUFFIX
from langgraph.checkpoint.redis_shallow.layout import history_ids
from tests._io_sync import Redis
from tests._sync.conftest import drop
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


def run_steps(
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
        config = saver.put(parent, cp, meta, changed)
        saver.put_writes(config, [("a", f"w{step}")], f"task-{step}")
        configs.append(config)
    return configs


def listed(saver: Any, thread_id: str) -> list[Any]:
    return [t for t in saver.list({"configurable": {"thread_id": thread_id}})]


@pytest.fixture
def saver3(redis_url: str, prefix: str) -> Any:
    with ShallowRedisSaver.from_conn_string(
        redis_url, keep_last=3, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        yield saver
        drop(saver, prefix)


def test_the_window_matches_the_reference_and_stores_each_value_once(
    saver3: ShallowRedisSaver, client: Redis, thread_id: str
) -> None:
    ref = WindowReference(3)
    checkpoints = [step_checkpoint(step) for step in range(STEPS)]
    run_steps(saver3, thread_id, checkpoints=checkpoints)
    run_steps(ref, thread_id, checkpoints=checkpoints)
    ours = listed(saver3, thread_id)
    assert ours == ref.list(cfg(thread_id))
    hk = saver3.keys.for_namespace(thread_id, "")[0]
    top = client.hgetall(hk)
    history = client.hgetall(hk + HISTORY_SUFFIX)
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


def test_copy_dump_and_restore_keep_the_window(
    saver3: ShallowRedisSaver, thread_id: str
) -> None:
    run_steps(saver3, thread_id)
    run_steps(saver3, thread_id, "child:1")
    before = listed(saver3, thread_id)
    assert len(before) == 6
    saver3.copy_thread(thread_id, thread_id + "-copy")
    copied = listed(saver3, thread_id + "-copy")
    assert [t.checkpoint for t in copied] == [t.checkpoint for t in before]
    assert [t.pending_writes for t in copied] == [t.pending_writes for t in before]
    assert [t.metadata["step"] for t in copied] == [t.metadata["step"] for t in before]
    dumped = saver3.dump_thread(thread_id)
    assert all(s.history for s in dumped)
    saver3.delete_thread(thread_id)
    assert listed(saver3, thread_id) == []
    saver3.restore_thread(thread_id, dumped)
    assert listed(saver3, thread_id) == before
    saver3.delete_thread(thread_id + "-copy")


def test_the_window_expires_whole(
    redis_url: str, prefix: str, client: Redis, thread_id: str
) -> None:
    with ShallowRedisSaver.from_conn_string(
        redis_url, keep_last=3, ttl={"default_ttl": 1}, **saver_prefixes(prefix)
    ) as saver:
        run_steps(saver, thread_id)
        hk = saver.keys.for_namespace(thread_id, "")[0]
        for key in (hk, hk + HISTORY_SUFFIX):
            assert 0 < client.pttl(key) <= 60_000
        drop(saver, prefix)


def test_smaller_and_larger_windows_on_the_same_keys(
    redis_url: str, prefix: str, thread_id: str
) -> None:
    """A saver with a smaller window reads the newest checkpoints it would
    keep, and its next put trims the thread to its own window; a larger
    window reads what is there and grows from it."""
    prefixes = saver_prefixes(prefix)
    with (
        ShallowRedisSaver.from_conn_string(redis_url, keep_last=4, **prefixes) as big,
        ShallowRedisSaver.from_conn_string(redis_url, keep_last=1, **prefixes) as one,
    ):
        configs = run_steps(big, thread_id)
        assert len(listed(big, thread_id)) == 4
        only = listed(one, thread_id)
        assert [t.config for t in only] == [configs[-1]]
        cp = step_checkpoint(STEPS)
        newest = one.put(configs[-1], cp, {"step": STEPS}, {"a": STEPS + 1})
        assert [t.config for t in listed(big, thread_id)] == [newest]
        big.put(newest, step_checkpoint(STEPS + 1), {}, {"a": STEPS + 2})
        assert len(listed(big, thread_id)) == 2
        drop(big, prefix)


@pytest.mark.parametrize("keep_last", [3, 10])
def test_rollback_restores_the_window_before_the_run(
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
    with ShallowRedisSaver.from_conn_string(
        redis_url, keep_last=keep_last, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        first = run_steps(saver, thread_id, run_id="run-1")
        before = listed(saver, thread_id)
        meta = {"step": STEPS, "run_id": "run-2"}
        cp = step_checkpoint(STEPS)
        second = saver.put(first[-1], cp, meta, {"a": STEPS + 1})
        cp = step_checkpoint(STEPS + 1)
        saver.put(second, cp, {**meta, "step": STEPS + 1}, {"a": STEPS + 2})
        saver.delete_for_runs(["run-2"])
        after = listed(saver, thread_id)
        assert [t._replace(parent_config=None) for t in after] == [
            t._replace(parent_config=None) for t in before[: keep_last - 2]
        ]
        # a parent is named while it is in the window
        parents = [t.parent_config for t in before[: keep_last - 2]]
        oldest_parent = parents[-1] if keep_last > STEPS else None
        assert [t.parent_config for t in after] == [*parents[:-1], oldest_parent]
        drop(saver, prefix)


def test_copy_from_brings_the_window(saver3: ShallowRedisSaver, thread_id: str) -> None:
    """``copy_from`` with a window brings the 3 newest checkpoints of each
    namespace, oldest first, with their writes, each naming its parent
    while the parent came along: the window ``InMemorySaver`` pruned to 3
    holds, as this saver lists it."""
    source, reference = InMemorySaver(), WindowReference(3)
    for ns in ("", "child:1"):
        checkpoints = [step_checkpoint(step) for step in range(STEPS)]
        for target in (source, reference):
            run_steps(target, thread_id, ns, checkpoints=checkpoints)
    summary = saver3.copy_from(source, thread_ids=[thread_id])
    assert (summary.threads, summary.namespaces, summary.checkpoints) == (1, 2, 6)
    assert summary.writes == 6 and summary.skipped_newer == 0
    whole = {"configurable": {"thread_id": thread_id}}
    assert listed(saver3, thread_id) == reference.list(whole)
    again = saver3.copy_from(source, thread_ids=[thread_id])
    assert again.skipped_newer == 4  # all but each namespace's newest
    assert listed(saver3, thread_id) == reference.list(whole)
