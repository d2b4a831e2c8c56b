"""Compressed values: what is stored, and that it always reads back.

- graphs give the state they give on ``InMemorySaver`` while the stored
  values are compressed, and the stored bytes are smaller;
- plain and compressed values mix: a store written with compression off is
  read and continued with it on, and the other way round;
- values that do not compress (random bytes, ciphertext) are stored plain,
  byte for byte as without compression; ciphertext is not even tried;
- the threshold is exact; a serde's empty type name is refused; the layout
  version moves to 2 only when a compressing saver writes;
- put, put_writes and get_tuple stay one round trip each.
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import MessagesState

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    Compression,
    InvalidConfigError,
    SerializationError,
)
from langgraph.checkpoint.redis_shallow import compression as compression_module
from langgraph.checkpoint.redis_shallow.compression import DEFAULT_THRESHOLD
from langgraph.checkpoint.redis_shallow.layout import LAYOUT_VERSION
from langgraph.checkpoint.redis_shallow.serialization import dump_typed, load_typed
from langgraph.checkpoint.redis_shallow.server import settings_from_env
from tests._async.conftest import drop
from tests._async.graph_support import run_both
from tests._io_async import AsyncRedis, RoundTrips
from tests.builders import cfg, chain_graph, checkpoint, layout_key, saver_prefixes

ENVELOPE = b"\x00z"

_PROSE = " ".join(
    " ".join((inspect.getdoc(obj) or "").split())
    for obj in (argparse, argparse.ArgumentParser, inspect, random, os.path)
)


def english(chars: int, seed: int = 0) -> str:
    """``chars`` characters of real English (standard library docstrings)."""
    start = random.Random(seed).randrange(len(_PROSE) - chars)
    return _PROSE[start : start + chars]


def plain_blob(value: Any) -> bytes:
    type_name, data = JsonPlusSerializer().dumps_typed(value)
    return type_name.encode() + b"\x00" + data


async def stored_values(aclient: AsyncRedis, saver: Any, thread_id: str) -> list[bytes]:
    """The blobs of the namespace hash's channel values (``v:`` fields)."""
    hk = saver.keys.for_namespace(thread_id, "")[0]
    fields = await aclient.hgetall(hk)
    return [v for f, v in fields.items() if f.startswith(b"v:")]


def open_saver(redis_url: str, prefix: str, **kwargs: Any) -> Any:
    return AsyncShallowRedisSaver.from_conn_string(
        redis_url,
        **saver_prefixes(prefix),
        **kwargs,
    )


# -- graphs -------------------------------------------------------------------


def chat(checkpointer: Any) -> Any:
    """A node that answers each message with a long reply."""

    def answer(state: MessagesState) -> dict[str, Any]:
        turn = len(state["messages"])
        return {"messages": [AIMessage(english(1500, turn), id=f"ai-{turn}")]}

    return chain_graph(MessagesState, answer).compile(checkpointer=checkpointer)


async def chat_scenario(cp: Any, config: Any) -> Any:
    graph = chat(cp)
    seen = []
    for turn in range(4):
        message = HumanMessage(english(400, 100 + turn), id=f"human-{turn}")
        seen.append(await graph.ainvoke({"messages": [message]}, config))
    seen.append(await graph.aget_state(config))
    return seen


async def test_a_graph_with_compressed_values_matches_in_memory(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, thread_id: str
):
    observed = await run_both(asaver, thread_id, chat_scenario)
    assert len(observed[-1]["values"]["messages"]) == 8
    blobs = await stored_values(aclient, asaver, thread_id)
    assert any(b.startswith(ENVELOPE) for b in blobs)
    assert all(b.startswith(ENVELOPE) for b in blobs if len(b) > DEFAULT_THRESHOLD)
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None
    plain = plain_blob(tup.checkpoint["channel_values"]["messages"])
    stored = max(blobs, key=len)
    assert len(stored) < len(plain) / 2, (len(stored), len(plain))


# -- what is stored -----------------------------------------------------------


