"""Async half of the test twins (the sync half is ``_io_sync.py``).

Tests in ``_async/`` import these names; the generated tests in ``_sync/``
import the same names from ``_io_sync``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry

__all__ = [
    "AsyncRedis",
    "BlockingConnectionPool",
    "RedisCluster",
    "Retry",
    "RoundTrips",
    "cluster_client",
    "counting_client",
    "gather",
    "in_thread",
    "run_concurrently",
    "sleep",
    "sqlite_saver",
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


def _counting_connection(trips: RoundTrips) -> type[Connection]:
    """A connection class that counts in ``trips`` what it sends."""

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

    return CountingConnection


def counting_client(url: str, **kwargs: Any) -> tuple[AsyncRedis, RoundTrips]:
    """A real client whose connections count what they send."""
    trips = RoundTrips()
    pool = ConnectionPool.from_url(
        url, connection_class=_counting_connection(trips), **kwargs
    )
    return AsyncRedis(connection_pool=pool), trips


def cluster_client(
    host: str, port: int, trips: RoundTrips | None = None
) -> RedisCluster:
    """A Redis Cluster client found from one node; with ``trips``, its
    connections (to every node) count what they send."""
    client = RedisCluster(host=host, port=port)
    if trips is not None:
        # this client takes no connection_class: set it where the nodes,
        # the given one and those found later, take it from
        counting = _counting_connection(trips)
        client.connection_kwargs["connection_class"] = counting
        for node in client.nodes_manager.startup_nodes.values():
            node.connection_class = counting
    return client


async def gather(*fns: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run zero-argument callables concurrently; their results, in order."""
    return list(await asyncio.gather(*(fn() for fn in fns)))


async def run_concurrently(fns: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run every callable at once (one task each); their results, in order."""
    return list(await asyncio.gather(*(fn() for fn in fns)))


async def in_thread(fn: Callable[[], Any]) -> Any:
    """Run the blocking ``fn`` in a thread of its own (the event loop goes on)."""
    return await asyncio.to_thread(fn)


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking other tasks."""
    await asyncio.sleep(seconds)


@asynccontextmanager
async def sqlite_saver() -> AsyncIterator[AsyncSqliteSaver]:
    """LangGraph's SQLite saver on an in-memory database (a foreign saver)."""
    async with AsyncSqliteSaver.from_conn_string(":memory:") as saver:
        yield saver
