"""Every public operation on the session's server: it works, or it raises the
documented error.

On a server with the Search module every operation works. On one without it
(``--redis-kind`` plain, redis7, redis6, valkey) exactly the operations that
need the search index (listing across threads, with or without a metadata
filter, and ``delete_for_runs``) raise ``SearchUnavailableError``, and every
other operation works. Each outcome is recorded in ``tests.support_record``
for the matrix report (``tools/matrix_report.py``): the README's server
table says what works on each server because this test found it so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    SearchUnavailableError,
)
from tests._async.conftest import drop
from tests._async.storage import is_data_key
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint_at, saver_prefixes
from tests.support_record import record

NEEDS_SEARCH = {
    "list(None)",
    "list(None, filter=...)",
    "delete_for_runs",
}
"""The operations documented to raise ``SearchUnavailableError`` without the
Search module (docs/semantics.md)."""


@pytest.fixture
async def ttl_saver(
    redis_url: str, prefix: str
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver with a TTL (refreshed on read) and prefixes of its own."""
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url,
        ttl={"default_ttl": 5, "refresh_on_read": True},
        **saver_prefixes(prefix),
    ) as saver:
        yield saver
        await drop(saver, prefix)


async def test_every_public_operation(
    ttl_saver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    has_search: bool,
) -> None:
    saver = ttl_saver
    outcome: dict[str, str] = {}

    async def attempt(name: str, action: Any) -> None:
        try:
            await action()
        except SearchUnavailableError as exc:
            assert "Search module" in str(exc), exc
            outcome[name] = "SearchUnavailableError"
        else:
            outcome[name] = "works"

    other = thread_id + "-other"
    copy = thread_id + "-copy"
    run_id = "run-" + thread_id

    async def setup() -> None:
        await saver.asetup()
        await saver.asetup()  # idempotent

    async def put() -> None:
        await saver.aput(
            cfg(thread_id), checkpoint_at(1), {"step": 1, "run_id": run_id}, {"a": 1}
        )
        await saver.aput(cfg(thread_id, "sub"), checkpoint_at(7), {"step": 7}, {"a": 7})
        await saver.aput(cfg(other), checkpoint_at(2), {"step": 2}, {"a": 2})

    async def put_writes() -> None:
        stored = await saver.aget_tuple(cfg(thread_id))
        assert stored is not None
        await saver.aput_writes(stored.config, [("a", 2), ("b", 3)], "task")

    async def get_tuple() -> None:
        tup = await saver.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"] == {"a": 1}
        assert tup.metadata["step"] == 1
        assert tup.pending_writes == [("task", "a", 2), ("task", "b", 3)]
        assert await saver.aget_tuple(tup.config) is not None

    async def ttl() -> None:
        keys = [
            k async for k in aclient.scan_iter(match=prefix + ":*") if is_data_key(k)
        ]
        assert keys
        pttls = [await aclient.pttl(k) for k in keys]
        assert all(0 < p <= 5 * 60_000 for p in pttls), pttls

    async def list_thread() -> None:
        listed = [
            t async for t in saver.alist({"configurable": {"thread_id": thread_id}})
        ]
        assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == [
            "",
            "sub",
        ]

    async def list_thread_filter() -> None:
        listed = [
            t
            async for t in saver.alist(
                {"configurable": {"thread_id": thread_id}}, filter={"step": 7}
            )
        ]
        assert [t.metadata["step"] for t in listed] == [7]

    async def list_all() -> None:
        listed = [t async for t in saver.alist(None)]
        assert {t.config["configurable"]["thread_id"] for t in listed} == {
            thread_id,
            other,
        }

    async def list_all_filter() -> None:
        listed = [t async for t in saver.alist(None, filter={"step": 2})]
        assert [t.config["configurable"]["thread_id"] for t in listed] == [other]

    async def copy_thread() -> None:
        await saver.acopy_thread(thread_id, copy)
        tup = await saver.aget_tuple(cfg(copy, "sub"))
        assert tup is not None and tup.metadata["step"] == 7

    async def prune_keep_latest() -> None:
        await saver.aprune([thread_id], strategy="keep_latest")
        assert await saver.aget_tuple(cfg(thread_id)) is not None

    async def delete_for_runs() -> None:
        await saver.adelete_for_runs([run_id])
        assert await saver.aget_tuple(cfg(thread_id)) is None
        assert await saver.aget_tuple(cfg(thread_id, "sub")) is not None

    async def prune_delete() -> None:
        await saver.aprune([copy], strategy="delete")
        assert await saver.aget_tuple(cfg(copy, "sub")) is None

    async def delete_thread() -> None:
        await saver.adelete_thread(other)
        await saver.adelete_thread(thread_id)
        assert await saver.aget_tuple(cfg(other)) is None
        assert await saver.aget_tuple(cfg(thread_id, "sub")) is None

    await attempt("setup", setup)
    await attempt("put", put)
    await attempt("put_writes", put_writes)
    await attempt("get_tuple", get_tuple)
    await attempt("TTL on every key", ttl)
    await attempt("list(thread)", list_thread)
    await attempt("list(thread, filter=...)", list_thread_filter)
    await attempt("list(None)", list_all)
    await attempt("list(None, filter=...)", list_all_filter)
    await attempt("copy_thread", copy_thread)
    await attempt("prune(keep_latest)", prune_keep_latest)
    await attempt("delete_for_runs", delete_for_runs)
    await attempt("prune(delete)", prune_delete)
    await attempt("delete_thread", delete_thread)

    for name, found in outcome.items():
        record(name, found)
    unavailable = {name for name, found in outcome.items() if found != "works"}
    assert unavailable == (set() if has_search else NEEDS_SEARCH)
    # nothing but the tombstones of the threads deleted
    assert sorted(
        [k async for k in aclient.scan_iter(match=prefix + ":cp*") if is_data_key(k)]
    ) == sorted(saver.keys.tombstone(t).encode() for t in (copy, other, thread_id))
