"""Both savers offer the same API: every async method has its sync twin.

Hand-written (not generated): it compares the two classes with each other.
Methods the ``WrongApiGuard`` of a variant adds (the refusals) do not count
as that variant's API.
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


def api(cls: type) -> dict[str, Any]:
    """Public attributes of ``cls`` that work (refusals left out)."""
    return {
        name: inspect.getattr_static(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and owner(cls, name).__name__ != "WrongApiGuard"
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
    twins = [n for n, attr in ASYNC_API.items() if sync_name(n, attr) == name]
    assert twins, f"AsyncShallowRedisSaver has no twin of ShallowRedisSaver.{name}"


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
        "checkpoint_prefix",
        "checkpoint_write_prefix",
        "serde",
    ]
    f_a = inspect.signature(unwrap(vars(AsyncShallowRedisSaver)["from_conn_string"]))
    f_s = inspect.signature(unwrap(vars(ShallowRedisSaver)["from_conn_string"]))
    assert list(f_a.parameters) == list(f_s.parameters) == ["cls", *list(a)[1:]]
