"""``server_checkpointer``: the factory ``langgraph.json`` names, configured
from the environment (the server itself: tests/test_langgraph_server.py)."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    Compression,
    InvalidConfigError,
    StorageError,
    server_checkpointer,
)
from langgraph.checkpoint.redis_shallow.server import (
    DEFAULT_REDIS_URL,
    ServerSettings,
    settings_from_env,
)

ENV_NAMES = (
    "REDIS_URL",
    "LANGGRAPH_REDIS_TTL_MINUTES",
    "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ",
    "LANGGRAPH_REDIS_CHECKPOINT_PREFIX",
    "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX",
    "LANGGRAPH_REDIS_COMPRESSION",
    "LANGGRAPH_REDIS_COMPRESSION_THRESHOLD",
    "LANGGRAPH_REDIS_COMPRESSION_LEVEL",
    "LANGGRAPH_REDIS_WAIT_FOR_REPLICAS",
    "LANGGRAPH_REDIS_WAIT_TIMEOUT",
    "LANGGRAPH_REDIS_WAIT_FOR_AOF",
    "LANGGRAPH_REDIS_TRACE_THREAD_IDS",
    "LANGGRAPH_REDIS_KEEP_LAST",
)


def test_defaults() -> None:
    settings = settings_from_env({})
    assert settings == ServerSettings()
    assert settings.redis_url == DEFAULT_REDIS_URL == "redis://localhost:6379"
    assert settings.ttl is None
    assert settings.checkpoint_prefix == "lgshallow:cp"
    assert settings.checkpoint_write_prefix == "lgshallow:w"


def test_empty_values_count_as_unset() -> None:
    assert settings_from_env({name: " " for name in ENV_NAMES}) == ServerSettings()


def test_every_variable() -> None:
    settings = settings_from_env(
        {
            "REDIS_URL": "redis://cache:6380/2",
            "LANGGRAPH_REDIS_TTL_MINUTES": "90",
            "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ": "TRUE",
            "LANGGRAPH_REDIS_CHECKPOINT_PREFIX": "app:cp",
            "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX": "app:w",
            "LANGGRAPH_REDIS_COMPRESSION": "on",
            "LANGGRAPH_REDIS_COMPRESSION_THRESHOLD": "1024",
            "LANGGRAPH_REDIS_COMPRESSION_LEVEL": "3",
            "LANGGRAPH_REDIS_WAIT_FOR_REPLICAS": "2",
            "LANGGRAPH_REDIS_WAIT_TIMEOUT": "0.25",
            "LANGGRAPH_REDIS_WAIT_FOR_AOF": "yes",
            "LANGGRAPH_REDIS_TRACE_THREAD_IDS": "true",
            "LANGGRAPH_REDIS_KEEP_LAST": "10",
        }
    )
    assert settings.saver_kwargs() == {
        "redis_url": "redis://cache:6380/2",
        "ttl": {"default_ttl": 90, "refresh_on_read": True},
        "checkpoint_prefix": "app:cp",
        "checkpoint_write_prefix": "app:w",
        "compression": Compression(threshold=1024, level=3),
        "wait_for_replicas": 2,
        "wait_timeout": 0.25,
        "wait_for_aof": True,
        "trace_thread_ids": True,
        "keep_last": 10,
    }
    ttl = settings_from_env({"LANGGRAPH_REDIS_TTL_MINUTES": "0.5"}).ttl
    assert ttl == {"default_ttl": 0.5, "refresh_on_read": False}
    for text, value in (("1", True), ("yes", True), ("off", False), ("0", False)):
        env = {
            "LANGGRAPH_REDIS_TTL_MINUTES": "5",
            "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ": text,
        }
        assert settings_from_env(env).ttl == {
            "default_ttl": 5,
            "refresh_on_read": value,
        }


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LANGGRAPH_REDIS_WAIT_FOR_REPLICAS": "one"}, "WAIT_FOR_REPLICAS"),
        ({"LANGGRAPH_REDIS_WAIT_FOR_REPLICAS": "-1"}, "WAIT_FOR_REPLICAS"),
        ({"LANGGRAPH_REDIS_WAIT_TIMEOUT": "2"}, "WAIT_TIMEOUT is set"),
        (
            {
                "LANGGRAPH_REDIS_WAIT_FOR_REPLICAS": "1",
                "LANGGRAPH_REDIS_WAIT_TIMEOUT": "soon",
            },
            "WAIT_TIMEOUT",
        ),
        (
            {
                "LANGGRAPH_REDIS_WAIT_FOR_REPLICAS": "1",
                "LANGGRAPH_REDIS_WAIT_TIMEOUT": "0",
            },
            "wait_timeout",
        ),
        ({"LANGGRAPH_REDIS_WAIT_FOR_AOF": "maybe"}, "WAIT_FOR_AOF"),
        ({"LANGGRAPH_REDIS_TRACE_THREAD_IDS": "2"}, "TRACE_THREAD_IDS"),
        ({"LANGGRAPH_REDIS_KEEP_LAST": "ten"}, "KEEP_LAST must be an integer"),
        ({"LANGGRAPH_REDIS_KEEP_LAST": "0"}, "KEEP_LAST: keep_last must be"),
        ({"LANGGRAPH_REDIS_KEEP_LAST": "1001"}, "KEEP_LAST: keep_last must be"),
    ],
)
def test_bad_durability_and_tracing_values_name_the_variable(
    env: dict[str, str], names: str
) -> None:
    with pytest.raises(InvalidConfigError, match=names):
        settings_from_env(env)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "ten"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "0"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "-5"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "inf"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "nan"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        ({"LANGGRAPH_REDIS_TTL_MINUTES": "1e-9"}, "LANGGRAPH_REDIS_TTL_MINUTES"),
        (
            {
                "LANGGRAPH_REDIS_TTL_MINUTES": "5",
                "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ": "maybe",
            },
            "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ",
        ),
        (
            {"LANGGRAPH_REDIS_TTL_REFRESH_ON_READ": "true"},
            "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ",
        ),
        (
            {"LANGGRAPH_REDIS_CHECKPOINT_PREFIX": "my app"},
            "LANGGRAPH_REDIS_CHECKPOINT_PREFIX",
        ),
        (
            {"LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX": "{w}"},
            "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX",
        ),
        (
            {
                "LANGGRAPH_REDIS_CHECKPOINT_PREFIX": "app",
                "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX": "app:w",
            },
            "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(InvalidConfigError, match=names):
        settings_from_env(env)


async def test_yields_a_set_up_saver_and_closes_it(
    redis_url: str, prefix: str, thread_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LANGGRAPH_REDIS_TTL_MINUTES", "30")
    monkeypatch.setenv("LANGGRAPH_REDIS_CHECKPOINT_PREFIX", f"{prefix}:cp")
    monkeypatch.setenv("LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX", f"{prefix}:w")
    async with server_checkpointer() as saver:
        assert isinstance(saver, AsyncShallowRedisSaver)
        assert saver.keys.checkpoint_prefix == f"{prefix}:cp"
        assert saver.keys.entry_prefix == f"{prefix}:w"
        assert saver.ttl.ms == 30 * 60_000
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        stored = await saver.aput(config, empty_checkpoint(), {"step": -1}, {})
        got = await saver.aget_tuple(stored)
        assert got is not None
        assert (
            got.config["configurable"]["checkpoint_id"]
            == (stored["configurable"]["checkpoint_id"])
        )
        assert await saver.client.pttl(saver.keys.registry(thread_id)) > 0
        await saver.adelete_thread(thread_id)
        assert all(
            c.is_connected for c in saver.client.connection_pool._available_connections
        )  # type: ignore[union-attr]
    # closed on exit: the saver owns its client
    pool = saver.client.connection_pool  # type: ignore[union-attr]
    assert pool._available_connections
    assert not any(c.is_connected for c in pool._available_connections)


async def test_bad_environment_fails_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "http://not-redis")
    with pytest.raises(InvalidConfigError, match="redis_url"):
        async with server_checkpointer():
            pass  # pragma: no cover


async def test_unreachable_redis_fails_at_setup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")
    with pytest.raises(StorageError):
        async with server_checkpointer():
            pass  # pragma: no cover
