"""The saver's API: construction, from_conn_string, setup, config validation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    InvalidConfigError,
)
from tests._async.conftest import drop
from tests._io_async import AsyncRedis, counting_client, gather, sleep
from tests.builders import cfg, checkpoint, layout_key, saver_prefixes

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens there: any command would fail


async def client_names(aclient: AsyncRedis) -> list[str]:
    """Names of the connections the server has open."""
    return [c.get("name", "") for c in await aclient.client_list()]


async def wait_until_gone(aclient: AsyncRedis, name: str) -> bool:
    """Whether the server drops every connection named ``name`` within ~2 s."""
    for _ in range(40):
        if name not in await client_names(aclient):
            return True
        await sleep(0.05)
    return False


async def prefix_keys(aclient: AsyncRedis, prefix: str) -> list[bytes]:
    """The data keys of a test's prefixes (the layout version that ``setup``
    records is not data)."""
    layout = layout_key(prefix)
    return [k async for k in aclient.scan_iter(match=prefix + ":*") if k != layout]


# -- from_conn_string ----------------------------------------------------------


async def test_from_conn_string_closes_the_client_it_created(
    redis_url, aclient, prefix
):
    name = "own-" + uuid.uuid4().hex[:12]
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, connection_args={"client_name": name}, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        await saver.aput(cfg("t"), checkpoint(), {}, {"a": 1})
        assert name in await client_names(aclient)
        await drop(saver, prefix)
    assert await wait_until_gone(aclient, name), "the saver left its connection open"


async def test_from_conn_string_never_closes_a_client_passed_in(
    redis_url, aclient, prefix
):
    name = "user-" + uuid.uuid4().hex[:12]
    user_client = AsyncRedis.from_url(redis_url, client_name=name)
    try:
        assert await user_client.ping()
        async with AsyncShallowRedisSaver.from_conn_string(
            redis_client=user_client, **saver_prefixes(prefix)
        ) as saver:
            assert saver.client is user_client
            await saver.asetup()
            await saver.aput(cfg("t"), checkpoint(), {}, {"a": 1})
            await drop(saver, prefix)
        # the connection is still the one it had: nothing closed it
        assert name in await client_names(aclient)
        assert await user_client.ping()
        # and the saver's own close leaves it alone too
        saver = AsyncShallowRedisSaver(redis_client=user_client)
        await saver.aclose()
        assert name in await client_names(aclient)
        assert await user_client.ping()
    finally:
        await user_client.aclose()


async def test_from_conn_string_closes_its_client_when_the_block_raises(
    redis_url, aclient
):
    name = "raise-" + uuid.uuid4().hex[:12]
    with pytest.raises(KeyError):
        async with AsyncShallowRedisSaver.from_conn_string(
            redis_url, connection_args={"client_name": name}
        ) as saver:
            await saver.aget_tuple(cfg("never-stored-" + uuid.uuid4().hex))
            raise KeyError("boom")
    assert await wait_until_gone(aclient, name)


# -- setup ------------------------------------------------------------------------


async def test_setup_is_idempotent(asaver, thread_id):
    await asaver.aput(cfg(thread_id), checkpoint(), {"step": 1}, {"a": 1})
    for _ in range(3):
        await asaver.asetup()
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 1}


async def test_setup_is_safe_concurrently(
    redis_url, prefix, thread_id, has_search, aclient
):
    savers = [
        AsyncShallowRedisSaver(redis_url, **saver_prefixes(prefix)) for _ in range(5)
    ]
    try:
        # five processes' worth of savers, none set up, all at once
        await gather(*[saver.asetup for saver in savers])
        # and one saver running its setup five times at once
        await gather(*[savers[0].asetup] * 5)
        await savers[1].aput(cfg(thread_id), checkpoint(), {"step": 1}, {"a": 1})
        for saver in savers:
            tup = await saver.aget_tuple(cfg(thread_id))
            assert tup is not None and tup.metadata["step"] == 1
        if has_search:
            indexes = [
                i.decode() if isinstance(i, bytes) else i
                for i in await aclient.execute_command("FT._LIST")
            ]
            assert indexes.count(savers[0].keys.index_name) == 1
            listed = [t async for t in savers[2].alist(None, filter={"step": 1})]
            assert [t.config["configurable"]["thread_id"] for t in listed] == [
                thread_id
            ]
    finally:
        await drop(savers[0], prefix)
        for saver in savers:
            await saver.aclose()


# -- constructor errors -----------------------------------------------------------

CONSTRUCTOR_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("no url, no client", {}, "redis_url"),
    ("bad scheme", {"redis_url": "http://localhost:6379"}, "http://localhost:6379"),
    ("url not a str", {"redis_url": 6379}, "redis_url must be a str"),
    (
        "decode_responses in connection_args",
        {"redis_url": UNREACHABLE, "connection_args": {"decode_responses": True}},
        "decode_responses",
    ),
    (
        "negative ttl",
        {"redis_url": UNREACHABLE, "ttl": {"default_ttl": -1}},
        "positive",
    ),
    ("zero ttl", {"redis_url": UNREACHABLE, "ttl": {"default_ttl": 0}}, "positive"),
    (
        "string ttl",
        {"redis_url": UNREACHABLE, "ttl": {"default_ttl": "5"}},
        "number of minutes",
    ),
    ("ttl not a dict", {"redis_url": UNREACHABLE, "ttl": 5}, "ttl must be a dict"),
    (
        "unknown ttl key",
        {"redis_url": UNREACHABLE, "ttl": {"default_ttl": 5, "refresh": True}},
        "unknown keys",
    ),
    (
        "refresh_on_read not a bool",
        {"redis_url": UNREACHABLE, "ttl": {"refresh_on_read": "yes"}},
        "refresh_on_read",
    ),
    ("brace in prefix", {"redis_url": UNREACHABLE, "checkpoint_prefix": "cp{"}, "'{'"),
    (
        "closing brace in prefix",
        {"redis_url": UNREACHABLE, "checkpoint_write_prefix": "w}"},
        "'}'",
    ),
    ("empty prefix", {"redis_url": UNREACHABLE, "checkpoint_prefix": ""}, "non-empty"),
    (
        "empty write prefix",
        {"redis_url": UNREACHABLE, "checkpoint_write_prefix": ""},
        "non-empty",
    ),
    (
        "space in prefix",
        {"redis_url": UNREACHABLE, "checkpoint_prefix": "a b"},
        "whitespace",
    ),
    (
        "same prefixes",
        {
            "redis_url": UNREACHABLE,
            "checkpoint_prefix": "x",
            "checkpoint_write_prefix": "x",
        },
        "overlap",
    ),
    (
        "nested prefixes",
        {
            "redis_url": UNREACHABLE,
            "checkpoint_prefix": "x",
            "checkpoint_write_prefix": "x:w",
        },
        "overlap",
    ),
    (
        "nested prefixes, other way",
        {
            "redis_url": UNREACHABLE,
            "checkpoint_prefix": "x:cp",
            "checkpoint_write_prefix": "x",
        },
        "overlap",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [pytest.param(k, m, id=i) for i, k, m in CONSTRUCTOR_ERRORS],
)
async def test_constructor_errors(kwargs, message):
    with pytest.raises(InvalidConfigError) as info:
        AsyncShallowRedisSaver(**kwargs)
    assert message in str(info.value)
    # from_conn_string refuses the same, before yielding anything
    with pytest.raises(InvalidConfigError):
        async with AsyncShallowRedisSaver.from_conn_string(**kwargs):
            pytest.fail("from_conn_string yielded a saver for a bad config")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"redis_url": UNREACHABLE}, "not both", id="url and client"),
        pytest.param({"ttl": {"default_ttl": -1}}, "positive", id="bad ttl"),
        pytest.param({"checkpoint_prefix": "{"}, "'{'", id="bad prefix"),
    ],
)
async def test_constructor_errors_with_a_client_send_nothing(
    redis_url, kwargs, message
):
    client, trips = counting_client(redis_url)
    try:
        with pytest.raises(InvalidConfigError) as info:
            AsyncShallowRedisSaver(redis_client=client, **kwargs)
        assert message in str(info.value)
        assert trips.count == 0
    finally:
        await client.aclose()


async def test_client_with_decode_responses_is_refused(redis_url):
    client, trips = counting_client(redis_url, decode_responses=True)
    try:
        with pytest.raises(InvalidConfigError, match="decode_responses"):
            AsyncShallowRedisSaver(redis_client=client)
        assert trips.count == 0
    finally:
        await client.aclose()


def test_valid_ttl_and_prefixes_are_accepted():
    saver = AsyncShallowRedisSaver(
        UNREACHABLE,
        ttl={"default_ttl": 0.5, "refresh_on_read": True},
        checkpoint_prefix="app:cp",
        checkpoint_write_prefix="app:w",
    )
    assert saver.ttl.ms == 30_000 and saver.ttl.refresh_on_read
    assert AsyncShallowRedisSaver(UNREACHABLE, ttl={}).ttl.ms is None
    assert AsyncShallowRedisSaver(UNREACHABLE, ttl=None).ttl.ms is None


# -- bad configs for the operations -------------------------------------------------

BAD_CONFIGS: list[tuple[str, Any, str]] = [
    ("not a dict", None, "config"),
    ("no configurable", {}, "configurable"),
    ("configurable not a dict", {"configurable": "t"}, "configurable"),
    ("no thread_id", {"configurable": {"checkpoint_ns": ""}}, "thread_id"),
    ("thread_id None", {"configurable": {"thread_id": None}}, "thread_id"),
    ("bool thread_id", {"configurable": {"thread_id": True}}, "thread_id"),
    ("float thread_id", {"configurable": {"thread_id": 1.5}}, "thread_id"),
    (
        "ns not a str",
        {"configurable": {"thread_id": "t", "checkpoint_ns": 1}},
        "checkpoint_ns",
    ),
    (
        "checkpoint_id not a str",
        {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": 5}},
        "checkpoint_id",
    ),
]


@pytest.mark.parametrize(
    ("config", "message"), [pytest.param(c, m, id=i) for i, c, m in BAD_CONFIGS]
)
async def test_bad_configs_raise_and_write_nothing(
    counted, aclient, prefix, config, message
):
    saver, trips = counted
    # something already stored, to see that nothing changes
    await saver.aput(cfg("t"), checkpoint(), {}, {"a": 1})
    before = sorted(await prefix_keys(aclient, prefix))
    trips.reset()
    cp = checkpoint()
    with pytest.raises(InvalidConfigError, match=message):
        await saver.aput(config, cp, {}, {"a": 1})
    with pytest.raises(InvalidConfigError, match=message):
        await saver.aput_writes(config, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match=message):
        await saver.aget_tuple(config)
    assert trips.count == 0, "a command was sent for a bad config"
    assert sorted(await prefix_keys(aclient, prefix)) == before


async def test_put_writes_needs_a_checkpoint_id(counted, aclient, prefix):
    saver, trips = counted
    for config in (cfg("t"), {"configurable": {"thread_id": "t", "checkpoint_id": ""}}):
        with pytest.raises(InvalidConfigError, match="checkpoint_id"):
            await saver.aput_writes(config, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match="task_id"):
        await saver.aput_writes(
            {"configurable": {"thread_id": "t", "checkpoint_id": "x"}}, [("a", 1)], 7
        )
    assert trips.count == 0
    assert await prefix_keys(aclient, prefix) == []


async def test_delete_thread_refuses_a_bad_thread_id(counted):
    saver, trips = counted
    for bad in (None, True, 1.5, b"bytes"):
        with pytest.raises(InvalidConfigError, match="thread_id"):
            await saver.adelete_thread(bad)
    assert trips.count == 0


# -- prune strategies ------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["delete", "delete_all"])
async def test_prune_delete_and_delete_all_delete_the_threads(
    asaver, aclient, prefix, strategy
):
    """``"delete_all"`` (what the LangGraph server's gRPC runtime sends) and
    ``"delete"`` delete the named threads whole, as ``adelete_thread`` does,
    and leave the other threads alone."""
    doomed, kept = f"prune-{uuid.uuid4().hex[:8]}", f"kept-{uuid.uuid4().hex[:8]}"
    for tid in (doomed, kept):
        for ns in ("", "child"):
            cp = checkpoint()
            stored = await asaver.aput(cfg(tid, ns), cp, {}, cp["channel_versions"])
            await asaver.aput_writes(stored, [("a", 2)], "task-1")
    kept_before = await asaver.aget_tuple(cfg(kept))
    await asaver.aprune([doomed], strategy=strategy)
    assert await asaver.aget_tuple(cfg(doomed)) is None
    assert await asaver.aget_tuple(cfg(doomed, "child")) is None
    assert [t async for t in asaver.alist(cfg(doomed))] == []
    left = [k for k in await prefix_keys(aclient, prefix) if doomed.encode() in k]
    assert left == [asaver.keys.tombstone(doomed).encode()]
    assert await asaver.aget_tuple(cfg(kept)) == kept_before


async def test_prune_refuses_an_unknown_strategy_naming_the_known_ones(counted):
    saver, trips = counted
    with pytest.raises(InvalidConfigError) as info:
        await saver.aprune(["t"], strategy="delete-all")
    assert "'keep_latest', 'delete', 'delete_all'" in str(info.value)
    assert "'delete-all'" in str(info.value)
    assert trips.count == 0
