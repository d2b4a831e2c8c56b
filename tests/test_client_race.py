"""Which of redis-py's own errors the savers take for a lost connection.

When a node dies while redis-py reconnects or re-reads a cluster's nodes,
redis-py can fail with errors of its own instead of ``ConnectionError``:
``AttributeError`` (its stream writer already ``None``) and, in redis-py
6.0's sync cluster client shared by threads, ``RuntimeError: dictionary
changed size during iteration``. The savers turn those, and only those,
into ``StorageError``; any other ``RuntimeError`` still propagates. The failover tests (``test_failover.py``) meet them under
load; this checks the rule itself, for both generated variants.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from langgraph.checkpoint.redis_shallow._async import saver as async_saver
from langgraph.checkpoint.redis_shallow._sync import saver as sync_saver


@pytest.mark.parametrize("module", [async_saver, sync_saver], ids=["async", "sync"])
def test_only_redis_py_races_count_as_a_lost_connection(module: Any) -> None:
    race = module._client_race
    lost = module._lost_connection
    assert race(AttributeError("'NoneType' object has no attribute 'writelines'"))
    assert race(RuntimeError("dictionary changed size during iteration"))
    assert not race(RuntimeError("Event loop is closed"))
    assert not race(ValueError("dictionary changed size during iteration"))
    error = lost(RuntimeError("dictionary changed size during iteration"))
    assert isinstance(error, RedisConnectionError)
    assert "RuntimeError: dictionary changed size during iteration" in str(error)
