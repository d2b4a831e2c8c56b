"""Sync half of the test twins (the async half is ``_io_async.py``)."""

from __future__ import annotations

from typing import Any

from redis import ConnectionPool, Redis
from redis.connection import Connection

__all__ = ["Redis", "RoundTrips", "counting_client"]


class RoundTrips:
    """Counts the requests a client sends (each one waits for its replies)."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0
        self.bytes = 0


def counting_client(url: str, **kwargs: Any) -> tuple[Redis, RoundTrips]:
    """A real client whose connections count what they send."""
    trips = RoundTrips()

    class CountingConnection(Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            trips.count += 1
            trips.bytes += sum(len(c) for c in command) if isinstance(command, list) else len(command)
            super().send_packed_command(command, check_health)

    pool = ConnectionPool.from_url(url, connection_class=CountingConnection, **kwargs)
    return Redis(connection_pool=pool), trips