async def test_compressed_values_and_writes_are_smaller_and_read_back(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, thread_id: str
):
    value = [english(300, i) for i in range(20)]
    config = await asaver.aput(
        cfg(thread_id), checkpoint({"value": value}), {"step": 1}, {"value": 1}
    )
    await asaver.aput_writes(config, [("value", value), ("small", "x")], "task")
    (blob,) = await stored_values(aclient, asaver, thread_id)
    assert blob.startswith(ENVELOPE + b"msgpack\x00")
    assert len(blob) < len(plain_blob(value)) / 2
    hk = asaver.keys.for_namespace(thread_id, "")[0]
    records = [v for f, v in (await aclient.hgetall(hk)).items() if f[:1].isdigit()]
    assert sum(ENVELOPE + b"msgpack\x00" in r for r in records) == 1
    assert sum(b"msgpack\x00" in r and ENVELOPE not in r for r in records) == 1
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None
    assert tup.checkpoint["channel_values"]["value"] == value
    assert tup.pending_writes == [("task", "value", value), ("task", "small", "x")]
    # the checkpoint and the metadata are stored plain
    assert not (await aclient.hget(hk, "cp")).startswith(b"\x00")
    assert not (await aclient.hget(hk, "meta")).startswith(b"\x00")


async def test_random_bytes_are_stored_plain(
    asaver: AsyncShallowRedisSaver, aclient: AsyncRedis, thread_id: str
):
    value = random.Random(3).randbytes(100_000)
    config = await asaver.aput(
        cfg(thread_id), checkpoint({"value": value}), {}, {"value": 1}
    )
    await asaver.aput_writes(config, [("value", value)], "task")
    (blob,) = await stored_values(aclient, asaver, thread_id)
    assert blob == plain_blob(value)
    tup = await asaver.aget_tuple(cfg(thread_id))
    assert tup is not None
    assert tup.checkpoint["channel_values"]["value"] == value
    assert tup.pending_writes == [("task", "value", value)]


def test_incompressible_data_never_grows():
    rng = random.Random(4)
    for size in (0, 1, 100, 511, 512, 4096, 70_000):
        data = rng.randbytes(size)
        assert Compression(threshold=0).pack(b"bytes", data) == b"bytes\x00" + data


async def test_the_threshold_is_exact(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
):
    value = english(2000)
    size = len(JsonPlusSerializer().dumps_typed(value)[1])
    for threshold, compressed in ((size, True), (size + 1, False)):
        async with open_saver(
            redis_url, prefix, compression=Compression(threshold=threshold)
        ) as saver:
            await saver.aput(
                cfg(thread_id), checkpoint({"value": value}), {}, {"value": 1}
            )
            (blob,) = await stored_values(aclient, saver, thread_id)
            assert blob.startswith(ENVELOPE) is compressed
            tup = await saver.aget_tuple(cfg(thread_id))
            assert (
                tup is not None and tup.checkpoint["channel_values"]["value"] == value
            )
            await saver.adelete_thread(thread_id)
    async with open_saver(redis_url, prefix) as saver:
        await drop(saver, prefix)


def test_levels_trade_size_for_time():
    data = JsonPlusSerializer().dumps_typed([english(300, i) for i in range(30)])[1]
    sizes = [len(Compression(level=lv).pack(b"msgpack", data)) for lv in (-7, 1, 19)]
    assert sizes[0] > sizes[1] > sizes[2]
    for level in (-7, 1, 19):
        blob = Compression(level=level).pack(b"msgpack", data)
        assert load_typed(JsonPlusSerializer(), blob) == load_typed(
            JsonPlusSerializer(), b"msgpack\x00" + data
        )


# -- mixed stores -------------------------------------------------------------


