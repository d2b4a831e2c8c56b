"""``wait_for_replicas`` / ``wait_timeout`` / ``wait_for_aof`` on a real
primary with one replica (the session's ``replicated`` pair).

Each write is followed by ``WAIT`` in its own round trip (see
test_roundtrips.py for the counts); when the replica cannot acknowledge (it
is stopped with ``SIGSTOP``, or more replicas are required than exist) the
write raises ``ReplicationError`` and is on the primary all the same. The
failover tests (test_failover.py) show what the option buys.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    InvalidConfigError,
    ReplicationError,
    StorageError,
)
from redis_server import RedisServer
from tests._io_async import AsyncRedis, sleep
from tests.builders import cfg, checkpoint, saver_prefixes


@pytest.fixture
async def replica_client(
    replicated: tuple[RedisServer, RedisServer],
) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis(host="127.0.0.1", port=replicated[1].port)
    yield client
    await client.aclose()


def durable_saver(
    replicated: tuple[RedisServer, RedisServer], prefix: str, **kwargs: Any
) -> Any:
    return AsyncShallowRedisSaver.from_conn_string(
        replicated[0].url,
        **saver_prefixes(prefix),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"wait_for_replicas": -1}, "wait_for_replicas"),
        ({"wait_for_replicas": True}, "wait_for_replicas"),
        ({"wait_for_replicas": 1.0}, "wait_for_replicas"),
        ({"wait_for_replicas": "1"}, "wait_for_replicas"),
        ({"wait_timeout": 0}, "wait_timeout"),
        ({"wait_timeout": -1}, "wait_timeout"),
        ({"wait_timeout": float("inf")}, "wait_timeout"),
        ({"wait_timeout": float("nan")}, "wait_timeout"),
        ({"wait_timeout": "1"}, "wait_timeout"),
        ({"wait_timeout": 0.0001}, "wait_timeout"),
        ({"wait_for_aof": 1}, "wait_for_aof"),
        ({"wait_for_aof": None}, "wait_for_aof"),
    ],
)
async def test_bad_durability_keywords_are_refused_before_any_io(
    kwargs: dict[str, Any], named: str
) -> None:
    # a port nothing listens on: a connection attempt would fail differently
    with pytest.raises(InvalidConfigError, match=named):
        AsyncShallowRedisSaver("redis://127.0.0.1:1", **kwargs)
    with pytest.raises(InvalidConfigError, match=named):
        async with AsyncShallowRedisSaver.from_conn_string(
            "redis://127.0.0.1:1", **kwargs
        ):
            pass


async def test_every_write_is_on_the_replica_when_it_returns(
    replicated: tuple[RedisServer, RedisServer],
    replica_client: AsyncRedis,
    prefix: str,
    thread_id: str,
) -> None:
    async with durable_saver(replicated, prefix, wait_for_replicas=1) as saver:
        await saver.asetup()
        hk, _, rk = saver.keys.for_namespace(thread_id, "")
        stored = await saver.aput(
            cfg(thread_id), checkpoint({"a": {"n": 1}}), {}, {"a": 1}
        )
        assert await replica_client.exists(hk, rk) == 2
        await saver.aput_writes(stored, [("a", 2), ("b", 3)], "task")
        assert await replica_client.hlen(hk) == await saver.client.hlen(hk)

        copy = thread_id + "-copy"
        await saver.acopy_thread(thread_id, copy)
        assert await replica_client.exists(saver.keys.for_namespace(copy, "")[0]) == 1
        await saver.aprune([thread_id, copy], strategy="delete")
        assert await replica_client.exists(hk, rk) == 0

        source = InMemorySaver()
        at = await source.aput(cfg(thread_id), checkpoint({"a": "from"}), {}, {"a": 1})
        await source.aput_writes(at, [("a", "w")], "task")
        summary = await saver.acopy_from(source)
        assert summary.writes == 1
        assert await replica_client.hlen(hk) == await saver.client.hlen(hk) > 0
        await saver.adelete_thread(thread_id)
        assert await replica_client.exists(hk, rk) == 0


async def test_too_few_replicas_is_a_replication_error_and_the_write_stays(
    replicated: tuple[RedisServer, RedisServer], prefix: str, thread_id: str
) -> None:
    async with durable_saver(
        replicated, prefix, wait_for_replicas=2, wait_timeout=0.05
    ) as saver:
        await saver.asetup()
        cp = checkpoint({"a": "kept"})
        with pytest.raises(ReplicationError, match="1 of the 2 replicas") as info:
            await saver.aput(cfg(thread_id), cp, {}, {"a": 1})
        assert (info.value.acknowledged, info.value.required) == (1, 2)
        assert info.value.timeout == 0.05 and info.value.aof_synced is None
        assert "on the primary" in str(info.value)
        tup = await saver.aget_tuple(cfg(thread_id))
        assert tup is not None and tup.checkpoint["id"] == cp["id"]
        # retrying is safe: the same checkpoint is written again
        with pytest.raises(ReplicationError):
            await saver.aput(cfg(thread_id), cp, {}, {"a": 1})
        # the sync API of the async saver runs on a saver of the other kind,
        # made with the same settings (in the generated test: its own API)
        with pytest.raises(ReplicationError, match="1 of the 2 replicas"):
            saver.delete_thread(thread_id)
        assert await saver.aget_tuple(cfg(thread_id)) is None


async def test_a_stopped_replica_times_out_then_catches_up(
    replicated: tuple[RedisServer, RedisServer],
    replica_client: AsyncRedis,
    prefix: str,
    thread_id: str,
) -> None:
    replica = replicated[1]
    assert replica.pid is not None
    async with durable_saver(
        replicated, prefix, wait_for_replicas=1, wait_timeout=0.2
    ) as saver:
        await saver.asetup()
        cp = checkpoint({"a": "late"})
        os.kill(replica.pid, signal.SIGSTOP)
        try:
            with pytest.raises(ReplicationError) as info:
                await saver.aput(cfg(thread_id), cp, {}, {"a": 1})
            assert (info.value.acknowledged, info.value.required) == (0, 1)
        finally:
            os.kill(replica.pid, signal.SIGCONT)
        await saver.aput(cfg(thread_id), cp, {}, {"a": 1})  # acknowledged now
        hk = saver.keys.for_namespace(thread_id, "")[0]
        assert await replica_client.hgetall(hk) == await saver.client.hgetall(hk)
        await saver.adelete_thread(thread_id)


async def test_wait_for_aof(
    replicated: tuple[RedisServer, RedisServer], prefix: str, thread_id: str
) -> None:
    primary = AsyncRedis(host="127.0.0.1", port=replicated[0].port)
    try:
        version = (await primary.info("server"))["redis_version"]
        if tuple(int(p) for p in version.split(".")[:2]) < (7, 2):
            pytest.skip(f"WAITAOF is new in Redis 7.2; this server is {version}")
        async with durable_saver(
            replicated, prefix, wait_for_replicas=1, wait_for_aof=True
        ) as saver:
            await saver.asetup()
            # appendonly no: the primary cannot sync an append-only file
            with pytest.raises(StorageError, match="appendonly"):
                await saver.aput(cfg(thread_id), checkpoint({"a": 1}), {}, {"a": 1})
            # the primary's file alone: its replica has none
            # "always": fsync at each write (with the default "everysec" the
            # local sync can take over the 1 s wait_timeout)
            await primary.config_set("appendfsync", "always")
            await primary.config_set("appendonly", "yes")
            for _ in range(200):  # until its first append-only file is written
                info = await primary.info("persistence")
                if (
                    not info["aof_rewrite_in_progress"]
                    and info["aof_last_write_status"] == "ok"
                    and not info.get("aof_rewrite_scheduled")
                ):
                    break
                await sleep(0.05)
            with pytest.raises(ReplicationError) as info:
                await saver.aput(cfg(thread_id), checkpoint({"a": 2}), {}, {"a": 2})
            assert info.value.aof_synced is True
            assert (info.value.acknowledged, info.value.required) == (0, 1)
        async with durable_saver(replicated, prefix, wait_for_aof=True) as saver:
            cp = checkpoint({"a": 3})
            await saver.aput(cfg(thread_id), cp, {}, {"a": 3})
            tup = await saver.aget_tuple(cfg(thread_id))
            assert tup is not None and tup.checkpoint["id"] == cp["id"]
            await saver.adelete_thread(thread_id)
    finally:
        await primary.config_set("appendonly", "no")
        await primary.config_set("appendfsync", "everysec")
        await primary.aclose()
