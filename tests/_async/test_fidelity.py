"""Values come back exactly as ``InMemorySaver`` returns them.

Each value is stored three ways (as a channel value, as a pending write and
inside the metadata) in both the saver and an ``InMemorySaver``, and what
comes back is compared with ``==`` and type by type, recursively.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import importlib.util
import math
import uuid
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import Checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde import _msgpack as lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, TASKS
from langgraph.types import Interrupt, Send

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver, Compression
from langgraph.checkpoint.redis_shallow.compression import (
    ENVELOPE,
    ZSTD,
    is_envelope,
)
from langgraph.checkpoint.redis_shallow.layout import value_field
from langgraph.checkpoint.redis_shallow.serialization import unpack_write
from tests._async.conftest import drop
from tests._async.storage import is_data_key, write_fields
from tests._io_async import AsyncRedis
from tests.builders import cfg, checkpoint, saver_prefixes


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


Point = collections.namedtuple("Point", "x y")


class Model(pydantic.BaseModel):
    name: str
    tags: list[str]
    when: dt.datetime
    nested: dict[str, int] = {}


@dataclasses.dataclass
class Record:
    id: uuid.UUID
    amount: decimal.Decimal
    items: list[str]


TZ = dt.timezone(dt.timedelta(hours=5, minutes=30))

VALUES: dict[str, Any] = {
    "datetime_tz": dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=TZ),
    "datetime_utc": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    "datetime_naive": dt.datetime(2024, 1, 1, 12, 0),
    "date": dt.date(1999, 12, 31),
    "time": dt.time(23, 59, 59, 999999),
    "time_tz": dt.time(1, 2, 3, tzinfo=TZ),
    "timedelta": dt.timedelta(days=-1, seconds=5, microseconds=7),
    "uuid": uuid.UUID("0e8f5b1c-3f4a-4c39-9b7e-5b2f1f7f4a01"),
    "decimal": decimal.Decimal("1.10"),
    "decimal_big": decimal.Decimal("-12345678901234567890.000000000001"),
    "enum": Color.BLUE,
    "int_enum": Level.HIGH,
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "tuple": (1, "two", (3.0, None)),
    "namedtuple": Point(1, 2),
    "int_keys": {1: "one", 2: "two", -3: "minus"},
    "inf": math.inf,
    "minus_inf": -math.inf,
    "bytes": b"\x00\x01\xfe\xff",
    "empty_bytes": b"",
    "bytearray": bytearray(b"\x00abc"),
    "pydantic": Model(
        name="n", tags=["a"], when=dt.datetime(2024, 1, 1, tzinfo=TZ), nested={"k": 1}
    ),
    "dataclass": Record(uuid.UUID(int=7), decimal.Decimal("0.10"), ["x"]),
    "messages": [
        HumanMessage("What's the weather?", id="h1"),
        AIMessage(
            "",
            id="a1",
            tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call-1"}],
        ),
        ToolMessage("sunny", tool_call_id="call-1", id="t1"),
        AIMessage("It is sunny.", id="a2"),
    ],
    "interrupt": Interrupt(value={"question": "approve?"}, id="int-1"),
    "send": Send("node", {"arg": [1, 2]}),
    "big_int": 2**63 - 1,
    "negative_int": -(2**63),
    "unicode": "ünïcödé 日本語 🦜 \x00 nul",
    "nested": {
        "list": [1, 2.5, None, True, "s", [dt.date(2020, 1, 1)]],
        "when": [dt.datetime(2020, 1, 1, tzinfo=TZ), uuid.UUID(int=1)],
        "deep": {"a": {"b": {"c": (decimal.Decimal("3.14"), frozenset({1}))}}},
        "enum_list": [Color.RED, Level.LOW],
    },
}


def make_cp(value: Any) -> Checkpoint:
    """A checkpoint of ``value`` next to a plain string."""
    return checkpoint({"value": value, "plain": "x"})


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        keys_b = {(type(k), k): k for k in b}
        for k, v in a.items():
            if (type(k), k) not in keys_b:
                return False
            if not same(v, b[keys_b[(type(k), k)]]):
                return False
        return True
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (set, frozenset)):
        return a == b and sorted(type(x).__name__ for x in a) == sorted(
            type(x).__name__ for x in b
        )
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, (dt.datetime, dt.time)):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def tuples_as_lists(value: Any) -> Any:
    """``value`` as the msgpack serde returns it: plain tuples become lists."""
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return [tuples_as_lists(v) for v in value]
    if isinstance(value, list):
        return [tuples_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: tuples_as_lists(v) for k, v in value.items()}
    return value


async def round_trip(
    saver: AsyncShallowRedisSaver,
    value: Any,
    thread_id: str,
    mem: InMemorySaver | None = None,
) -> tuple[Any, Any]:
    """Store ``value`` in the saver and in an ``InMemorySaver`` (a new one
    with the default serde unless given); both tuples."""
    mem = InMemorySaver() if mem is None else mem
    config = cfg(thread_id)
    cp = make_cp(value)
    versions = {"value": 1, "plain": 1}
    stored = await saver.aput(config, cp, {"value": value, "step": 1}, versions)
    mem_stored = mem.put(config, cp, {"value": value, "step": 1}, versions)
    writes = [("value", value), ("plain", [value])]
    await saver.aput_writes(stored, writes, "task-1", "path")
    mem.put_writes(mem_stored, writes, "task-1", "path")
    ours = await saver.aget_tuple(config)
    theirs = mem.get_tuple(config)
    assert ours is not None and theirs is not None
    return ours, theirs


def assert_same(ours: Any, theirs: Any) -> None:
    assert same(ours.checkpoint["channel_values"], theirs.checkpoint["channel_values"])
    assert same(ours.pending_writes, theirs.pending_writes)
    assert same(ours.metadata, theirs.metadata)
    assert same(ours.checkpoint, theirs.checkpoint)


@pytest.mark.parametrize("name", list(VALUES))
async def test_value_comes_back_as_in_memory_saver_returns_it(asaver, thread_id, name):
    value = VALUES[name]
    ours, theirs = await round_trip(asaver, value, thread_id)
    assert_same(ours, theirs)
    got = ours.checkpoint["channel_values"]["value"]
    # and it is the value itself, but for the tuples the serde turns into
    # lists (as InMemorySaver shows)
    assert same(got, tuples_as_lists(value))
    assert same(ours.pending_writes[0][2], got)


async def test_types_of_values_that_come_back(asaver, thread_id):
    ours, theirs = await round_trip(asaver, VALUES, thread_id)
    assert_same(ours, theirs)
    got = ours.checkpoint["channel_values"]["value"]
    assert got["datetime_tz"].utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert got["datetime_naive"].tzinfo is None
    assert isinstance(got["uuid"], uuid.UUID)
    assert isinstance(got["decimal"], decimal.Decimal) and str(got["decimal"]) == "1.10"
    assert got["enum"] is Color.BLUE and got["int_enum"] is Level.HIGH
    assert type(got["set"]) is set and type(got["frozenset"]) is frozenset
    assert type(got["namedtuple"]) is Point
    assert all(type(k) is int for k in got["int_keys"])
    assert got["inf"] == math.inf and got["minus_inf"] == -math.inf
    assert type(got["bytes"]) is bytes
    # nested, a bytearray comes back as bytes, as InMemorySaver returns it
    assert got["bytearray"] == b"\x00abc"
    assert type(got["bytearray"]) is type(
        theirs.checkpoint["channel_values"]["value"]["bytearray"]
    )
    assert type(got["pydantic"]) is Model and got["pydantic"] == VALUES["pydantic"]
    assert type(got["dataclass"]) is Record
    assert str(got["dataclass"].amount) == "0.10"
    msgs = got["messages"]
    assert [type(m) for m in msgs] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert msgs[1].tool_calls == VALUES["messages"][1].tool_calls
    assert msgs[2].tool_call_id == "call-1"
    assert type(got["interrupt"]) is Interrupt and got["interrupt"].id == "int-1"
    assert type(got["send"]) is Send and got["send"].arg == {"arg": [1, 2]}


async def test_nan_comes_back_as_nan(asaver, thread_id):
    ours, theirs = await round_trip(asaver, math.nan, thread_id)
    assert_same(ours, theirs)
    got = ours.checkpoint["channel_values"]["value"]
    assert type(got) is float and math.isnan(got)
    assert math.isnan(ours.pending_writes[0][2])
    assert math.isnan(ours.metadata["value"])
    nested, _ = await round_trip(asaver, {"x": [math.nan, math.inf]}, thread_id + "-n")
    assert math.isnan(nested.checkpoint["channel_values"]["value"]["x"][0])


async def test_special_writes_come_back_as_in_memory_saver_returns_them(
    asaver, thread_id
):
    mem = InMemorySaver()
    config = cfg(thread_id)
    cp = make_cp("v")
    stored = await asaver.aput(config, cp, {}, {"value": 1, "plain": 1})
    mem.put(config, cp, {}, {"value": 1, "plain": 1})
    cases = [
        ("t-err", [(ERROR, ValueError("bad input", 42))]),
        ("t-int", [(INTERRUPT, [Interrupt(value="approve?", id="i-1")])]),
        (
            "t-send",
            [(TASKS, Send("worker", {"n": 1})), (TASKS, Send("worker", {"n": 2}))],
        ),
    ]
    for task_id, writes in cases:
        await asaver.aput_writes(stored, writes, task_id)
        mem.put_writes(stored, writes, task_id)
    ours = await asaver.aget_tuple(config)
    theirs = mem.get_tuple(config)
    assert ours is not None and theirs is not None
    assert same(ours.pending_writes, theirs.pending_writes)
    by_task = {t: v for t, _, v in ours.pending_writes if t != "t-send"}
    assert by_task["t-err"] == theirs.pending_writes[0][2]  # as LangGraph stores it
    assert type(by_task["t-int"][0]) is Interrupt and by_task["t-int"][0].id == "i-1"
    sends = [v for t, _, v in ours.pending_writes if t == "t-send"]
    assert sends == [Send("worker", {"n": 1}), Send("worker", {"n": 2})]


# -- property test --------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)  # infinities included; NaN has its own test
    | st.text()
    | st.binary(max_size=32)
    | st.datetimes(
        timezones=st.none()
        | st.just(dt.timezone.utc)
        | st.builds(
            dt.timezone,
            st.timedeltas(
                min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)
            ),
        )
    )
    | st.dates()
    | st.times()
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(list(Color) + list(Level))
)
hashables = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(max_size=10)
    | st.uuids()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
        | st.dictionaries(
            st.integers(min_value=-1000, max_value=1000), children, max_size=4
        )
        | st.frozensets(hashables, max_size=4)
        | st.sets(hashables, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=values)
async def test_property_values_come_back_as_in_memory_saver_returns_them(
    asaver, thread_id, value
):
    ours, theirs = await round_trip(asaver, value, thread_id)
    assert_same(ours, theirs)


# -- serde options ---------------------------------------------------------------


async def test_with_allowlist_still_works(redis_url, prefix, thread_id):
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, serde=strict, **saver_prefixes(prefix)
    ) as saver:
        try:
            value = Record(uuid.UUID(int=3), decimal.Decimal("2.50"), ["a"])
            await saver.aput(
                cfg(thread_id), make_cp(value), {}, {"value": 1, "plain": 1}
            )
            # the strict serde refuses the unregistered type
            blocked = await saver.aget_tuple(cfg(thread_id))
            assert blocked is not None
            assert not isinstance(
                blocked.checkpoint["channel_values"].get("value"), Record
            )
            allowed = saver.with_allowlist([(Record.__module__, "Record")])
            assert isinstance(allowed, AsyncShallowRedisSaver)
            tup = await allowed.aget_tuple(cfg(thread_id))
            assert tup is not None
            assert tup.checkpoint["channel_values"]["value"] == value
            assert type(tup.checkpoint["channel_values"]["value"]) is Record
            # the clone writes and reads like the saver it came from
            await allowed.aput(cfg(thread_id, "sub"), make_cp(value), {}, {"value": 1})
            tup = await allowed.aget_tuple(cfg(thread_id, "sub"))
            assert (
                tup is not None and tup.checkpoint["channel_values"]["value"] == value
            )
        finally:
            await drop(saver, prefix)


async def test_with_allowlist_on_the_default_serde(asaver, thread_id):
    allowed = asaver.with_allowlist([(Record.__module__, "Record")])
    value = Record(uuid.UUID(int=4), decimal.Decimal("1.00"), [])
    await allowed.aput(cfg(thread_id), make_cp(value), {}, {"value": 1, "plain": 1})
    for reader in (allowed, asaver):
        tup = await reader.aget_tuple(cfg(thread_id))
        assert tup is not None and tup.checkpoint["channel_values"]["value"] == value


FILLER = "the same words again and again, so that they compress well. " * 8
"""Makes every value below large and compressible: with a threshold of 0 a
value is still stored plain when compressing saves fewer than 16 bytes."""

OUTSIDE_ALLOWLIST: dict[str, Any] = {
    "dataclass": Record(uuid.UUID(int=9), decimal.Decimal("9.90"), [FILLER]),
    "pydantic": Model(name=FILLER, tags=["t"], when=VALUES["datetime_tz"]),
    "enums": {"color": Color.RED, "level": Level.HIGH, "text": FILLER},
    "namedtuple": Point(FILLER, [Color.BLUE]),
    "nested": {
        "records": [Record(uuid.UUID(int=1), decimal.Decimal("0.10"), [FILLER])],
        "models": (Model(name="m", tags=[FILLER], when=VALUES["datetime_utc"]),),
        "allowed": [uuid.UUID(int=2), decimal.Decimal("1.10"), {1, 2}],
    },
}
"""Values of types outside the strict serde's allowlist (``SAFE_MSGPACK_TYPES``),
each holding some of the allowed types too."""

ALLOWLIST = [
    (Record.__module__, "Record"),
    (Model.__module__, "Model"),
    (Color.__module__, "Color"),
    (Level.__module__, "Level"),
    (Point.__module__, "Point"),
]


def strict_serde(how: str, monkeypatch: pytest.MonkeyPatch) -> JsonPlusSerializer:
    """A strict ``JsonPlusSerializer``, by argument or by environment.

    LangGraph reads ``LANGGRAPH_STRICT_MSGPACK`` once, when
    ``langgraph.checkpoint.serde._msgpack`` is imported (its
    ``STRICT_MSGPACK_ENABLED``); a ``JsonPlusSerializer`` built without
    ``allowed_msgpack_modules`` consults that flag when it is built. Setting
    the variable in a test therefore changes nothing by itself, and the
    savers' default serde (``BaseCheckpointSaver.serde``) was built at import,
    permissive. So the variable is set, LangGraph's own ``_msgpack`` source
    is run again as a separate module to read it exactly as LangGraph does,
    the flag it computed replaces the imported one (``monkeypatch`` undoes
    both), and the serde is built afterwards without the argument.
    """
    if how == "argument":
        return JsonPlusSerializer(allowed_msgpack_modules=None)
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    spec = importlib.util.spec_from_file_location(
        "lgshallow_msgpack_env_probe", lg_msgpack.__file__
    )
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert fresh.STRICT_MSGPACK_ENABLED is True
    monkeypatch.setattr(
        lg_msgpack, "STRICT_MSGPACK_ENABLED", fresh.STRICT_MSGPACK_ENABLED
    )
    return JsonPlusSerializer()


@pytest.mark.parametrize("how", ["argument", "environment"])
@pytest.mark.parametrize("name", list(OUTSIDE_ALLOWLIST))
async def test_strict_serde_with_compression_forced_on(
    redis_url, aclient, prefix, thread_id, monkeypatch, how, name
):
    """Values of types outside the allowlist, stored compressed, come back as
    ``InMemorySaver`` with the same strict serde returns them; through
    ``with_allowlist`` they come back as they were."""
    serde = strict_serde(how, monkeypatch)
    value = OUTSIDE_ALLOWLIST[name]
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url,
        serde=serde,
        compression=Compression(threshold=0),
        **saver_prefixes(prefix),
    ) as saver:
        await saver.asetup()
        try:
            mem = InMemorySaver(serde=serde)
            ours, theirs = await round_trip(saver, value, thread_id, mem)
            assert_same(ours, theirs)
            # the serde is strict: the value did not come back as it was
            # (else the comparison above would prove nothing)
            blocked = ours.checkpoint["channel_values"]["value"]
            assert not same(blocked, tuples_as_lists(value))

            # every stored value and write went through compression
            hk = saver.keys.for_namespace(thread_id, "")[0]
            stored = await aclient.hget(hk, value_field("value", 1))
            assert stored is not None and is_envelope(stored)
            assert stored.startswith(ENVELOPE + ZSTD)
            records = [
                await aclient.hget(hk, f) for f in await write_fields(aclient, hk)
            ]
            assert len(records) == 2
            for record in records:
                assert unpack_write(record)[2].startswith(ENVELOPE + ZSTD)

            # with the types allowed, they come back as they were, as from
            # InMemorySaver given the same allowlist
            allowed = saver.with_allowlist(ALLOWLIST)
            assert isinstance(allowed, AsyncShallowRedisSaver)
            assert allowed.compression == Compression(threshold=0)
            revived = await allowed.aget_tuple(cfg(thread_id))
            mem_revived = mem.with_allowlist(ALLOWLIST).get_tuple(cfg(thread_id))
            assert revived is not None and mem_revived is not None
            assert_same(revived, mem_revived)
            got = revived.checkpoint["channel_values"]["value"]
            assert same(got, tuples_as_lists(value))
            assert same(revived.pending_writes[0][2], got)
            assert same(revived.metadata["value"], got)
            # the saver itself stays strict
            again = await saver.aget_tuple(cfg(thread_id))
            assert again is not None
            assert same(again.checkpoint["channel_values"]["value"], blocked)
        finally:
            await drop(saver, prefix)


async def hash_contents(aclient: AsyncRedis, prefix: str) -> bytes:
    """Every field and value of every key under ``prefix``, concatenated."""
    out = b""
    async for key in aclient.scan_iter(match=prefix + ":*"):
        if not is_data_key(key):
            continue
        kind = await aclient.type(key)
        if kind == b"hash":
            for field, value in (await aclient.hgetall(key)).items():
                out += field + b"\x00" + value + b"\x00"
        elif kind == b"set":
            out += b"".join(await aclient.smembers(key))
    return out


async def test_encrypted_serializer(redis_url, aclient, prefix, thread_id):
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    serde = EncryptedSerializer.from_pycryptodome_aes(
        key=b"0123456789abcdef0123456789abcdef"
    )
    secret = "TOP-SECRET-PLAINTEXT-4c1f"
    async with AsyncShallowRedisSaver.from_conn_string(
        redis_url, serde=serde, **saver_prefixes(prefix)
    ) as saver:
        await saver.asetup()
        try:
            mem = InMemorySaver(serde=serde)
            value = {
                "secret": secret,
                "when": VALUES["datetime_tz"],
                "n": decimal.Decimal("1.10"),
            }
            cp = make_cp(value)
            config = cfg(thread_id)
            stored = await saver.aput(
                config, cp, {"note": secret}, {"value": 1, "plain": 1}
            )
            mem.put(config, cp, {"note": secret}, {"value": 1, "plain": 1})
            await saver.aput_writes(stored, [("value", secret)], "task-1")
            mem.put_writes(stored, [("value", secret)], "task-1")
            ours = await saver.aget_tuple(config)
            theirs = mem.get_tuple(config)
            assert ours is not None and theirs is not None
            assert_same(ours, theirs)
            assert ours.checkpoint["channel_values"]["value"] == value
            assert ours.pending_writes == [("task-1", "value", secret)]
            assert ours.metadata["note"] == secret

            stored_bytes = await hash_contents(aclient, prefix)
            assert stored_bytes, "nothing was stored"
            assert secret.encode() not in stored_bytes
            assert b"msgpack+aes" in stored_bytes  # the serde's type tag is kept

            # a saver without the key cannot read the values
            async with AsyncShallowRedisSaver.from_conn_string(
                redis_url, **saver_prefixes(prefix)
            ) as plain:
                with pytest.raises(Exception, match=r"msgpack\+aes"):
                    await plain.aget_tuple(config)
        finally:
            await drop(saver, prefix)
