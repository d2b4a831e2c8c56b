"""Sync half of the variant twins: what differs between the two savers.

The generated ``_sync/`` code imports these names; :mod:`._io_async` holds
the same names for the async saver. Keep the two files in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, cast

from redis import Redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from .config import is_sentinel_url, parse_sentinel_url, sentinel_client_args
from .errors import WrongApiError

__all__ = [
    "Redis",
    "RedisCluster",
    "SentinelPrimary",
    "WrongApiGuard",
    "make_client",
]


def make_client(url: str, connection_args: dict[str, Any]) -> Redis:
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
    return Redis.from_url(url, **args)


class SentinelPrimary(Redis):
    """Client of a Sentinel service's primary; closing it closes the sentinels."""

    owned_sentinel: Sentinel | None = None

    def close(self) -> None:
        """Close this client, then the sentinel connections it came from."""
        try:
            super().close()
        finally:
            sentinel, self.owned_sentinel = self.owned_sentinel, None
            if sentinel is not None:
                sentinel.close()


def _sentinel_client(url: str, args: dict[str, Any]) -> Redis:
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
        f"ShallowRedisSaver.{method}() is not available: this saver is "
        f"sync-only (use 'saver.{method[1:]}(...)', 'graph.invoke' and "
        f"'graph.get_state'). For async graphs ('graph.ainvoke', "
        f"'graph.aget_state') use AsyncShallowRedisSaver."
    )


class WrongApiGuard:
    """Makes the async checkpointer API of the sync saver fail at once.

    The methods are plain functions, so the error is raised on the call,
    before anything is awaited.
    """

    def aget(self, config: Any) -> NoReturn:
        """Refused: use :meth:`get`."""
        _refuse("aget")

    def aget_tuple(self, config: Any) -> NoReturn:
        """Refused: use :meth:`get_tuple`."""
        _refuse("aget_tuple")

    def alist(self, config: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`list`."""
        _refuse("alist")

    def aput(self, config: Any, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`put`."""
        _refuse("aput")

    def aput_writes(self, config: Any, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`put_writes`."""
        _refuse("aput_writes")

    def adelete_thread(self, thread_id: Any) -> NoReturn:
        """Refused: use :meth:`delete_thread`."""
        _refuse("adelete_thread")

    def adelete_for_runs(self, run_ids: Sequence[str]) -> NoReturn:
        """Refused: use :meth:`delete_for_runs`."""
        _refuse("adelete_for_runs")

    def acopy_thread(self, source_thread_id: Any, target_thread_id: Any) -> NoReturn:
        """Refused: use :meth:`copy_thread`."""
        _refuse("acopy_thread")

    def aprune(self, thread_ids: Any, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`prune`."""
        _refuse("aprune")

    def asetup(self) -> NoReturn:
        """Refused: use :meth:`setup`."""
        _refuse("asetup")

    def aget_delta_channel_history(self, **kwargs: Any) -> NoReturn:
        """Refused: use :meth:`get_delta_channel_history`."""
        _refuse("aget_delta_channel_history")
