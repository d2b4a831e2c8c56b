# This file is generated from tests/_async/test_ttl.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""TTL: every key of a thread expires; reads refresh it only when asked to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langgraph.checkpoint.redis_shallow import ShallowRedisSaver
from tests._io_sync import Redis, sleep
from tests._sync.conftest import drop
from tests._sync.storage import is_data_key, namespace_keys
from tests.builders import cfg, checkpoint_at, saver_prefixes


@pytest.fixture
def make_saver(redis_url: str, prefix: str) -> Iterator:
    """Build set-up savers with a given ttl on the test's prefixes."""
    made: list[ShallowRedisSaver] = []

    def build(ttl: dict) -> ShallowRedisSaver:
        saver = ShallowRedisSaver(redis_url, ttl=ttl, **saver_prefixes(prefix))
        saver.setup()
        made.append(saver)
        return saver

    yield build
    if made:
        drop(made[0], prefix)
    for saver in made:
        saver.close()


def pttls(client: Redis, prefix: str) -> dict[bytes, int]:
    """PTTL of every key under the test's prefix."""
    keys = [k for k in client.scan_iter(match=prefix + ":*") if is_data_key(k)]
    return {k: client.pttl(k) for k in keys}


def key_pttl(client: Redis, key: str) -> int:
    return int(client.pttl(key))


def test_every_key_gets_the_ttl_on_put_and_put_writes(
    make_saver, client, prefix, thread_id, has_search
):
    saver = make_saver({"default_ttl": 5})
    limit = 5 * 60_000
    # a put on a fresh thread: namespace hash, registry (and search entry)
    saver.put(cfg(thread_id, "first"), checkpoint_at(1), {}, {"a": 1})
    found = pttls(client, prefix)
    assert len(found) == (3 if has_search else 2)
    assert all(0 < ttl <= limit for ttl in found.values()), found
    saver.delete_thread(thread_id)
    # what is left, the tombstone, never outlives the saver's ttl
    found = pttls(client, prefix)
    assert list(found) == [saver.keys.tombstone(thread_id).encode()]
    assert all(0 < ttl <= limit for ttl in found.values()), found
    client.delete(*found)  # the rest is about a thread never deleted

    # put_writes first (before any put), in a sub-namespace
    saver.put_writes(cfg(thread_id, "sub", "early-id"), [("a", 1)], "t")
    found = pttls(client, prefix)
    assert len(found) == 2  # namespace hash and registry
    assert all(0 < ttl <= limit for ttl in found.values()), found

    for ns in ("", "sub"):
        stored = saver.put(cfg(thread_id, ns), checkpoint_at(1), {}, {"a": 1})
        found = pttls(client, prefix)
        assert all(0 < ttl <= limit for ttl in found.values()), found
        saver.put_writes(stored, [("a", 2), ("b", 3)], "t")
        found = pttls(client, prefix)
        assert all(0 < ttl <= limit for ttl in found.values()), found

    for ns in ("", "sub"):
        for key in namespace_keys(saver, thread_id, ns, has_search):
            assert 0 < key_pttl(client, key) <= limit, key
    # the hashes (and search entries) of both namespaces, and the registry
    assert len(pttls(client, prefix)) == (5 if has_search else 3)


def test_writes_push_back_the_expiry_of_the_whole_thread(
    make_saver, client, thread_id, has_search
):
    saver = make_saver({"default_ttl": 0.05})  # 3 s
    stored = saver.put(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    saver.put_writes(stored, [("a", 2)], "t1")
    keys = namespace_keys(saver, thread_id, "", has_search)
    sleep(0.3)
    before = {k: key_pttl(client, k) for k in keys}
    saver.put_writes(stored, [("a", 3)], "t2")
    after = {k: key_pttl(client, k) for k in keys}
    for key in keys:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])
    sleep(0.3)
    before = {k: key_pttl(client, k) for k in keys}
    saver.put(stored, checkpoint_at(2), {}, {"a": 2})
    after = {k: key_pttl(client, k) for k in keys}
    for key in keys:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])


