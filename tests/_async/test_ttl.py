"""TTL: every key of a thread expires; reads refresh it only when asked to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from tests._async.conftest import drop
from tests._async.storage import is_data_key, namespace_keys
from tests._io_async import AsyncRedis, sleep
from tests.builders import cfg, checkpoint_at, saver_prefixes


@pytest.fixture
async def make_saver(redis_url: str, prefix: str) -> AsyncIterator:
    """Build set-up savers with a given ttl on the test's prefixes."""
    made: list[AsyncShallowRedisSaver] = []

    async def build(ttl: dict) -> AsyncShallowRedisSaver:
        saver = AsyncShallowRedisSaver(redis_url, ttl=ttl, **saver_prefixes(prefix))
        await saver.asetup()
        made.append(saver)
        return saver

    yield build
    if made:
        await drop(made[0], prefix)
    for saver in made:
        await saver.aclose()


async def pttls(aclient: AsyncRedis, prefix: str) -> dict[bytes, int]:
    """PTTL of every key under the test's prefix."""
    keys = [k async for k in aclient.scan_iter(match=prefix + ":*") if is_data_key(k)]
    return {k: await aclient.pttl(k) for k in keys}


async def key_pttl(aclient: AsyncRedis, key: str) -> int:
    return int(await aclient.pttl(key))


async def test_every_key_gets_the_ttl_on_put_and_put_writes(
    make_saver, aclient, prefix, thread_id, has_search
):
    saver = await make_saver({"default_ttl": 5})
    limit = 5 * 60_000
    # a put on a fresh thread: namespace hash, registry (and search entry)
    await saver.aput(cfg(thread_id, "first"), checkpoint_at(1), {}, {"a": 1})
    found = await pttls(aclient, prefix)
    assert len(found) == (3 if has_search else 2)
    assert all(0 < ttl <= limit for ttl in found.values()), found
    await saver.adelete_thread(thread_id)
    # what is left, the tombstone, never outlives the saver's ttl
    found = await pttls(aclient, prefix)
    assert list(found) == [saver.keys.tombstone(thread_id).encode()]
    assert all(0 < ttl <= limit for ttl in found.values()), found
    await aclient.delete(*found)  # the rest is about a thread never deleted

    # put_writes first (before any put), in a sub-namespace
    await saver.aput_writes(cfg(thread_id, "sub", "early-id"), [("a", 1)], "t")
    found = await pttls(aclient, prefix)
    assert len(found) == 2  # namespace hash and registry
    assert all(0 < ttl <= limit for ttl in found.values()), found

    for ns in ("", "sub"):
        stored = await saver.aput(cfg(thread_id, ns), checkpoint_at(1), {}, {"a": 1})
        found = await pttls(aclient, prefix)
        assert all(0 < ttl <= limit for ttl in found.values()), found
        await saver.aput_writes(stored, [("a", 2), ("b", 3)], "t")
        found = await pttls(aclient, prefix)
        assert all(0 < ttl <= limit for ttl in found.values()), found

    for ns in ("", "sub"):
        for key in namespace_keys(saver, thread_id, ns, has_search):
            assert 0 < await key_pttl(aclient, key) <= limit, key
    # the hashes (and search entries) of both namespaces, and the registry
    assert len(await pttls(aclient, prefix)) == (5 if has_search else 3)


async def test_writes_push_back_the_expiry_of_the_whole_thread(
    make_saver, aclient, thread_id, has_search
):
    saver = await make_saver({"default_ttl": 0.05})  # 3 s
    stored = await saver.aput(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    await saver.aput_writes(stored, [("a", 2)], "t1")
    keys = namespace_keys(saver, thread_id, "", has_search)
    await sleep(0.3)
    before = {k: await key_pttl(aclient, k) for k in keys}
    await saver.aput_writes(stored, [("a", 3)], "t2")
    after = {k: await key_pttl(aclient, k) for k in keys}
    for key in keys:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])
    await sleep(0.3)
    before = {k: await key_pttl(aclient, k) for k in keys}
    await saver.aput(stored, checkpoint_at(2), {}, {"a": 2})
    after = {k: await key_pttl(aclient, k) for k in keys}
    for key in keys:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])


