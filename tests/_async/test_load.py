"""Load: many writers on one thread, many threads at once, and a soak.

Runs on a dedicated server so that memory and key counts measure this file
only. The soak's size comes from ``SOAK_THREADS`` and ``SOAK_STEPS``
(defaults keep the suite fast; ``docs/reliability.md`` records a full
10,000 x 20 run).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from redis.exceptions import MaxConnectionsError

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import StaleCheckpointError, StorageError
from langgraph.checkpoint.redis_shallow.layout import TOMBSTONE_TTL_MS
from redis_server import RedisServer
from tests._async.storage import is_data_key
from tests._io_async import AsyncRedis, BlockingConnectionPool, run_concurrently, sleep
from tests.builders import cfg, saver_prefixes

WRITERS = 500  # one writer per task: all at once (the thread variant: 32 threads)
N_WRITES = 3
TOMBSTONE_BYTES = 200
"""The memory one deleted thread's tombstone may take (``MEMORY USAGE``:
136 bytes on Redis 8.2 and Valkey 9, 150 on Redis 6.2 for a 45-character
thread id; ``used_memory`` grows by 170 and 200 per tombstone, the expiry
included)."""
SOAK_THREADS = int(os.environ.get("SOAK_THREADS", "1000"))
SOAK_STEPS = int(os.environ.get("SOAK_STEPS", "20"))
SOAK_WORKERS = 32


@pytest.fixture(scope="module")
def server(plain_kind: str) -> Iterator[RedisServer]:
    with RedisServer(kind=plain_kind) as srv:
        yield srv


@pytest.fixture
async def admin(server: RedisServer) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def lsaver(
    server: RedisServer, prefix: str
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A saver whose pool can hold a connection per writer (redis-py's
    default pool refuses a 101st connection, see below)."""
    saver = AsyncShallowRedisSaver(
        server.url,
        **saver_prefixes(prefix),
        connection_args={"max_connections": WRITERS + 50},
    )
    await saver.asetup()
    yield saver
    keys = [
        k
        async for k in saver.client.scan_iter(match=f"{prefix}:*", count=1000)
        if is_data_key(k)
    ]
    if keys:
        await saver.client.delete(*keys)
    await saver.aclose()


async def data_keys(client: AsyncRedis, prefix: str) -> set[bytes]:
    return {
        k
        async for k in client.scan_iter(match=f"{prefix}:*", count=1000)
        if is_data_key(k)
    }


async def count_keys(client: AsyncRedis, prefix: str) -> int:
    return len(await data_keys(client, prefix))


async def assert_tombstones_only(
    client: AsyncRedis, saver: Any, prefix: str, deleted: list[str]
) -> None:
    """What the deleted threads left: their tombstones, each expiring."""
    tombstones = {saver.keys.tombstone(t).encode() for t in deleted}
    assert tombstones <= await data_keys(client, prefix)
    pipe = client.pipeline(transaction=False)
    for key in tombstones:
        pipe.pttl(key)
    assert all(0 < ttl <= TOMBSTONE_TTL_MS for ttl in await pipe.execute())


def new_checkpoint(thread_id: str, step: int, payload: str = "") -> dict[str, Any]:
    """A checkpoint whose values name itself and its thread."""
    cp: dict[str, Any] = dict(empty_checkpoint())
    cp["channel_values"] = {"who": cp["id"], "thread": thread_id, "payload": payload}
    cp["channel_versions"] = {"who": step, "thread": step, "payload": step}
    return cp


def check_whole(tup: Any, thread_id: str, written: set[str] | None = None) -> str:
    """One checkpoint that was written, whole, with only its own writes;
    its id."""
    assert tup is not None
    cid = tup.checkpoint["id"]
    if written is not None:
        assert cid in written, f"{cid} was never written"
    values = tup.checkpoint["channel_values"]
    assert values["who"] == cid and values["thread"] == thread_id
    assert tup.metadata["cid"] == cid
    got = [v for _, _, v in tup.pending_writes]
    assert got == [cid] * len(got), f"writes of another checkpoint: {got}"
    assert len(got) in (0, N_WRITES), f"partial writes: {got}"
    return cid


