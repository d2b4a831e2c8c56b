# This file is generated from tests/_async/test_api.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The saver's API: construction, from_conn_string, setup, config validation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from langgraph.checkpoint.redis_shallow import (
    InvalidConfigError,
    ShallowRedisSaver,
)
from tests._io_sync import Redis, counting_client, gather, sleep
from tests._sync.conftest import drop
from tests.builders import cfg, checkpoint, layout_key, saver_prefixes

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens there: any command would fail


def client_names(client: Redis) -> list[str]:
    """Names of the connections the server has open."""
    return [c.get("name", "") for c in client.client_list()]


def wait_until_gone(client: Redis, name: str) -> bool:
    """Whether the server drops every connection named ``name`` within ~2 s."""
    for _ in range(40):
        if name not in client_names(client):
            return True
        sleep(0.05)
    return False


def prefix_keys(client: Redis, prefix: str) -> list[bytes]:
    """The data keys of a test's prefixes (the layout version that ``setup``
    records is not data)."""
    layout = layout_key(prefix)
    return [k for k in client.scan_iter(match=prefix + ":*") if k != layout]


# -- from_conn_string ----------------------------------------------------------


def test_from_conn_string_closes_the_client_it_created(redis_url, client, prefix):
    name = "own-" + uuid.uuid4().hex[:12]
    with ShallowRedisSaver.from_conn_string(
        redis_url, connection_args={"client_name": name}, **saver_prefixes(prefix)
    ) as saver:
        saver.setup()
        saver.put(cfg("t"), checkpoint(), {}, {"a": 1})
        assert name in client_names(client)
        drop(saver, prefix)
    assert wait_until_gone(client, name), "the saver left its connection open"


def test_from_conn_string_never_closes_a_client_passed_in(redis_url, client, prefix):
    name = "user-" + uuid.uuid4().hex[:12]
    user_client = Redis.from_url(redis_url, client_name=name)
    try:
        assert user_client.ping()
        with ShallowRedisSaver.from_conn_string(
            redis_client=user_client, **saver_prefixes(prefix)
        ) as saver:
            assert saver.client is user_client
            saver.setup()
            saver.put(cfg("t"), checkpoint(), {}, {"a": 1})
            drop(saver, prefix)
        # the connection is still the one it had: nothing closed it
        assert name in client_names(client)
        assert user_client.ping()
        # and the saver's own close leaves it alone too
        saver = ShallowRedisSaver(redis_client=user_client)
        saver.close()
        assert name in client_names(client)
        assert user_client.ping()
    finally:
        user_client.close()


def test_from_conn_string_closes_its_client_when_the_block_raises(redis_url, client):
    name = "raise-" + uuid.uuid4().hex[:12]
    with pytest.raises(KeyError):
        with ShallowRedisSaver.from_conn_string(
            redis_url, connection_args={"client_name": name}
        ) as saver:
            saver.get_tuple(cfg("never-stored-" + uuid.uuid4().hex))
            raise KeyError("boom")
    assert wait_until_gone(client, name)


# -- setup ------------------------------------------------------------------------


def test_setup_is_idempotent(saver, thread_id):
    saver.put(cfg(thread_id), checkpoint(), {"step": 1}, {"a": 1})
    for _ in range(3):
        saver.setup()
    tup = saver.get_tuple(cfg(thread_id))
    assert tup is not None and tup.checkpoint["channel_values"] == {"a": 1}


def test_setup_is_safe_concurrently(redis_url, prefix, thread_id, has_search, client):
    savers = [ShallowRedisSaver(redis_url, **saver_prefixes(prefix)) for _ in range(5)]
    try:
        # five processes' worth of savers, none set up, all at once
        gather(*[saver.setup for saver in savers])
        # and one saver running its setup five times at once
        gather(*[savers[0].setup] * 5)
        savers[1].put(cfg(thread_id), checkpoint(), {"step": 1}, {"a": 1})
        for saver in savers:
            tup = saver.get_tuple(cfg(thread_id))
            assert tup is not None and tup.metadata["step"] == 1
        if has_search:
            indexes = [
                i.decode() if isinstance(i, bytes) else i
                for i in client.execute_command("FT._LIST")
            ]
            assert indexes.count(savers[0].keys.index_name) == 1
            listed = [t for t in savers[2].list(None, filter={"step": 1})]
            assert [t.config["configurable"]["thread_id"] for t in listed] == [
                thread_id
            ]
    finally:
        drop(savers[0], prefix)
        for saver in savers:
            saver.close()


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
def test_constructor_errors(kwargs, message):
    with pytest.raises(InvalidConfigError) as info:
        ShallowRedisSaver(**kwargs)
    assert message in str(info.value)
    # from_conn_string refuses the same, before yielding anything
    with pytest.raises(InvalidConfigError):
        with ShallowRedisSaver.from_conn_string(**kwargs):
            pytest.fail("from_conn_string yielded a saver for a bad config")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"redis_url": UNREACHABLE}, "not both", id="url and client"),
        pytest.param({"ttl": {"default_ttl": -1}}, "positive", id="bad ttl"),
        pytest.param({"checkpoint_prefix": "{"}, "'{'", id="bad prefix"),
    ],
)
def test_constructor_errors_with_a_client_send_nothing(redis_url, kwargs, message):
    client, trips = counting_client(redis_url)
    try:
        with pytest.raises(InvalidConfigError) as info:
            ShallowRedisSaver(redis_client=client, **kwargs)
        assert message in str(info.value)
        assert trips.count == 0
    finally:
        client.close()


