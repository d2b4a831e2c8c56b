"""Redis clients that count what they send: round trips and bytes.

Every call of ``send_packed_command`` is one write to the socket followed by
waiting for the reply (a pipeline is one call), so the number of calls is the
number of round trips. Each client gets its own ``Counter``.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.connection


class Counter:
    """Round trips and bytes sent by one client."""

    __slots__ = ("bytes", "calls")

    def __init__(self) -> None:
        self.calls = 0
        self.bytes = 0

    def snapshot(self) -> tuple[int, int]:
        return self.calls, self.bytes


def _size(command: Any) -> int:
    if isinstance(command, (bytes, bytearray, memoryview)):
        return len(command)
    if isinstance(command, str):
        return len(command.encode())
    return sum(len(part) for part in command)


class _SyncCounting(redis.connection.Connection):
    counter: Counter

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self.counter.calls += 1
        self.counter.bytes += _size(command)
        super().send_packed_command(command, check_health)


class _AsyncCounting(redis.asyncio.connection.Connection):
    counter: Counter

    async def send_packed_command(
        self, command: Any, check_health: bool = True
    ) -> None:
        self.counter.calls += 1
        self.counter.bytes += _size(command)
        await super().send_packed_command(command, check_health)


def sync_client(url: str, **kwargs: Any) -> tuple[redis.Redis, Counter]:
    """A ``redis.Redis`` whose connections count into a fresh ``Counter``."""
    counter = Counter()
    cls = type("CountingConnection", (_SyncCounting,), {"counter": counter})
    pool = redis.ConnectionPool.from_url(url, connection_class=cls, **kwargs)
    return redis.Redis(connection_pool=pool), counter


def async_client(url: str, **kwargs: Any) -> tuple[redis.asyncio.Redis, Counter]:
    """A ``redis.asyncio.Redis`` whose connections count into a fresh ``Counter``."""
    counter = Counter()
    cls = type("AsyncCountingConnection", (_AsyncCounting,), {"counter": counter})
    pool = redis.asyncio.ConnectionPool.from_url(url, connection_class=cls, **kwargs)
    return redis.asyncio.Redis(connection_pool=pool), counter
