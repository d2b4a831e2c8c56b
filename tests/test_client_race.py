"""Which errors the savers take for a lost connection, and the one place
that turns Redis errors into ``StorageError``.

When a node dies while redis-py reconnects or re-reads a cluster's nodes,
redis-py can fail with errors of its own instead of ``ConnectionError``:
``AttributeError`` (its stream writer already ``None``) and, in redis-py
6.0's sync cluster client shared by threads, ``RuntimeError: dictionary
changed size during iteration``. The savers turn those, and only those,
into ``StorageError``; any other ``RuntimeError`` still propagates. The
failover tests (``test_failover.py``) meet them under load; this checks the
rule itself (``errors.client_races``, ``errors.storage_errors``, which both
generated variants use).
"""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from langgraph.checkpoint.redis_shallow.errors import (
    DEMOTED_PRIMARY,
    ReplicationError,
    StorageError,
    client_race,
    client_races,
    lost_connection,
    off_the_primary,
    storage_errors,
)


def test_only_redis_py_races_count_as_a_lost_connection() -> None:
    assert client_race(
        AttributeError("'NoneType' object has no attribute 'writelines'")
    )
    assert client_race(RuntimeError("dictionary changed size during iteration"))
    assert not client_race(RuntimeError("Event loop is closed"))
    assert not client_race(ValueError("dictionary changed size during iteration"))
    error = lost_connection(RuntimeError("dictionary changed size during iteration"))
    assert isinstance(error, RedisConnectionError)
    assert "RuntimeError: dictionary changed size during iteration" in str(error)


def test_a_race_in_a_read_becomes_a_storage_error_naming_it() -> None:
    race = RuntimeError("dictionary changed size during iteration")
    with pytest.raises(StorageError) as info:
        with storage_errors("aget_tuple", "t-1"), client_races():
            raise race
    lost = info.value.__cause__
    assert isinstance(lost, RedisConnectionError) and lost.__cause__ is race
    assert "aget_tuple" in str(info.value) and "'t-1'" in str(info.value)


def test_only_redis_errors_are_mapped() -> None:
    with pytest.raises(StorageError) as info:
        with storage_errors("aput", None):
            raise ResponseError("OOM command not allowed")
    assert isinstance(info.value.__cause__, ResponseError)
    for other in (RuntimeError("Event loop is closed"), ValueError("bad")):
        with pytest.raises(type(other)):
            with storage_errors("aput", None), client_races():
                raise other


@pytest.mark.parametrize(
    ("exc", "moved"),
    [
        (ReplicationError(0, 1, 0.5), True),
        (ReadOnlyError("You can't write against a read only replica."), True),
        (RedisConnectionError(DEMOTED_PRIMARY), True),
        (ResponseError("NOREPLICAS Not enough good replicas to write."), True),
        (
            ResponseError(
                "Error running script (call to f_0): @user_script:1: "
                "NOREPLICAS Not enough good replicas to write."
            ),
            True,
        ),
        (RedisConnectionError("Connection closed by server."), False),
        (ResponseError("OOM command not allowed"), False),
        (RuntimeError("NOREPLICAS"), False),
    ],
)
def test_which_refusals_send_a_write_to_ask_the_sentinels(
    exc: Exception, moved: bool
) -> None:
    """The errors after which a saver on a Sentinel URL asks whether the
    primary moved (docs/reliability.md, "Partitions"); not after others."""
    assert off_the_primary(exc) is moved
