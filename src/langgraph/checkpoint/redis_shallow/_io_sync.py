"""Sync half of the variant twins: what differs between the two savers.

The generated ``_sync/`` code imports these names; :mod:`._io_async` holds
the same names for the async saver. Keep the two files in step.
:class:`OtherApi` gives the sync saver the async API, served by the async
saver on an async client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from redis import Redis
from redis.asyncio import ConnectionPool as AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio import connection as async_connection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from .config import other_saver_settings
from .connection import (
    is_sentinel_url,
    parse_sentinel_url,
    portable_connection_args,
    sentinel_client_args,
)
from .errors import InvalidConfigError
from .telemetry import AsyncLoggedRetry, LoggedRetry
from .transfer import CopySummary

if TYPE_CHECKING:
    from ._async.saver import AsyncShallowRedisSaver

__all__ = [
    "OtherApi",
    "Redis",
    "RedisCluster",
    "SentinelPrimary",
    "close_node_clients",
    "make_client",
    "other_client",
    "primary_moved",
    "refresh_cluster",
    "sleep",
    "write_pipeline",
]


class _OwnRetry(LoggedRetry, Retry):
    """The default retry of the clients the saver makes: logs each failure
    to the package's logger (:class:`.telemetry.LoggedRetry`)."""


class _OtherRetry(AsyncLoggedRetry, AsyncRetry):
    """The same, for the client of the other kind."""


def make_client(url: str, connection_args: dict[str, Any]) -> Redis:
    """Create the client the saver owns from a URL.

    Unless ``connection_args`` has a ``retry``, connection errors and
    timeouts are retried 3 times with exponential backoff (every operation
    of the saver is idempotent; see docs/reliability.md). redis-py's own
    ``from_url`` default is not to retry.

    A ``redis+sentinel://`` (or ``rediss+sentinel://``) URL gives a client
    of the service's primary, found through the sentinels; see
    :func:`.connection.parse_sentinel_url`.
    """
    args = dict(connection_args)
    args.setdefault("retry", _OwnRetry(ExponentialBackoff(cap=1.0, base=0.05), 3))
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
                # Sentinel.close() is new in redis-py 8.1; before, close the
                # client of each sentinel
                errors = []
                for client in cast(Any, sentinel).sentinels:
                    try:
                        client.close()
                    except Exception as exc:  # close the others, then raise
                        errors.append(exc)
                if errors:
                    raise errors[0]


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


def write_pipeline(
    client: Redis | RedisCluster, key: str, node_clients: dict[str, Redis]
) -> Any:
    """A non-transactional pipeline whose commands all go, on one
    connection, to the server that holds ``key``: the client's server (a
    Sentinel client's current primary), or on a cluster the primary of
    ``key``'s slot, so that a ``WAIT`` after a write runs where it ran.

    On a cluster the pipeline belongs to the cluster client's own client of
    that node (``node_clients`` stays empty: the cluster client owns it); it
    follows no redirection.
    """
    if not isinstance(client, RedisCluster):
        return client.pipeline(transaction=False)
    node = cast(Any, client).get_node_from_key(key)
    return client.get_redis_connection(node).pipeline(transaction=False)


def refresh_cluster(client: Redis | RedisCluster) -> None:
    """Read a cluster's slots and nodes again (after a failover or a moved
    slot); nothing for another client."""
    if isinstance(client, RedisCluster):
        client.nodes_manager.initialize()


def primary_moved(client: Any, before: Any) -> bool:
    """After a write failed with :func:`.errors.off_the_primary`: ask the
    Sentinels for a Sentinel-managed ``client``'s primary, drop the pool's
    idle connections (the next command connects to the primary they name)
    and say whether it differs from ``before``
    (:func:`.connection.known_primary` when the write began), so that the
    write is sent again there. ``False`` for any other client, or when no
    Sentinel answers."""
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, SentinelConnectionPool) or not pool.is_master:
        return False
    try:
        now = cast(Any, pool).get_master_address()
    except RedisError:  # no Sentinel answers, or none knows a primary
        return False
    pool.disconnect(inuse_connections=False)
    return bool(now != before)


def close_node_clients(node_clients: dict[str, Redis]) -> None:
    """Close the node clients :func:`write_pipeline` made, and forget them."""
    clients = list(node_clients.values())
    node_clients.clear()
    for node_client in clients:
        node_client.close()