def test_without_ttl_keys_do_not_expire(
    make_saver, client, prefix, thread_id, has_search
):
    saver = make_saver(None)
    stored = saver.put(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    saver.put_writes(stored, [("a", 2)], "t")
    found = pttls(client, prefix)
    assert len(found) == (3 if has_search else 2)
    assert set(found.values()) == {-1}


def age_and_read(
    saver, client, thread_id: str, read, search: bool
) -> tuple[dict, dict]:
    """PTTLs of the thread's keys just before and just after ``read``."""
    stored = saver.put(cfg(thread_id), checkpoint_at(1), {}, {"a": 1})
    saver.put_writes(stored, [("a", 2)], "t")
    sleep(0.3)
    keys = namespace_keys(saver, thread_id, "", search)
    before = {k: key_pttl(client, k) for k in keys}
    read(saver, thread_id)
    after = {k: key_pttl(client, k) for k in keys}
    return before, after


def read_tuple(saver, thread_id):
    assert saver.get_tuple(cfg(thread_id)) is not None


def read_by_id(saver, thread_id):
    tup = saver.get_tuple(cfg(thread_id))
    assert saver.get_tuple(tup.config) is not None


def read_list(saver, thread_id):
    assert len([t for t in saver.list({"configurable": {"thread_id": thread_id}})]) == 1


def read_list_namespace(saver, thread_id):
    assert len([t for t in saver.list(cfg(thread_id))]) == 1


READS = [
    pytest.param(read_tuple, id="get_tuple"),
    pytest.param(read_by_id, id="get_tuple-by-id"),
    pytest.param(read_list, id="list"),
    pytest.param(read_list_namespace, id="list-namespace"),
]


@pytest.mark.parametrize("read", READS)
def test_refresh_on_read_refreshes_checkpoint_and_writes(
    make_saver, client, thread_id, read, has_search
):
    saver = make_saver({"default_ttl": 0.05, "refresh_on_read": True})  # 3 s
    before, after = age_and_read(saver, client, thread_id, read, has_search)
    for key in before:
        assert 0 < before[key] < after[key] <= 3000, (key, before[key], after[key])


@pytest.mark.parametrize("read", READS)
def test_reads_do_not_refresh_without_refresh_on_read(
    make_saver, client, thread_id, read, has_search
):
    saver = make_saver({"default_ttl": 0.05})
    before, after = age_and_read(saver, client, thread_id, read, has_search)
    for key in before:
        assert 0 < after[key] <= before[key] < 3000, (key, before[key], after[key])


def test_read_of_another_checkpoint_id_refreshes_the_thread_whole(
    make_saver, client, thread_id, has_search
):
    # A read of the thread is activity, whichever checkpoint id it asked for:
    # namespace hash, search entry and registry are refreshed together.
    saver = make_saver({"default_ttl": 0.05, "refresh_on_read": True})

    def read_missing(saver, thread_id):
        assert saver.get_tuple(cfg(thread_id, "", "not-the-stored-id")) is None

    before, after = age_and_read(saver, client, thread_id, read_missing, has_search)
    assert before.keys() == after.keys() and len(after) == (3 if has_search else 2)
    for key in before:
        assert after[key] > before[key], key


def test_expired_thread_disappears_whole(
    make_saver, client, prefix, thread_id, has_search
):
    saver = make_saver({"default_ttl": 0.01})  # 600 ms
    for ns in ("", "sub"):
        stored = saver.put(cfg(thread_id, ns), checkpoint_at(1), {}, {"a": 1})
        saver.put_writes(stored, [("a", 2)], "t")
    assert len(pttls(client, prefix)) == (5 if has_search else 3)
    sleep(1.0)
    for ns in ("", "sub"):
        assert saver.get_tuple(cfg(thread_id, ns)) is None
        for key in saver.keys.for_namespace(thread_id, ns):
            assert client.exists(key) == 0, key
    assert [t for t in saver.list({"configurable": {"thread_id": thread_id}})] == []
    assert pttls(client, prefix) == {}
    # the thread can be written again from scratch
    saver.put(cfg(thread_id), checkpoint_at(5), {}, {"a": 5})
    tup = saver.get_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 5}
