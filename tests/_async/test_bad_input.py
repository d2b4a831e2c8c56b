"""Bad input is refused with a clear error before anything is written, and
values at the edge are stored intact or refused, never poisoning a thread.

Every refusal is checked against the server: the number of keys under the
saver's prefix is the same before and after, and the thread keeps working
(its previous checkpoint reads back, and later writes succeed). Values are
compared with LangGraph's ``InMemorySaver`` given the same calls.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver
from langgraph.checkpoint.redis_shallow.errors import (
    InvalidConfigError,
    SerializationError,
    StorageError,
)
from tests._async.storage import is_data_key
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint

DEAD_URL = "redis://127.0.0.1:1"  # nothing listens: proves no connection is made


async def count_keys(client: AsyncRedis, prefix: str) -> int:
    return len(
        [
            k
            async for k in client.scan_iter(match=f"{prefix}:*", count=1000)
            if is_data_key(k)
        ]
    )


async def store(saver: Any, thread_id: Any, ns: str = "", **values: Any) -> str:
    """Put a checkpoint holding ``values`` (default ``{"a": 1}``) and one
    write of it; its id."""
    cp = checkpoint(values or {"a": 1})
    await saver.aput(
        cfg(thread_id, ns), cp, {"source": "input"}, cp["channel_versions"]
    )
    await saver.aput_writes(cfg(thread_id, ns, cp["id"]), [("w", cp["id"])], "task")
    return cp["id"]


async def assert_healthy(
    saver: AsyncShallowRedisSaver, thread_id: Any, expected_id: str, ns: str = ""
) -> None:
    """The thread still reads back ``expected_id`` with its write, and takes
    new writes: it was not poisoned."""
    tup = await saver.aget_tuple(cfg(thread_id, ns))
    assert tup is not None and tup.checkpoint["id"] == expected_id
    assert tup.pending_writes == [("task", "w", expected_id)]
    new_id = await store(saver, thread_id, ns, a=2)
    tup = await saver.aget_tuple(cfg(thread_id, ns))
    assert tup is not None and tup.checkpoint["id"] == new_id
    assert tup.checkpoint["channel_values"] == {"a": 2}


def same_tuple(ours: Any, memory: Any) -> None:
    """The parts a shallow saver returns exactly as ``InMemorySaver`` does."""
    assert ours is not None and memory is not None
    assert ours.config == memory.config
    assert ours.checkpoint == memory.checkpoint
    assert ours.metadata == memory.metadata
    assert ours.pending_writes == memory.pending_writes


# -- configs -------------------------------------------------------------------

BAD_CONFIGS = [
    pytest.param(None, id="none"),
    pytest.param("thread-1", id="str"),
    pytest.param({}, id="empty"),
    pytest.param({"configurable": None}, id="configurable-none"),
    pytest.param({"configurable": "x"}, id="configurable-str"),
    pytest.param({"configurable": {}}, id="no-thread-id"),
    pytest.param({"configurable": {"thread_id": None}}, id="thread-id-none"),
    pytest.param({"configurable": {"checkpoint_ns": ""}}, id="only-ns"),
    pytest.param({"thread_id": "t"}, id="thread-id-top-level"),
]


@pytest.mark.parametrize("config", BAD_CONFIGS)
async def test_config_without_configurable_or_thread_id(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, config: Any
):
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"a": 1})
    with pytest.raises(InvalidConfigError, match="aput"):
        await asaver.aput(config, cp, {}, cp["channel_versions"])
    with pytest.raises(InvalidConfigError, match="aput_writes"):
        await asaver.aput_writes(config, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match="aget_tuple"):
        await asaver.aget_tuple(config)
    if config is not None:  # None lists every thread
        with pytest.raises(InvalidConfigError, match="alist"):
            [t async for t in asaver.alist(config)]
    assert await count_keys(aclient, prefix) == before


@pytest.mark.parametrize(
    "thread_id",
    [1.5, b"thread", ["t"], ("t",), {"t": 1}, True, object()],
    ids=["float", "bytes", "list", "tuple", "dict", "bool", "object"],
)
async def test_thread_id_of_a_wrong_type(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: Any
):
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"a": 1})
    calls = {
        "aput": lambda: asaver.aput(cfg(thread_id), cp, {}, cp["channel_versions"]),
        "aput_writes": lambda: asaver.aput_writes(
            cfg(thread_id, "", "x"), [("a", 1)], "t"
        ),
        "aget_tuple": lambda: asaver.aget_tuple(cfg(thread_id)),
        "adelete_thread": lambda: asaver.adelete_thread(thread_id),
        "acopy_thread": lambda: asaver.acopy_thread(thread_id, "target"),
        "aprune": lambda: asaver.aprune([thread_id]),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidConfigError, match=f"{name}: thread_id must be"):
            await call()
    with pytest.raises(InvalidConfigError, match="thread_id must be"):
        [t async for t in asaver.alist(cfg(thread_id))]
    assert await count_keys(aclient, prefix) == before


async def test_int_and_uuid_thread_ids_are_stored_as_their_str(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str
):
    """``42`` and ``"42"`` name the same thread, as do a UUID and its str."""
    for thread_id in (42, uuid.uuid4()):
        checkpoint_id = await store(asaver, thread_id)
        tup = await asaver.aget_tuple(cfg(str(thread_id)))
        assert tup is not None and tup.checkpoint["id"] == checkpoint_id
        assert tup.config["configurable"]["thread_id"] == str(thread_id)
        again = await asaver.aget_tuple(cfg(thread_id))
        assert again is not None and again.config == tup.config
        listed = [t async for t in asaver.alist(cfg(thread_id))]
        assert [t.config for t in listed] == [tup.config]
        await asaver.adelete_thread(thread_id)
        assert await asaver.aget_tuple(cfg(str(thread_id))) is None
    assert await count_keys(aclient, prefix) == 2  # the two tombstones


@pytest.mark.parametrize(
    "checkpoint_id",
    [5, b"id", uuid.uuid4(), ["id"]],
    ids=["int", "bytes", "uuid", "list"],
)
async def test_checkpoint_id_not_a_string(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    checkpoint_id: Any,
):
    stored = await store(asaver, thread_id)
    before = await count_keys(aclient, prefix)
    bad = cfg(thread_id, "", checkpoint_id)
    cp = checkpoint({"a": 3})
    with pytest.raises(InvalidConfigError, match="checkpoint_id must be a str"):
        await asaver.aget_tuple(bad)
    with pytest.raises(InvalidConfigError, match="checkpoint_id must be a str"):
        await asaver.aput(bad, cp, {}, cp["channel_versions"])
    with pytest.raises(InvalidConfigError, match="checkpoint_id must be a str"):
        await asaver.aput_writes(bad, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match="checkpoint_id must be a str"):
        [t async for t in asaver.alist(cfg(thread_id), before=bad)]
    assert await count_keys(aclient, prefix) == before
    await assert_healthy(asaver, thread_id, stored)


async def test_checkpoint_whose_own_id_is_not_a_string(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    stored = await store(asaver, thread_id)
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"a": 3})
    cp["id"] = 12345
    try:
        with pytest.raises(InvalidConfigError):
            await asaver.aput(cfg(thread_id), cp, {}, cp["channel_versions"])
    finally:
        assert await count_keys(aclient, prefix) == before
        await assert_healthy(asaver, thread_id, stored)


# -- saver arguments -----------------------------------------------------------


@pytest.mark.parametrize(
    "ttl",
    [
        5,
        "5",
        {"default_ttl": -1},
        {"default_ttl": 0},
        {"default_ttl": "5"},
        {"default_ttl": True},
        {"default_ttl": float("nan")},
        {"default_ttl": float("inf")},
        {"default_ttl": 1e-9},
        {"refresh_on_read": "yes"},
        {"ttl": 5},
    ],
)
async def test_invalid_ttl(ttl: Any):
    with pytest.raises(InvalidConfigError, match="ttl"):
        AsyncShallowRedisSaver(DEAD_URL, ttl=ttl)


@pytest.mark.parametrize("keep_last", [0, -1, 1001, True, "3", 2.0, None])
async def test_invalid_keep_last(keep_last: Any):
    """Refused in the constructor (no connection is made to the dead URL),
    the message naming the argument and its range."""
    with pytest.raises(InvalidConfigError, match="keep_last must be an int from 1"):
        AsyncShallowRedisSaver(DEAD_URL, keep_last=keep_last)


@pytest.mark.parametrize(
    ("checkpoint_prefix", "write_prefix"),
    [
        ("", "w"),
        ("cp", ""),
        (None, "w"),
        (5, "w"),
        (b"cp", "w"),
        ("c{p", "w"),
        ("cp", "w}"),
        ("c p", "w"),
        ("cp", "w\n"),
        ("x", "x"),
        ("x", "x:w"),
        ("x:cp", "x"),
    ],
)
async def test_invalid_prefix(checkpoint_prefix: Any, write_prefix: Any):
    with pytest.raises(InvalidConfigError, match="prefix"):
        AsyncShallowRedisSaver(
            DEAD_URL,
            checkpoint_prefix=checkpoint_prefix,
            checkpoint_write_prefix=write_prefix,
        )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:6379", "localhost:6379", "", "redis://127.0.0.1:port", 6379],
)
async def test_url_the_client_cannot_parse(url: Any):
    with pytest.raises(InvalidConfigError, match="redis_url"):
        AsyncShallowRedisSaver(url)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1", "unix:///nonexistent/redis.sock"]
)
async def test_url_the_client_cannot_reach(url: str):
    """Parses, but nothing answers: ``setup`` (or the first call) raises
    ``StorageError`` naming it; there was nothing to write to."""
    saver = AsyncShallowRedisSaver(url)
    with pytest.raises(StorageError, match="setup failed: ConnectionError"):
        await saver.asetup()
    operation = "aget_tuple"
    with pytest.raises(StorageError, match=operation + " on thread 't'"):
        await saver.aget_tuple(cfg("t"))
    await saver.aclose()


def test_other_constructor_misuse():
    with pytest.raises(InvalidConfigError, match="redis_url"):
        AsyncShallowRedisSaver()
    with pytest.raises(InvalidConfigError, match="decode_responses"):
        AsyncShallowRedisSaver(DEAD_URL, connection_args={"decode_responses": True})
    with pytest.raises(InvalidConfigError, match="decode_responses"):
        AsyncShallowRedisSaver(
            redis_client=AsyncRedis.from_url(DEAD_URL, decode_responses=True)
        )
    with pytest.raises(InvalidConfigError, match="not both"):
        AsyncShallowRedisSaver(DEAD_URL, redis_client=AsyncRedis.from_url(DEAD_URL))


# -- values the serde cannot serialize -----------------------------------------


def _unserializable() -> list[Any]:
    return [object(), lambda: 1, {"nested": [1, object()]}]


@pytest.mark.parametrize("value", _unserializable(), ids=["object", "lambda", "nested"])
async def test_unserializable_channel_value_names_the_channel(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    value: Any,
):
    stored = await store(asaver, thread_id)
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"fine": 1, "the_bad_one": value}, version=2)
    with pytest.raises(SerializationError, match="channel 'the_bad_one'") as info:
        await asaver.aput(cfg(thread_id, "", stored), cp, {}, cp["channel_versions"])
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(TypeError):  # InMemorySaver refuses it too
        await InMemorySaver().aput(cfg(thread_id), cp, {}, cp["channel_versions"])
    assert await count_keys(aclient, prefix) == before
    await assert_healthy(asaver, thread_id, stored)


@pytest.mark.parametrize("value", _unserializable(), ids=["object", "lambda", "nested"])
async def test_unserializable_write_names_the_channel(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    value: Any,
):
    stored = await store(asaver, thread_id)
    before = await count_keys(aclient, prefix)
    writes = [("fine", 1), ("the_bad_one", value)]
    with pytest.raises(SerializationError, match="write to channel 'the_bad_one'"):
        await asaver.aput_writes(cfg(thread_id, "", stored), writes, "task-2")
    assert await count_keys(aclient, prefix) == before
    # none of the task's writes was stored, not even the serializable one
    await assert_healthy(asaver, thread_id, stored)


async def test_unserializable_metadata(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, prefix: str, thread_id: str
):
    stored = await store(asaver, thread_id)
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"a": 5}, version=2)
    with pytest.raises(SerializationError, match="metadata"):
        await asaver.aput(cfg(thread_id), cp, {"x": object()}, cp["channel_versions"])
    assert await count_keys(aclient, prefix) == before
    await assert_healthy(asaver, thread_id, stored)


# -- values at the edge ----------------------------------------------------------


def nested(depth: int) -> Any:
    """``depth`` levels of alternating lists and dicts."""
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [100, 500])
async def test_deeply_nested_state(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    depth: int,
):
    """Stored intact when the serde can encode it; refused like
    ``InMemorySaver`` refuses it (msgpack's recursion limit) otherwise."""
    stored = await store(asaver, thread_id)
    memory = InMemorySaver()
    await store(memory, thread_id)
    cp = checkpoint({"deep": nested(depth)}, version=2)
    try:
        await memory.aput(cfg(thread_id), cp, {}, cp["channel_versions"])
    except TypeError:
        before = await count_keys(aclient, prefix)
        with pytest.raises(SerializationError, match="channel 'deep'"):
            await asaver.aput(cfg(thread_id), cp, {}, cp["channel_versions"])
        assert await count_keys(aclient, prefix) == before
        assert depth == 500  # documents where the limit lies
        await assert_healthy(asaver, thread_id, stored)
        return
    await asaver.aput(cfg(thread_id), cp, {}, cp["channel_versions"])
    tup = await asaver.aget_tuple(cfg(thread_id))
    same_tuple(tup, await memory.aget_tuple(cfg(thread_id)))
    assert tup.checkpoint["channel_values"]["deep"] == nested(depth)


@pytest.mark.parametrize("kind", ["bytes", "str"])
async def test_fifty_megabyte_state(
    asaver: AsyncShallowRedisSaver, thread_id: str, kind: str
):
    size = 50 * 1024 * 1024
    big: Any = bytes(range(256)) * (size // 256)
    if kind == "str":
        big = "é" + "x" * (size - 1)
    cp = checkpoint({"big": big, "small": 1})
    await asaver.aput(cfg(thread_id), cp, {"step": 1}, cp["channel_versions"])
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup.checkpoint["channel_values"]["big"] == big
    # the next step changes only the small channel: the big value stays stored
    nxt = checkpoint({"big": big, "small": 2})
    nxt["channel_versions"] = {"big": 1, "small": 2}
    await asaver.aput(cfg(thread_id, "", cp["id"]), nxt, {"step": 2}, {"small": 2})
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup.checkpoint["channel_values"] == {"big": big, "small": 2}
    await asaver.adelete_thread(thread_id)


async def test_metadata_with_nul_characters(
    asaver: AsyncShallowRedisSaver, thread_id: str
):
    """As ``InMemorySaver``: ``\\u0000`` is removed from top-level string
    values (LangGraph's ``get_checkpoint_metadata``), kept elsewhere."""
    metadata = {
        "source": "in\x00put",
        "nul\x00key": "v\x00",
        "nested": {"x": "a\x00b", "list": ["\x00"]},
        "step": 1,
    }
    memory = InMemorySaver()
    for target in (asaver, memory):
        cp = checkpoint({"a": "\x00value\x00"})
        await target.aput(cfg(thread_id), cp, dict(metadata), cp["channel_versions"])
        await target.aput_writes(
            cfg(thread_id, "", cp["id"]), [("w\x00", "\x00")], "t\x00"
        )
    tup = await asaver.aget_tuple(cfg(thread_id))
    expected = await memory.aget_tuple(cfg(thread_id))
    assert tup.metadata == expected.metadata
    assert tup.metadata["source"] == "input"
    assert tup.metadata["nested"] == {"x": "a\x00b", "list": ["\x00"]}
    assert tup.checkpoint["channel_values"] == {"a": "\x00value\x00"}
    assert tup.pending_writes == expected.pending_writes == [("t\x00", "w\x00", "\x00")]
    found = [t async for t in asaver.alist(cfg(thread_id), filter={"source": "input"})]
    assert [t.checkpoint["id"] for t in found] == [tup.checkpoint["id"]]


LONG = "ü€🦜" * 2500  # 10,000 characters, 25,000 UTF-8 bytes


@pytest.mark.parametrize(
    "where", ["thread_id", "checkpoint_ns", "channel", "metadata_key", "task_id"]
)
async def test_non_ascii_and_very_long_keys(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    where: str,
):
    """10,000-character non-ASCII names anywhere: stored and returned intact,
    equal to ``InMemorySaver``'s answer; deleting the thread leaves nothing."""
    tid = thread_id + LONG if where == "thread_id" else thread_id
    ns = LONG if where == "checkpoint_ns" else ""
    channel = LONG if where == "channel" else "messages"
    meta_key = LONG if where == "metadata_key" else "source"
    task_id = LONG if where == "task_id" else "task"
    memory = InMemorySaver()
    results = []
    cp = checkpoint({channel: ["日本語", LONG], "other": 1})
    for target in (asaver, memory):
        await target.aput(
            cfg(tid, ns), cp, {meta_key: LONG, "step": 1}, cp["channel_versions"]
        )
        await target.aput_writes(
            cfg(tid, ns, cp["id"]), [(channel, "ñ"), ("other", LONG)], task_id, "ü"
        )
        results.append(await target.aget_tuple(cfg(tid, ns)))
    same_tuple(*results)
    assert results[0].config["configurable"]["thread_id"] == tid
    assert results[0].config["configurable"]["checkpoint_ns"] == ns
    listed = [t async for t in asaver.alist({"configurable": {"thread_id": tid}})]
    assert [t.config for t in listed] == [results[0].config]
    await asaver.adelete_thread(tid)
    assert await asaver.aget_tuple(cfg(tid, ns)) is None
    assert await count_keys(aclient, prefix) == 1  # its tombstone


@pytest.mark.parametrize("where", ["thread_id", "checkpoint_ns", "task_id"])
async def test_lone_surrogates_in_ids(
    asaver: AsyncShallowRedisSaver,
    aclient: AsyncRedis,
    prefix: str,
    thread_id: str,
    where: str,
):
    odd = "a\udcffb"
    tid = thread_id + odd if where == "thread_id" else thread_id
    ns = odd if where == "checkpoint_ns" else ""
    task_id = odd if where == "task_id" else "task"
    before = await count_keys(aclient, prefix)
    cp = checkpoint({"a": 9})
    try:
        await asaver.aput(cfg(tid, ns), cp, {}, cp["channel_versions"])
        await asaver.aput_writes(cfg(tid, ns, cp["id"]), [("w", 1)], task_id)
    except InvalidConfigError:
        # refused before writing anything of the refused call
        if where == "task_id":
            tup = await asaver.aget_tuple(cfg(tid, ns))
            assert tup.checkpoint["id"] == cp["id"] and tup.pending_writes == []
        else:
            assert await count_keys(aclient, prefix) == before
        return
    tup = await asaver.aget_tuple(cfg(tid, ns))
    assert tup.config == cfg(tid, ns, cp["id"])
    assert tup.pending_writes == [(task_id, "w", 1)]
