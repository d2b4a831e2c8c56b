"""Both savers offer the same API: every async method has its sync twin,
and each class serves both (its own API, and the other's through the
``OtherApi`` mixin of its twin module).

Hand-written (not generated): it compares the two classes with each other
and with upstream ``langgraph-checkpoint-redis``'s shallow savers.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from langgraph.checkpoint.redis_shallow import AsyncShallowRedisSaver, ShallowRedisSaver


def owner(cls: type, name: str) -> type:
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    raise AttributeError(name)


def api(cls: type, *, other: bool = False) -> dict[str, Any]:
    """Public attributes of ``cls``: its own API, or (``other``) only those
    its ``OtherApi`` mixin adds."""
    return {
        name: inspect.getattr_static(cls, name)
        for name in dir(cls)
        if not name.startswith("_")
        and (owner(cls, name).__name__ == "OtherApi") == other
    }


def unwrap(attr: Any) -> Any:
    if isinstance(attr, (classmethod, staticmethod)):
        attr = attr.__func__
    return inspect.unwrap(attr)


def is_async(attr: Any) -> bool:
    func = unwrap(attr)
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


def sync_name(name: str, attr: Any) -> str:
    """The sync twin of an async class attribute."""
    return name[1:] if is_async(attr) and name.startswith("a") else name


ASYNC_API = api(AsyncShallowRedisSaver)
SYNC_API = api(ShallowRedisSaver)
ASYNC_OTHER = api(AsyncShallowRedisSaver, other=True)
SYNC_OTHER = api(ShallowRedisSaver, other=True)


def test_the_async_class_has_async_methods():
    assert {
        "aget_tuple",
        "aput",
        "aput_writes",
        "alist",
        "adelete_thread",
        "asetup",
    } <= set(ASYNC_API)
    assert all(
        is_async(ASYNC_API[n]) for n in ("aget_tuple", "aput", "alist", "asetup")
    )


@pytest.mark.parametrize("name", sorted(ASYNC_API))
def test_every_async_name_has_its_sync_twin(name):
    attr = ASYNC_API[name]
    twin = sync_name(name, attr)
    assert twin in SYNC_API, f"ShallowRedisSaver has no {twin!r} (twin of {name!r})"
    assert not is_async(SYNC_API[twin]), f"ShallowRedisSaver.{twin} is async"
    if callable(unwrap(attr)) and not isinstance(attr, type):
        ours = list(inspect.signature(unwrap(attr)).parameters)
        theirs = list(inspect.signature(unwrap(SYNC_API[twin])).parameters)
        assert ours == theirs, f"{name} {ours} != {twin} {theirs}"


@pytest.mark.parametrize("name", sorted(SYNC_API))
def test_every_sync_name_has_its_async_twin(name):
    twins = [n for n, attr in ASYNC_API.items() if name in (n, sync_name(n, attr))]
    assert twins, f"AsyncShallowRedisSaver has no twin of ShallowRedisSaver.{name}"


CHECKPOINTER_API = [
    "get_tuple",
    "list",
    "put",
    "put_writes",
    "delete_thread",
    "delete_for_runs",
    "copy_thread",
    "prune",
    "setup",
    "copy_from",
    "get_delta_channel_history",
]


@pytest.mark.parametrize("name", CHECKPOINTER_API)
def test_each_class_serves_both_apis(name):
    """The async class has the sync method and the sync class the async one,
    with the same parameters as the other class's own."""
    sync_attr = ASYNC_OTHER[name]
    async_attr = SYNC_OTHER["a" + name]
    assert not is_async(sync_attr) and is_async(async_attr)
    for mine, theirs in (
        (sync_attr, SYNC_API[name]),
        (async_attr, ASYNC_API["a" + name]),
    ):
        assert list(inspect.signature(unwrap(mine)).parameters) == list(
            inspect.signature(unwrap(theirs)).parameters
        )


def test_the_other_api_adds_nothing_else():
    assert set(ASYNC_OTHER) == set(CHECKPOINTER_API)
    assert set(SYNC_OTHER) == {"a" + n for n in CHECKPOINTER_API} | {"aclose"}


def test_constructors_take_the_same_arguments():
    a = inspect.signature(AsyncShallowRedisSaver.__init__).parameters
    s = inspect.signature(ShallowRedisSaver.__init__).parameters
    assert list(a) == list(s)
    assert [p.kind for p in a.values()] == [p.kind for p in s.values()]
    assert list(a) == [
        "self",
        "redis_url",
        "redis_client",
        "connection_args",
        "ttl",
        "key_cache_max_size",
        "channel_cache_max_size",
        "checkpoint_prefix",
        "checkpoint_write_prefix",
        "serde",
        "other_api_client",
        "tracing",
        "trace_thread_ids",
        "tracer_provider",
        "compression",
        "wait_for_replicas",
        "wait_timeout",
        "wait_for_aof",
        "keep_last",
    ]
    f_a = inspect.signature(unwrap(vars(AsyncShallowRedisSaver)["from_conn_string"]))
    f_s = inspect.signature(unwrap(vars(ShallowRedisSaver)["from_conn_string"]))
    assert list(f_a.parameters) == list(f_s.parameters) == ["cls", *list(a)[1:]]


UPSTREAM = [
    ("langgraph.checkpoint.redis.shallow", "ShallowRedisSaver"),
    ("langgraph.checkpoint.redis.ashallow", "AsyncShallowRedisSaver"),
]


@pytest.mark.parametrize(("module", "name"), UPSTREAM)
@pytest.mark.parametrize("method", ["__init__", "from_conn_string"])
def test_every_upstream_argument_is_accepted(module, name, method):
    """Every argument of ``langgraph-checkpoint-redis`` 0.5.2's shallow
    savers (constructor and ``from_conn_string``) is a parameter of both of
    ours, of the same kind (positional or keyword-only) and default."""
    import importlib

    upstream = getattr(importlib.import_module(module), name)
    theirs = inspect.signature(unwrap(vars(upstream)[method])).parameters
    for cls in (AsyncShallowRedisSaver, ShallowRedisSaver):
        ours = inspect.signature(unwrap(vars(cls)[method])).parameters
        for arg, param in theirs.items():
            assert arg in ours, f"{cls.__name__}.{method} lacks {arg!r}"
            assert ours[arg].kind == param.kind, arg
            if arg not in ("checkpoint_prefix", "checkpoint_write_prefix"):
                assert ours[arg].default == param.default, arg