async def test_without_ttl_keys_do_not_expire(
    make_saver, aclient, prefix, thread_id, has_search
):
    saver = await make_saver(None)
    stored = await saver.aput(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    await saver.aput_writes(stored, [("a", 2)], "t")
    found = await pttls(aclient, prefix)
    assert len(found) == (3 if has_search else 2)
    assert set(found.values()) == {-1}


async def age_and_read(
    saver, aclient, thread_id: str, read, search: bool
) -> tuple[dict, dict]:
    """PTTLs of the thread's keys just before and just after ``read``."""
    stored = await saver.aput(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    await saver.aput_writes(stored, [("a", 2)], "t")
    await sleep(0.3)
    keys = namespace_keys(saver, thread_id, "", search)
    before = {k: await key_pttl(aclient, k) for k in keys}
    await read(saver, thread_id)
    after = {k: await key_pttl(aclient, k) for k in keys}
    return before, after


async def read_tuple(saver, thread_id):
    assert await saver.aget_tuple(cfg(thread_id)) is not None


async def read_by_id(saver, thread_id):
    tup = await saver.aget_tuple(cfg(thread_id))
    assert await saver.aget_tuple(tup.config) is not None


async def read_list(saver, thread_id):
    assert (
        len([t async for t in saver.alist({"configurable": {"thread_id": thread_id}})])
        == 1
    )


async def read_list_namespace(saver, thread_id):
    assert len([t async for t in saver.alist(cfg(thread_id))]) == 1


READS = [
    pytest.param(read_tuple, id="get_tuple"),
    pytest.param(read_by_id, id="get_tuple-by-id"),
    pytest.param(read_list, id="list"),
    pytest.param(read_list_namespace, id="list-namespace"),
]


@pytest.mark.parametrize("read", READS)
async def test_refresh_on_read_refreshes_checkpoint_and_writes(
    make_saver, aclient, thread_id, read, has_search
):
    saver = await make_saver({"default_ttl": 0.05, "refresh_on_read": True})  # 3 s
    before, after = await age_and_read(saver, aclient, thread_id, read, has_search)
    for key in before:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])


@pytest.mark.parametrize("read", READS)
async def test_reads_do_not_refresh_without_refresh_on_read(
    make_saver, aclient, thread_id, read, has_search
):
    saver = await make_saver({"default_ttl": 0.05})
    before, after = await age_and_read(saver, aclient, thread_id, read, has_search)
    for key in before:
        assert 0 < after[key] <= before[key] < 3000, (key, before[key], after[key])


async def test_read_of_another_checkpoint_id_refreshes_the_thread_whole(
    make_saver, aclient, thread_id, has_search
):
    # A read of the thread is activity, whichever checkpoint id it asked for:
    # namespace hash, search entry and registry are refreshed together.
    saver = await make_saver({"default_ttl": 0.05, "refresh_on_read": True})

    async def read_missing(saver, thread_id):
        assert await saver.aget_tuple(cfg(thread_id, "", "not-the-stored-id")) is None

    before, after = await age_and_read(
        saver, aclient, thread_id, read_missing, has_search
    )
    assert before.keys() == after.keys() and len(after) == (3 if has_search else 2)
    for key in before:
        assert after[key] > before[key], key


async def test_expired_thread_disappears_whole(
    make_saver, aclient, prefix, thread_id, has_search
):
    saver = await make_saver({"default_ttl": 0.01})  # 600 ms
    for ns in ("", "sub"):
        stored = await saver.aput(cfg(thread_id, ns), checkpoint_at(1), {}, {"a": 1})
        await saver.aput_writes(stored, [("a", 2)], "t")
    assert len(await pttls(aclient, prefix)) == (5 if has_search else 3)
    await sleep(1.0)
    for ns in ("", "sub"):
        assert await saver.aget_tuple(cfg(thread_id, ns)) is None
        for key in saver.keys.for_namespace(thread_id, ns):
            assert await aclient.exists(key) == 0, key
    assert [
        t async for t in saver.alist({"configurable": {"thread_id": thread_id}})
    ] == []
    assert await pttls(aclient, prefix) == {}
    # the thread can be written again from scratch
    await saver.aput(cfg(thread_id), checkpoint_at(5), {}, {"a": 5})
    tup = await saver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 5}