async def step(
    saver: AsyncShallowRedisSaver,
    thread_id: str,
    n: int,
    parent: str | None,
    payload: str = "",
) -> str:
    """One superstep: put a checkpoint, then the writes of its tasks."""
    cp = new_checkpoint(thread_id, n, payload)
    meta = {"source": "loop", "step": n, "cid": cp["id"]}
    await saver.aput(
        cfg(thread_id, checkpoint_id=parent), cp, meta, cp["channel_versions"]
    )
    writes = [(f"ch{i}", cp["id"]) for i in range(N_WRITES)]
    await saver.aput_writes(cfg(thread_id, checkpoint_id=cp["id"]), writes, f"task-{n}")
    return cp["id"]


async def test_many_writers_on_one_thread(
    lsaver: AsyncShallowRedisSaver, admin: AsyncRedis
):
    """500 writers (32 threads in the thread variant) put, write and read
    the same thread id at once, all from the same parent, while 20 other
    threads are written too: exactly one put wins, every other is refused
    with ``StaleCheckpointError`` naming the winner (its parent is no longer
    the stored checkpoint, so nothing it would overwrite is lost); every
    read and the final state are one whole written checkpoint with its own
    writes, and the other threads keep their own data."""
    hot = "hot-thread"
    base = await step(lsaver, hot, 1, None)
    written: set[str] = {base}
    others = [f"other-{i}" for i in range(20)]
    last: dict[str, str] = {}
    won: list[str] = []
    stale: list[str] = []

    async def writer(i: int) -> None:
        cp = new_checkpoint(hot, 2)
        written.add(cp["id"])
        meta = {"source": "loop", "step": 2, "cid": cp["id"]}
        try:
            await lsaver.aput(
                cfg(hot, checkpoint_id=base), cp, meta, cp["channel_versions"]
            )
        except StaleCheckpointError as err:
            stale.append(err.stored_checkpoint_id)
            check_whole(await lsaver.aget_tuple(cfg(hot)), hot, written)
            return
        won.append(cp["id"])
        writes = [(f"ch{k}", cp["id"]) for k in range(N_WRITES)]
        await lsaver.aput_writes(cfg(hot, checkpoint_id=cp["id"]), writes, f"task-{i}")
        check_whole(await lsaver.aget_tuple(cfg(hot)), hot, written)

    async def other(thread_id: str) -> None:
        parent = None
        for n in range(1, 6):
            parent = await step(lsaver, thread_id, n, parent)
            check_whole(await lsaver.aget_tuple(cfg(thread_id)), thread_id)
        last[thread_id] = parent

    fns: list[Any] = [lambda i=i: writer(i) for i in range(WRITERS)]
    fns += [lambda t=t: other(t) for t in others]
    await run_concurrently(fns)

    assert len(won) == 1 and len(stale) == WRITERS - 1
    assert set(stale) == set(won)
    final = await lsaver.aget_tuple(cfg(hot))
    assert check_whole(final, hot, written) == won[0]
    assert len(final.pending_writes) == N_WRITES
    for thread_id in others:
        tup = await lsaver.aget_tuple(cfg(thread_id))
        assert check_whole(tup, thread_id) == last[thread_id]
        assert len(tup.pending_writes) == N_WRITES
    listed = [t async for t in lsaver.alist(cfg(hot))]
    assert [t.checkpoint["id"] for t in listed] == won