async def test_compression_can_be_turned_on_and_off_at_any_time(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
):
    values = [[english(300, i) for i in range(k)] for k in (20, 21, 22)]
    async with (
        open_saver(redis_url, prefix, compression=False) as off,
        open_saver(redis_url, prefix) as on,
    ):
        await off.asetup()
        stored = await off.aput(
            cfg(thread_id), checkpoint({"value": values[0]}, 1), {}, {"value": 1}
        )
        await off.aput_writes(stored, [("value", values[0])], "t0")
        (blob,) = await stored_values(aclient, off, thread_id)
        assert not blob.startswith(b"\x00")
        tup = await on.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"]["value"] == values[0]
        assert tup.pending_writes == [("t0", "value", values[0])]

        # on continues the thread: its new value is compressed, the parent's
        # plain writes stay readable next to it
        stored = await on.aput(
            stored, checkpoint({"value": values[1]}, 2), {}, {"value": 2}
        )
        await on.aput_writes(stored, [("value", values[1])], "t1")
        (blob,) = await stored_values(aclient, on, thread_id)
        assert blob.startswith(ENVELOPE)
        tup = await off.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"]["value"] == values[1]
        assert tup.pending_writes == [("t1", "value", values[1])]

        # and off goes on from there
        await off.aput(stored, checkpoint({"value": values[2]}, 3), {}, {"value": 3})
        (blob,) = await stored_values(aclient, off, thread_id)
        assert not blob.startswith(b"\x00")
        for saver in (on, off):
            tup = await saver.aget_tuple(cfg(thread_id))
            assert tup is not None
            assert tup.checkpoint["channel_values"]["value"] == values[2]
        await drop(on, prefix)


async def test_the_other_api_uses_the_same_setting(redis_url: str, prefix: str):
    for setting in (False, Compression(threshold=100, level=3), True):
        async with open_saver(redis_url, prefix, compression=setting) as saver:
            # the saver of the other kind (sync/async) that serves its other API
            assert saver._other().compression == saver.compression


# -- encryption ---------------------------------------------------------------


async def test_encrypted_values_are_stored_plain_without_trying(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
):
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    serde = EncryptedSerializer.from_pycryptodome_aes(
        key=b"0123456789abcdef0123456789abcdef"
    )
    value = [english(300, i) for i in range(20)]
    level = 17  # a level no other test of this thread compresses at
    async with open_saver(
        redis_url, prefix, serde=serde, compression=Compression(level=level)
    ) as saver:
        await saver.asetup()
        stored = await saver.aput(
            cfg(thread_id), checkpoint({"value": value}), {}, {"value": 1}
        )
        await saver.aput_writes(stored, [("value", value)], "task")
        (blob,) = await stored_values(aclient, saver, thread_id)
        assert blob.startswith(b"msgpack+aes\x00")
        tup = await saver.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"]["value"] == value
        assert tup.pending_writes == [("task", "value", value)]
        mem = InMemorySaver(serde=serde)
        mem.put(cfg(thread_id), checkpoint({"value": value}), {}, {"value": 1})
        theirs = mem.get_tuple(cfg(thread_id))
        assert theirs is not None
        assert theirs.checkpoint["channel_values"] == tup.checkpoint["channel_values"]
        await drop(saver, prefix)
    # no compressor at that level was made: the ciphertext was not tried
    assert level not in getattr(compression_module._local, "compressors", {})


# -- bad input ----------------------------------------------------------------


class EmptyTypeName(JsonPlusSerializer):
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return "", super().dumps_typed(obj)[1]


async def test_a_serde_with_an_empty_type_name_is_refused(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str
):
    async with open_saver(redis_url, prefix, serde=EmptyTypeName()) as saver:
        with pytest.raises(SerializationError, match="invalid type name ''"):
            await saver.aput(
                cfg(thread_id), checkpoint({"value": "x"}), {}, {"value": 1}
            )
        hk = saver.keys.for_namespace(thread_id, "")[0]
        assert not await aclient.exists(hk)
        await drop(saver, prefix)


def test_bad_compression_settings_are_refused(redis_url: str):
    for bad in ("yes", 1, 0, {"level": 3}):
        with pytest.raises(InvalidConfigError, match="compression must be"):
            AsyncShallowRedisSaver(redis_url, compression=bad)
    for kwargs, match in (
        ({"threshold": -1}, "threshold must be >= 0"),
        ({"threshold": True}, "threshold must be an int"),
        ({"threshold": 1.5}, "threshold must be an int"),
        ({"level": 23}, "level must be from -7 to 22"),
        ({"level": -8}, "level must be from -7 to 22"),
        ({"level": "3"}, "level must be an int"),
    ):
        with pytest.raises(InvalidConfigError, match=match):
            Compression(**kwargs)


