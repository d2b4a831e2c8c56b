"""Async half of the variant twins: what differs between the two savers.

``_async/`` imports these names from here; the generated ``_sync/`` code
imports the same names from :mod:`._io_sync`. Keep the two files in step:
same names, same shapes. :class:`OtherApi` gives the async saver the sync
API, served by the generated sync saver on a sync client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from redis import ConnectionPool, Redis
from redis import connection as sync_connection
from redis.asyncio import ConnectionPool as AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as SyncRetry

from ._sync.saver import ShallowRedisSaver
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

__all__ = [
    "AsyncRedis",
    "OtherApi",
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


class _OwnRetry(AsyncLoggedRetry, Retry):
    """The default retry of the clients the saver makes: logs each failure
    to the package's logger (:class:`.telemetry.LoggedRetry`)."""


class _OtherRetry(LoggedRetry, SyncRetry):
    """The same, for the client of the other kind."""


def make_client(url: str, connection_args: dict[str, Any]) -> AsyncRedis:
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
                # Sentinel.aclose() is new in redis-py 8.1; before, close the
                # client of each sentinel
                errors = []
                for client in cast(Any, sentinel).sentinels:
                    try:
                        await client.aclose()
                    except Exception as exc:  # close the others, then raise
                        errors.append(exc)
                if errors:
                    raise errors[0]


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


def write_pipeline(
    client: AsyncRedis | RedisCluster, key: str, node_clients: dict[str, AsyncRedis]
) -> Any:
    """A non-transactional pipeline whose commands all go, on one
    connection, to the server that holds ``key``: the client's server (a
    Sentinel client's current primary), or on a cluster the primary of
    ``key``'s slot, so that a ``WAIT`` after a write runs where it ran.

    On a cluster the pipeline belongs to a plain client of that node, made
    on first use and kept in ``node_clients`` (close them with
    :func:`close_node_clients`); it follows no redirection.
    """
    if not isinstance(client, RedisCluster):
        return client.pipeline(transaction=False)
    node = client.get_node_from_key(key)
    assert node is not None  # only with replica=True
    node_client = node_clients.get(node.name)
    if node_client is None:
        pool = AsyncConnectionPool(
            connection_class=node.connection_class, **node.connection_kwargs
        )
        # from_pool: closing the client disconnects its pool (a client made
        # with connection_pool= leaves the pool's connections open)
        node_client = node_clients[node.name] = AsyncRedis.from_pool(pool)
    return node_client.pipeline(transaction=False)


async def refresh_cluster(client: AsyncRedis | RedisCluster) -> None:
    """Read a cluster's slots and nodes again (after a failover or a moved
    slot); nothing for another client."""
    if isinstance(client, RedisCluster):
        await client.nodes_manager.initialize()


async def primary_moved(client: Any, before: Any) -> bool:
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
        now = await cast(Any, pool).get_master_address()
    except RedisError:  # no Sentinel answers, or none knows a primary
        return False
    await pool.disconnect(inuse_connections=False)
    return bool(now != before)


async def close_node_clients(node_clients: dict[str, AsyncRedis]) -> None:
    """Close the node clients :func:`write_pipeline` made, and forget them."""
    clients = list(node_clients.values())
    node_clients.clear()
    for node_client in clients:
        await node_client.aclose()


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` (without blocking the event loop)."""
    await asyncio.sleep(seconds)


_OTHER_LOCK = threading.Lock()


def other_client(client: Any) -> Redis:
    """A sync client with the settings of an async ``redis.asyncio.Redis``.

    Raises:
        InvalidConfigError: ``client`` is a cluster client, or its
            connections are of a class whose settings cannot be carried over
            (Sentinel-managed, custom).
    """
    if isinstance(client, RedisCluster) or not isinstance(client, AsyncRedis):
        raise InvalidConfigError(
            f"a sync client cannot be derived from a {type(client).__name__} "
            "redis_client; pass other_api_client=redis.RedisCluster(...) (or "
            "the redis.Redis of the same server) for the sync API's calls"
        )
    pool = client.connection_pool
    args = portable_connection_args(pool.connection_class, pool.connection_kwargs)
    args["retry"] = _OtherRetry(ExponentialBackoff(cap=1.0, base=0.05), 3)
    cls = getattr(sync_connection, pool.connection_class.__name__)
    return Redis(connection_pool=ConnectionPool(connection_class=cls, **args))


class OtherApi:
    """The sync checkpointer API of the async saver, served natively.

    Each method runs the generated sync saver (``ShallowRedisSaver``) with
    this saver's settings and serde, on a sync client: one made from the
    same URL and ``connection_args`` (without a ``retry`` object, which
    belongs to one kind: the default retry applies), or derived from the
    settings of the ``redis_client`` you passed, or your
    ``other_api_client``. It is made on the first sync call and closed
    with the saver. A sync call blocks its thread for its round trip, the
    event loop's thread included; nothing is handed to the loop or to
    another thread.
    """

    serde: Any
    _other_settings: dict[str, Any]
    _other_saver: ShallowRedisSaver | None = None

    def _other(self) -> ShallowRedisSaver:
        saver = self._other_saver
        if saver is not None and saver.serde is self.serde:
            return saver
        with _OTHER_LOCK:
            saver = self._other_saver
            if saver is None or saver.serde is not self.serde:
                saver = self._other_saver = self._make_other()
        return saver

    def _make_other(self) -> ShallowRedisSaver:
        settings, derive = other_saver_settings(self._other_settings)
        if derive:
            settings["redis_client"] = other_client(cast(Any, self)._client)
        saver = ShallowRedisSaver(**settings, serde=self.serde)
        saver._owns_client = derive or settings["redis_url"] is not None
        return saver

    def _close_other(self) -> None:
        saver, self._other_saver = self._other_saver, None
        if saver is not None:
            saver.close()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Sync :meth:`aget_tuple`, on the sync client."""
        return self._other().get_tuple(config)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Sync :meth:`aget_delta_channel_history`, on the sync client."""
        return self._other().get_delta_channel_history(config=config, channels=channels)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Sync :meth:`alist`, on the sync client."""
        return self._other().list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Sync :meth:`aput`, on the sync client."""
        return self._other().put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Sync :meth:`aput_writes`, on the sync client."""
        self._other().put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        """Sync :meth:`adelete_thread`, on the sync client."""
        self._other().delete_thread(thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Sync :meth:`adelete_for_runs`, on the sync client."""
        self._other().delete_for_runs(run_ids)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Sync :meth:`acopy_thread`, on the sync client."""
        self._other().copy_thread(source_thread_id, target_thread_id)

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
    ) -> None:
        """Sync :meth:`aprune`, on the sync client."""
        self._other().prune(thread_ids, strategy=strategy)

    def setup(self) -> None:
        """Sync :meth:`asetup`, on the sync client."""
        self._other().setup()

    def copy_from(
        self, source: Any, *, thread_ids: Sequence[str] | None = None
    ) -> CopySummary:
        """Sync :meth:`acopy_from`, on the sync client (reads ``source.list``)."""
        return self._other().copy_from(source, thread_ids=thread_ids)