async def hammer(saver: AsyncShallowRedisSaver, thread_id: str) -> tuple[int, int]:
    """WRITERS calls of put + put_writes on one thread at once, all from the
    same parent; returns (served, refused for want of a connection). Of the
    served puts exactly one wins and the others are refused as stale. The
    thread then holds the winner, whole, with its own writes."""
    base = await step(saver, thread_id, 1, None)
    written = {base}
    refused = []
    won = []

    async def writer(i: int) -> None:
        cp = new_checkpoint(thread_id, 2)
        written.add(cp["id"])
        try:
            await saver.aput(
                cfg(thread_id, checkpoint_id=base),
                cp,
                {"cid": cp["id"]},
                cp["channel_versions"],
            )
            won.append(cp["id"])
            writes = [(f"ch{k}", cp["id"]) for k in range(N_WRITES)]
            await saver.aput_writes(
                cfg(thread_id, checkpoint_id=cp["id"]), writes, f"task-{i}"
            )
        except StaleCheckpointError:
            pass
        except StorageError as err:
            assert isinstance(err.__cause__, MaxConnectionsError)
            refused.append(i)

    await run_concurrently([lambda i=i: writer(i) for i in range(WRITERS)])
    assert len(won) == 1
    assert (
        check_whole(await saver.aget_tuple(cfg(thread_id)), thread_id, written)
        == won[0]
    )
    return WRITERS - len(refused), len(refused)


async def test_default_pool_refuses_beyond_its_size_cleanly(
    server: RedisServer, prefix: str
):
    """redis-py's default pool holds at most 100 connections and refuses the
    next at once (``MaxConnectionsError``): with 500 calls at once (32 in
    the thread variant, which stays under the limit) some may be refused,
    as ``StorageError``; nothing is half-written."""
    saver = AsyncShallowRedisSaver(server.url, **saver_prefixes(prefix))
    completed, refused = await hammer(saver, "default-pool")
    assert completed + refused == WRITERS and completed > 0
    print(f"\n[load] default pool, {WRITERS} calls at once: {refused} refused")
    await saver.adelete_thread("default-pool")
    await saver.aclose()


async def test_blocking_pool_serves_every_writer(server: RedisServer, prefix: str):
    """A client on a ``BlockingConnectionPool`` of 20 connections makes
    every caller wait for a connection: all 500 calls complete."""
    pool = BlockingConnectionPool.from_url(server.url, max_connections=20, timeout=None)
    client = AsyncRedis.from_pool(pool)
    saver = AsyncShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    await saver.asetup()
    completed, refused = await hammer(saver, "blocking-pool")
    assert (completed, refused) == (WRITERS, 0)
    await saver.adelete_thread("blocking-pool")
    await client.aclose()


async def used_memory(admin: AsyncRedis) -> int:
    """Bytes the server uses, minus its clients' buffers (which vary with
    the connections open, not with the data)."""
    info = await admin.info("memory")
    clients = int(info.get("mem_clients_normal", 0)) + int(
        info.get("mem_clients_slaves", 0)
    )
    return int(info["used_memory"]) - clients


async def run_steps(
    saver: AsyncShallowRedisSaver,
    threads: list[str],
    steps: range,
    parents: dict[str, str | None],
    payload: str,
) -> None:
    """Every thread takes ``steps``, SOAK_WORKERS threads at a time."""

    async def worker(w: int) -> None:
        for thread_id in threads[w::SOAK_WORKERS]:
            for n in steps:
                parents[thread_id] = await step(
                    saver, thread_id, n, parents[thread_id], payload
                )

    await run_concurrently([lambda w=w: worker(w) for w in range(SOAK_WORKERS)])


SOAK_RESULTS: dict[str, Any] = {}