def test_an_unknown_codec_or_a_damaged_frame_is_a_clear_error():
    serde = JsonPlusSerializer()
    with pytest.raises(SerializationError, match="codec b'q'"):
        load_typed(serde, b"\x00qmsgpack\x00abc")
    blob = dump_typed(serde, english(2000), "v", Compression(threshold=0))
    with pytest.raises(SerializationError, match="damaged zstd frame"):
        load_typed(serde, blob[:-10])


def test_server_settings_from_the_environment():
    assert settings_from_env({}).compression == Compression()
    assert settings_from_env({"LANGGRAPH_REDIS_COMPRESSION": "off"}).compression is None
    settings = settings_from_env(
        {
            "LANGGRAPH_REDIS_COMPRESSION_THRESHOLD": "2048",
            "LANGGRAPH_REDIS_COMPRESSION_LEVEL": "3",
        }
    )
    assert settings.compression == Compression(threshold=2048, level=3)
    assert settings.saver_kwargs()["compression"] == Compression(2048, 3)
    for env, match in (
        ({"LANGGRAPH_REDIS_COMPRESSION": "maybe"}, "LANGGRAPH_REDIS_COMPRESSION"),
        ({"LANGGRAPH_REDIS_COMPRESSION_LEVEL": "high"}, "must be an integer"),
        ({"LANGGRAPH_REDIS_COMPRESSION_LEVEL": "99"}, "level must be from"),
        (
            {
                "LANGGRAPH_REDIS_COMPRESSION": "false",
                "LANGGRAPH_REDIS_COMPRESSION_LEVEL": "3",
            },
            "turn compression on",
        ),
    ):
        with pytest.raises(InvalidConfigError, match=match):
            settings_from_env(env)


# -- the layout version -------------------------------------------------------


@pytest.mark.parametrize("old", ["1"])
async def test_older_layouts_are_read_and_recorded_as_2(
    redis_url: str, prefix: str, aclient: AsyncRedis, thread_id: str, old: str
):
    key = layout_key(prefix)
    async with open_saver(redis_url, prefix, compression=False) as off:
        await off.asetup()
        await off.aput(
            cfg(thread_id), checkpoint({"value": english(5000)}), {}, {"value": 1}
        )
    # as an older package left it: plain values, its own version recorded
    await aclient.set(key, old)
    async with open_saver(redis_url, prefix) as on:
        tup = await on.aget_tuple(cfg(thread_id))  # reads never look at it
        assert tup is not None
        assert tup.checkpoint["channel_values"]["value"] == english(5000)
        assert await aclient.get(key) == old.encode()
        await on.aput(
            tup.config, checkpoint({"value": english(5000, 1)}, 2), {}, {"value": 2}
        )
        assert (
            await aclient.get(key) == str(LAYOUT_VERSION).encode()
        )  # older packages refuse
        (blob,) = await stored_values(aclient, on, thread_id)
        assert blob.startswith(ENVELOPE)
    async with open_saver(redis_url, prefix, compression=False) as off:
        await off.asetup()
        tup = await off.aget_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"]["value"] == english(5000, 1)
        await drop(off, prefix)


# -- round trips --------------------------------------------------------------


async def test_one_round_trip_each_with_compressed_values(
    counted: tuple[AsyncShallowRedisSaver, RoundTrips],
    aclient: AsyncRedis,
    thread_id: str,
):
    saver, trips = counted
    value = [english(300, i) for i in range(30)]
    trips.reset()
    stored = await saver.aput(
        cfg(thread_id), checkpoint({"value": value}), {}, {"value": 1}
    )
    assert trips.count == 1
    trips.reset()
    await saver.aput_writes(stored, [("value", value), ("other", value)], "task")
    assert trips.count == 1
    trips.reset()
    tup = await saver.aget_tuple(cfg(thread_id))
    assert trips.count == 1
    assert tup is not None and tup.checkpoint["channel_values"]["value"] == value
    (blob,) = await stored_values(aclient, saver, thread_id)
    assert blob.startswith(ENVELOPE)