def test_client_with_decode_responses_is_refused(redis_url):
    client, trips = counting_client(redis_url, decode_responses=True)
    try:
        with pytest.raises(InvalidConfigError, match="decode_responses"):
            ShallowRedisSaver(redis_client=client)
        assert trips.count == 0
    finally:
        client.close()


def test_valid_ttl_and_prefixes_are_accepted():
    saver = ShallowRedisSaver(
        UNREACHABLE,
        ttl={"default_ttl": 0.5, "refresh_on_read": True},
        checkpoint_prefix="app:cp",
        checkpoint_write_prefix="app:w",
    )
    assert saver.ttl.ms == 30_000 and saver.ttl.refresh_on_read
    assert ShallowRedisSaver(UNREACHABLE, ttl={}).ttl.ms is None
    assert ShallowRedisSaver(UNREACHABLE, ttl=None).ttl.ms is None


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
def test_bad_configs_raise_and_write_nothing(counted, client, prefix, config, message):
    saver, trips = counted
    # something already stored, to see that nothing changes
    saver.put(cfg("t"), checkpoint(), {}, {"a": 1})
    before = sorted(prefix_keys(client, prefix))
    trips.reset()
    cp = checkpoint()
    with pytest.raises(InvalidConfigError, match=message):
        saver.put(config, cp, {}, {"a": 1})
    with pytest.raises(InvalidConfigError, match=message):
        saver.put_writes(config, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match=message):
        saver.get_tuple(config)
    assert trips.count == 0, "a command was sent for a bad config"
    assert sorted(prefix_keys(client, prefix)) == before


def test_put_writes_needs_a_checkpoint_id(counted, client, prefix):
    saver, trips = counted
    for config in (cfg("t"), {"configurable": {"thread_id": "t", "checkpoint_id": ""}}):
        with pytest.raises(InvalidConfigError, match="checkpoint_id"):
            saver.put_writes(config, [("a", 1)], "task")
    with pytest.raises(InvalidConfigError, match="task_id"):
        saver.put_writes(
            {"configurable": {"thread_id": "t", "checkpoint_id": "x"}}, [("a", 1)], 7
        )
    assert trips.count == 0
    assert prefix_keys(client, prefix) == []


def test_delete_thread_refuses_a_bad_thread_id(counted):
    saver, trips = counted
    for bad in (None, True, 1.5, b"bytes"):
        with pytest.raises(InvalidConfigError, match="thread_id"):
            saver.delete_thread(bad)
    assert trips.count == 0


# -- prune strategies ------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["delete", "delete_all"])
def test_prune_delete_and_delete_all_delete_the_threads(
    saver, client, prefix, strategy
):
    """``"delete_all"`` (what the LangGraph server's gRPC runtime sends) and
    ``"delete"`` delete the named threads whole, as ``adelete_thread`` does,
    and leave the other threads alone."""
    doomed, kept = f"prune-{uuid.uuid4().hex[:8]}", f"kept-{uuid.uuid4().hex[:8]}"
    for tid in (doomed, kept):
        for ns in ("", "child"):
            cp = checkpoint()
            stored = saver.put(cfg(tid, ns), cp, {}, cp["channel_versions"])
            saver.put_writes(stored, [("a", 2)], "task-1")
    kept_before = saver.get_tuple(cfg(kept))
    saver.prune([doomed], strategy=strategy)
    assert saver.get_tuple(cfg(doomed)) is None
    assert saver.get_tuple(cfg(doomed, "child")) is None
    assert [t for t in saver.list(cfg(doomed))] == []
    left = [k for k in prefix_keys(client, prefix) if doomed.encode() in k]
    assert left == [saver.keys.tombstone(doomed).encode()]
    assert saver.get_tuple(cfg(kept)) == kept_before


def test_prune_refuses_an_unknown_strategy_naming_the_known_ones(counted):
    saver, trips = counted
    with pytest.raises(InvalidConfigError) as info:
        saver.prune(["t"], strategy="delete-all")
    assert "'keep_latest', 'delete', 'delete_all'" in str(info.value)
    assert "'delete-all'" in str(info.value)
    assert trips.count == 0