async def test_soak_memory_follows_live_threads_and_nothing_leaks(
    server: RedisServer, admin: AsyncRedis, prefix: str
):
    """SOAK_THREADS threads x SOAK_STEPS steps. Memory per thread is the
    same after 1 step and after all of them (only the latest checkpoint is
    kept), halves when half the threads are deleted, and after deleting the
    rest no key of the saver is left."""
    saver = AsyncShallowRedisSaver(server.url, **saver_prefixes(prefix))
    await saver.asetup()
    payload = "p" * 200
    threads = [f"soak-{i}" for i in range(SOAK_THREADS)]
    parents: dict[str, str | None] = dict.fromkeys(threads)
    started = time.perf_counter()
    base = await used_memory(admin)

    await run_steps(saver, threads, range(1, 2), parents, payload)
    after_one = await used_memory(admin) - base
    await run_steps(saver, threads, range(2, SOAK_STEPS + 1), parents, payload)
    after_all = await used_memory(admin) - base
    keys = await count_keys(admin, prefix)
    assert keys == 2 * SOAK_THREADS  # namespace hash, registry (no Search here)
    per_one, per_all = after_one / SOAK_THREADS, after_all / SOAK_THREADS
    # bounded by one checkpoint and two checkpoints' writes, whatever the steps
    assert per_all < 2 * per_one, (per_one, per_all)

    # spot-check: each thread holds exactly its last step
    for thread_id in threads[:: max(1, SOAK_THREADS // 50)]:
        tup = await saver.aget_tuple(cfg(thread_id))
        assert check_whole(tup, thread_id) == parents[thread_id]
        assert tup.metadata["step"] == SOAK_STEPS

    half = threads[: SOAK_THREADS // 2]
    for thread_id in half:
        await saver.adelete_thread(thread_id)
    after_half = await used_memory(admin) - base
    assert await count_keys(admin, prefix) == 2 * (SOAK_THREADS - len(half)) + len(half)
    await assert_tombstones_only(admin, saver, prefix, half)
    assert 0.3 < after_half / after_all < 0.7, (after_half, after_all)

    await saver.aprune(threads[len(half) :], strategy="delete")
    leaked = await count_keys(admin, prefix)
    # nothing but the threads' tombstones, which expire within the hour and
    # are small (docs/design.md, "Deleted threads stay deleted")
    assert leaked == SOAK_THREADS
    await assert_tombstones_only(admin, saver, prefix, threads)
    pipe = admin.pipeline(transaction=False)
    for thread_id in threads:
        pipe.memory_usage(saver.keys.tombstone(thread_id), samples=0)
    tombstone_bytes = sum(await pipe.execute()) / SOAK_THREADS
    assert tombstone_bytes < TOMBSTONE_BYTES
    await admin.delete(*[saver.keys.tombstone(t) for t in threads])
    after_delete = await used_memory(admin) - base
    # the server frees some buffers in its cron (Redis 6.2 holds ~0.1-0.6 MB
    # of them right after a busy run, however many threads there were)
    for _ in range(30):
        if after_delete < 0.05 * after_all:
            break
        await sleep(0.1)
        after_delete = await used_memory(admin) - base
    assert after_delete < 0.05 * after_all, (after_delete, after_all)
    SOAK_RESULTS.update(
        threads=SOAK_THREADS,
        steps=SOAK_STEPS,
        puts=SOAK_THREADS * SOAK_STEPS,
        seconds=round(time.perf_counter() - started, 1),
        bytes_per_thread_after_1_step=round(per_one),
        bytes_per_thread_after_all_steps=round(per_all),
        keys_leaked=leaked - SOAK_THREADS,
        tombstone_bytes=round(tombstone_bytes),
    )
    print(f"\n[soak] {SOAK_RESULTS}")
    await saver.aclose()


async def test_soak_keys_expire_with_ttl(
    server: RedisServer, admin: AsyncRedis, prefix: str
):
    """With a short TTL every key of every thread expires: none is left,
    not even one the server has not reclaimed yet (``DBSIZE``)."""
    threads = [f"ttl-{i}" for i in range(SOAK_THREADS)]
    saver = AsyncShallowRedisSaver(
        server.url,
        **saver_prefixes(prefix),
        ttl={"default_ttl": 0.02},  # 1.2 seconds
    )
    await saver.asetup()
    others = await admin.dbsize()  # keys not of this test
    parents: dict[str, str | None] = dict.fromkeys(threads)
    await run_steps(saver, threads, range(1, 4), parents, "")
    assert await count_keys(admin, prefix) > 0
    for _ in range(300):  # expired keys count in DBSIZE until reclaimed
        if await admin.dbsize() == others:
            break
        await sleep(0.1)
    assert await admin.dbsize() == others
    assert await count_keys(admin, prefix) == 0
    print(f"\n[soak ttl] {SOAK_THREADS} threads x 3 steps: 0 keys left after expiry")
    await saver.aclose()
