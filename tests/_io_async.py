"""Async half of the test twins (the sync half is ``_io_sync.py``).

Tests in ``_async/`` import these names; the generated tests in ``_sync/``
import the same names from ``_io_sync``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry

__all__ = [
    "AsyncRedis",
    "BlockingConnectionPool",
    "Retry",
    "RoundTrips",
    "counting_client",
    "gather",
    "run_concurrently",
    "sleep",
]


class RoundTrips:
    """Counts the requests a client sends (each one waits for its replies)."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0
        self.bytes = 0


def counting_client(url: str, **kwargs: Any) -> tuple[AsyncRedis, RoundTrips]:
    """A real client whose connections count what they send."""
    trips = RoundTrips()

    class CountingConnection(Connection):
        async def send_packed_command(
            self, command: Any, check_health: bool = True
        ) -> None:
            trips.count += 1
            trips.bytes += (
                sum(len(c) for c in command)
                if isinstance(command, list)
                else len(command)
            )
            await super().send_packed_command(command, check_health)

    pool = ConnectionPool.from_url(url, connection_class=CountingConnection, **kwargs)
    return AsyncRedis(connection_pool=pool), trips


async def gather(*fns: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run zero-argument callables concurrently; their results, in order."""
    return list(await asyncio.gather(*(fn() for fn in fns)))


async def run_concurrently(fns: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run every callable at once (one task each); their results, in order."""
    return list(await asyncio.gather(*(fn() for fn in fns)))


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking other tasks."""
    await asyncio.sleep(seconds)