def sleep(seconds: float) -> None:
    """Wait ``seconds``."""
    time.sleep(seconds)


_OTHER_LOCK = threading.Lock()


def other_client(client: Any) -> AsyncRedis:
    """An async client with the settings of a sync ``redis.Redis``.

    Raises:
        InvalidConfigError: ``client`` is a cluster client, or its
            connections are of a class whose settings cannot be carried over
            (Sentinel-managed, custom).
    """
    if isinstance(client, RedisCluster) or not isinstance(client, Redis):
        raise InvalidConfigError(
            f"an async client cannot be derived from a {type(client).__name__} "
            "redis_client; pass other_api_client=redis.asyncio.RedisCluster(...) "
            "(or the redis.asyncio.Redis of the same server) for the async "
            "API's calls"
        )
    pool = client.connection_pool
    args = portable_connection_args(pool.connection_class, pool.connection_kwargs)
    args["retry"] = _OtherRetry(ExponentialBackoff(cap=1.0, base=0.05), 3)
    cls = getattr(async_connection, pool.connection_class.__name__)
    return AsyncRedis(connection_pool=AsyncConnectionPool(connection_class=cls, **args))


class OtherApi:
    """The async checkpointer API of the sync saver, served natively.

    Each method runs the async saver (``AsyncShallowRedisSaver``) with this
    saver's settings and serde, on an async client: one made from the same
    URL and ``connection_args`` (without a ``retry`` object, which belongs
    to one kind: the default retry applies), or derived from the settings
    of the ``redis_client`` you passed, or your ``other_api_client``. It is
    made on the first async call; like every ``redis.asyncio`` client it
    belongs to the event loop it is first used in. ``await saver.aclose()``
    closes it (``close()`` only drops it). Nothing runs an event loop or
    hands work to another thread.
    """

    serde: Any
    _other_settings: dict[str, Any]
    _other_saver: AsyncShallowRedisSaver | None = None

    def close(self) -> None:  # replaced by the saver's own; typing only
        """Close the saver's clients."""

    def _other(self) -> AsyncShallowRedisSaver:
        saver = self._other_saver
        if saver is not None and saver.serde is self.serde:
            return saver
        with _OTHER_LOCK:
            saver = self._other_saver
            if saver is None or saver.serde is not self.serde:
                saver = self._other_saver = self._make_other()
        return saver

    def _make_other(self) -> AsyncShallowRedisSaver:
        from ._async.saver import AsyncShallowRedisSaver

        settings, derive = other_saver_settings(self._other_settings)
        if derive:
            settings["redis_client"] = other_client(cast(Any, self)._client)
        saver = AsyncShallowRedisSaver(**settings, serde=self.serde)
        saver._owns_client = derive or settings["redis_url"] is not None
        return saver

    def _close_other(self) -> None:
        self._other_saver = None

    async def aclose(self) -> None:
        """Close the async client made for the async API's calls, then the
        saver's own clients (as ``close()``)."""
        saver, self._other_saver = self._other_saver, None
        try:
            if saver is not None:
                await saver.aclose()
        finally:
            self.close()

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`, on the async client."""
        return await self._other().aget_tuple(config)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async :meth:`get_delta_channel_history`, on the async client."""
        return await self._other().aget_delta_channel_history(
            config=config, channels=channels
        )

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`, on the async client."""
        async for tup in self._other().alist(
            config, filter=filter, before=before, limit=limit
        ):
            yield tup

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`, on the async client."""
        return await self._other().aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`, on the async client."""
        await self._other().aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`, on the async client."""
        await self._other().adelete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`, on the async client."""
        await self._other().adelete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`, on the async client."""
        await self._other().acopy_thread(source_thread_id, target_thread_id)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
    ) -> None:
        """Async :meth:`prune`, on the async client."""
        await self._other().aprune(thread_ids, strategy=strategy)

    async def asetup(self) -> None:
        """Async :meth:`setup`, on the async client."""
        await self._other().asetup()

    async def acopy_from(
        self, source: Any, *, thread_ids: Sequence[str] | None = None
    ) -> CopySummary:
        """Async :meth:`copy_from`, on the async client (reads ``source.alist``)."""
        return await self._other().acopy_from(source, thread_ids=thread_ids)
