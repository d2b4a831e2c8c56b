"""Async half of the variant twins: what differs between the two savers.

``_async/`` imports these names from here; the generated ``_sync/`` code
imports the same names from :mod:`._io_sync`. Keep the two files in step:
same names, same shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, cast

from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff

from .config import is_sentinel_url, parse_sentinel_url, sentinel_client_args
from .errors import WrongApiError

__all__ = [
    "AsyncRedis",
    "RedisCluster",
    "SentinelPrimary",
    "WrongApiGuard",
    "make_client",
]


def make_client(url: str, connection_args: dict[str, Any]) -> AsyncRedis:
    """Create the client the saver owns from a URL.

    Unless ``connection_args`` has a ``retry``, connection errors and
    timeouts are retried 3 times with exponential backoff (every operation
    of the saver is idempotent; see docs/reliability.md). redis-py's own
    ``from_url`` default is not to retry.

    A ``redis+sentinel://`` (or ``rediss+sentinel://``) URL gives a client
    of the service's primary, found through the sentinels; see
    :func:`.config.parse_sentinel_url`.
    """
    args = dict(connection_args)
    args.setdefault("retry", Retry(ExponentialBackoff(cap=1.0, base=0.05), 3))
    if is_sentinel_url(url):
        return _sentinel_client(url, args)
    return AsyncRedis.from_url(url, **args)


class SentinelPrimary(AsyncRedis):
    """Client of a Sentinel service's primary; closing it closes the sentinels."""

    owned_sentinel: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close this client, then the sentinel connections it came from."""
        try:
            await super().aclose(close_connection_pool)
        finally:
            sentinel, self.owned_sentinel = self.owned_sentinel, None
            if sentinel is not None:
                await sentinel.aclose()


def _sentinel_client(url: str, args: dict[str, Any]) -> AsyncRedis:
    parsed = parse_sentinel_url(url)
    sentinel_args, primary_args = sentinel_client_args(parsed, args)
    # no retry of their own: the primary connection's retry already repeats
    # the lookup, and redis-py's default one (seconds of backoff, nested in
    # it) made a dead sentinel take ~15 s to report
    sentinel_args["retry"] = Retry(NoBackoff(), 0)
    sentinel = cast(Any, Sentinel)(parsed.sentinels, sentinel_kwargs=sentinel_args)
    client = sentinel.master_for(
        parsed.service, redis_class=SentinelPrimary, **primary_args
    )
    client.owned_sentinel = sentinel
    return cast(SentinelPrimary, client)


def _refuse(method: str) -> NoReturn:
    raise WrongApiError(
        f"AsyncShallowRedisSaver.{method}() is not available: this saver is "
        f"async-only (use 'await saver.a{method}(...)', 'graph.ainvoke' and "
        f"'graph.aget_state'). For sync graphs ('graph.invoke', "
        f"'graph.get_state') use ShallowRedisSaver."
    )


class WrongApiGuard:
    """Makes the sync checkpointer API of the async saver fail at once.

    Listed before ``BaseCheckpointSaver`` in the saver's bases so these
    win over its defaults.
    """

    def get(self, config: Any) -> NoReturn:
        """Refused: use :meth:`aget`."""
        _refuse("get")

    def get_tuple(self, config: Any) -> NoReturn:
        """Refused: use :meth:`aget_tuple`."""
        _refuse("get_tuple")

    def list(self, config: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`alist`."""
        _refuse("list")

    def put(self, config: Any, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`aput`."""
        _refuse("put")

    def put_writes(self, config: Any, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`aput_writes`."""
        _refuse("put_writes")

    def delete_thread(self, thread_id: Any) -> NoReturn:
        """Refused: use :meth:`adelete_thread`."""
        _refuse("delete_thread")

    def delete_for_runs(self, run_ids: Sequence[str]) -> NoReturn:
        """Refused: use :meth:`adelete_for_runs`."""
        _refuse("delete_for_runs")

    def copy_thread(self, source_thread_id: Any, target_thread_id: Any) -> NoReturn:
        """Refused: use :meth:`acopy_thread`."""
        _refuse("copy_thread")

    def prune(self, thread_ids: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`aprune`."""
        _refuse("prune")

    def setup(self) -> NoReturn:
        """Refused: use :meth:`asetup`."""
        _refuse("setup")

    def get_delta_channel_history(self, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`aget_delta_channel_history`."""
        _refuse("get_delta_channel_history")
