"""Sync half of the test twins (the async half is ``_io_async.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from redis import BlockingConnectionPool, ConnectionPool, Redis
from redis.cluster import RedisCluster
from redis.connection import Connection
from redis.retry import Retry

__all__ = [
    "BlockingConnectionPool",
    "Redis",
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
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            trips.count += 1
            trips.bytes += (
                sum(len(c) for c in command)
                if isinstance(command, list)
                else len(command)
            )
            super().send_packed_command(command, check_health)

    return CountingConnection


def counting_client(url: str, **kwargs: Any) -> tuple[Redis, RoundTrips]:
    """A real client whose connections count what they send."""
    trips = RoundTrips()
    pool = ConnectionPool.from_url(
        url, connection_class=_counting_connection(trips), **kwargs
    )
    return Redis(connection_pool=pool), trips


def cluster_client(
    host: str, port: int, trips: RoundTrips | None = None
) -> RedisCluster:
    """A Redis Cluster client found from one node; with ``trips``, its
    connections (to every node) count what they send."""
    if trips is None:
        return RedisCluster(host=host, port=port)
    # only a client made from a URL passes connection_class to its nodes' pools
    return RedisCluster.from_url(
        f"redis://{host}:{port}", connection_class=_counting_connection(trips)
    )


def gather(*fns: Callable[[], Any]) -> list[Any]:
    """Run zero-argument callables concurrently in threads; their results, in order."""
    with ThreadPoolExecutor(max_workers=max(1, len(fns))) as pool:
        futures = [pool.submit(fn) for fn in fns]
        return [f.result() for f in futures]


def run_concurrently(fns: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables on 32 threads at once; their results, in order."""
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(fn) for fn in fns]
        return [f.result() for f in futures]


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run the blocking ``fn`` (already on a thread of its own here)."""
    return fn()


def sleep(seconds: float) -> None:
    """Wait ``seconds``."""
    time.sleep(seconds)


@contextmanager
def sqlite_saver() -> Iterator[SqliteSaver]:
    """LangGraph's SQLite saver on an in-memory database (a foreign saver)."""
    with SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver
