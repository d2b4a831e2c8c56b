# This file is generated from src/langgraph/checkpoint/redis_shallow/_async/saver.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The shallow Redis saver.

``_async/saver.py`` is the hand-written source; ``_sync/saver.py`` is
generated from it by ``tools/generate.py`` (run ``nox -s generate``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import layout, scripts, transfer
from .._io_sync import (
    OtherApi,
    Redis,
    RedisCluster,
    close_node_clients,
    make_client,
    primary_moved,
    refresh_cluster,
    sleep,
    write_pipeline,
)
from ..caches import DeltaReads, SeedCache
from ..compression import Compression, parse_compression
from ..config import (
    PRUNE_STRATEGIES,
    before_id_of,
    parse_cache_size,
    parse_keep_last,
    parse_thread_id,
    parse_ttl,
    target_of,
)
from ..connection import known_primary, redact
from ..durability import DEFAULT_WAIT_TIMEOUT, parse_durability
from ..errors import (
    DeleteRefusedError,
    InvalidConfigError,
    LayoutVersionError,
    SearchUnavailableError,
    StaleCheckpointError,
    ThreadDeletedError,
    UnsupportedChannelError,
    client_race,
    client_races,
    lost_connection,
    off_the_primary,
    storage_errors,
)
from ..keys import (
    BASE_SUFFIX,
    DEFAULT_CHECKPOINT_PREFIX,
    DEFAULT_WRITE_PREFIX,
    HISTORY_SUFFIX,
    Keys,
    decode_namespace,
    encode_namespace,
)
from ..search import (
    create_index_command,
    filter_tokens,
    filter_tokens_any,
    has_search_module,
    newest_first,
    query_string,
)
from ..telemetry import (
    NAMESPACES,
    TARGET_THREAD_ID,
    THREADS,
    WRITES,
    Span,
    Telemetry,
    logger,
)

__all__ = ["ShallowRedisSaver"]

_PAGE = 100
_CLUSTER_ATTEMPTS = 4
"""Tries of a durable write on a cluster whose node moved or went away."""
_REROUTE = (
    AskError,
    ClusterDownError,
    MovedError,
    TryAgainError,
    RedisConnectionError,
    RedisTimeoutError,
)


class ShallowRedisSaver(OtherApi, BaseCheckpointSaver[Any]):
    """LangGraph checkpoint saver keeping the latest checkpoint per thread in Redis.

    For each (thread id, checkpoint namespace) it stores one checkpoint and
    its pending writes; each put replaces the checkpoint atomically. Put,
    put_writes and get_tuple are one Redis round trip each.

    The package has two savers with the same behaviour: ``AsyncShallowRedisSaver``
    for async graphs (``graph.ainvoke``) and ``ShallowRedisSaver``
    for sync graphs (``graph.invoke``). Each also serves the other API
    natively (a sync subgraph inside an async graph, ``graph.get_state`` in
    a sync handler): those calls run on a client of the other kind, made
    with the same settings on first use and closed with the saver. Nothing
    bridges between the two: a sync call does its own blocking I/O (from the
    event loop's thread it blocks the loop for its round trip).

    Args:
        redis_url: URL of the Redis server (``redis://``, ``rediss://``,
            ``unix://``), or of its Sentinels
            (``redis+sentinel://host:port[,host:port...]/service[/db]``;
            the client then talks to the service's primary). The saver
            creates and owns that client.
        redis_client: a redis-py client you own, of the saver's kind (async
            or sync; ``Redis`` or ``RedisCluster``), created with
            ``decode_responses=False``. The saver never closes it.
        connection_args: keyword arguments for ``Redis.from_url``.
        ttl: ``{"default_ttl": minutes, "refresh_on_read": bool}``. Every key
            of a thread expires ``default_ttl`` minutes after its last write
            (or read, with ``refresh_on_read``).
        key_cache_max_size: accepted for drop-in use with
            ``langgraph-checkpoint-redis``, whose sync saver caches key
            strings; ignored here (keys are built without a cache). Must be
            ``None`` or a positive int.
        channel_cache_max_size: accepted and ignored likewise (this saver
            has no channel cache: unchanged values are never sent again).
        checkpoint_prefix: prefix of the keys holding checkpoints, their
            pending writes and each thread's namespaces.
        checkpoint_write_prefix: prefix of the search entries (the small
            hashes the search index covers). The name is
            ``langgraph-checkpoint-redis``'s, kept for drop-in use; pending
            writes live with their checkpoint under ``checkpoint_prefix``.
        serde: serializer (LangGraph's msgpack ``JsonPlusSerializer`` by
            default); ``with_allowlist`` and ``EncryptedSerializer`` work.
        other_api_client: a redis-py client of the other kind (sync for
            ``AsyncShallowRedisSaver``, async for ``ShallowRedisSaver``) for
            the other API's calls. Only needed with a ``redis_client`` whose
            settings cannot be copied to a client of the other kind: a
            cluster client, a Sentinel-managed client or a custom connection
            class. You own it; the saver never closes it.
        tracing: with ``opentelemetry-api`` installed (the ``otel`` extra),
            each operation makes an OpenTelemetry span (a no-op until an
            SDK is configured). ``False``: no spans, and ``opentelemetry``
            is never imported by the saver. What a span carries:
            :mod:`langgraph.checkpoint.redis_shallow.telemetry`.
        trace_thread_ids: put thread ids on the spans and in the package's
            log records (``logging.getLogger("langgraph.checkpoint.redis_shallow")``).
            Off by default: thread ids can be personal data.
        tracer_provider: the OpenTelemetry ``TracerProvider`` for the
            spans; ``None``: the global one.
        compression: ``True`` (the default) compresses channel values and
            pending writes of 4 KiB (serialized) or more with zstd (level
            1) when that makes them smaller; a
            ``Compression(threshold=..., level=...)`` sets both; ``False``
            or ``None`` stores every value plain. Values are read whatever
            the setting, so it can change at any time.
        wait_for_replicas: replicas that must acknowledge each write before
            it returns (0, the default: none). Redis replicates
            asynchronously, so by default a write the primary acknowledged
            is lost if the primary dies before a replica has it, and a
            failover then resumes the thread from an older checkpoint.
            Above 0, every write (``put``, ``put_writes``, ``delete_thread``,
            ``copy_thread``, ``prune``, ``delete_for_runs``, ``copy_from``,
            the layout upgrade and the ``migrate`` command's writes) is
            followed by ``WAIT`` in the same round trip, on the same
            connection (on a cluster, to the primary of the thread's slot),
            and raises ``ReplicationError`` when fewer replicas acknowledged
            it within ``wait_timeout``.
        wait_timeout: seconds a write waits for its replicas (default 1.0).
            Keep the client's ``socket_timeout`` above it.
        wait_for_aof: also wait until the append-only file holds the write,
            on the primary and on ``wait_for_replicas`` replicas
            (``WAITAOF``, Redis >= 7.2, with ``appendonly yes``).
        keep_last: how many checkpoints of each thread and namespace to
            keep (1, the default, to 1000): the history window. Above 1,
            ``list`` and ``get_state_history`` return them newest first,
            ``get_tuple`` reads any of them by id, and a graph can replay,
            resume or fork from any of them; a config older than the window
            raises ``StaleCheckpointError``. Each ``put``, ``put_writes``
            and ``get_tuple`` stays one round trip; a value that several
            checkpoints share is stored once. docs/usage.md, "Keeping
            history", says which K to pick.

    Raises:
        InvalidConfigError: bad arguments, before any connection is made.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        redis_client: Redis | RedisCluster | None = None,
        connection_args: Mapping[str, Any] | None = None,
        ttl: Mapping[str, Any] | None = None,
        key_cache_max_size: int | None = None,
        channel_cache_max_size: int | None = None,
        checkpoint_prefix: str = DEFAULT_CHECKPOINT_PREFIX,
        checkpoint_write_prefix: str = DEFAULT_WRITE_PREFIX,
        serde: SerializerProtocol | None = None,
        other_api_client: Any = None,
        tracing: bool = True,
        trace_thread_ids: bool = False,
        tracer_provider: Any = None,
        compression: bool | Compression | None = True,
        wait_for_replicas: int = 0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        wait_for_aof: bool = False,
        keep_last: int = 1,
    ) -> None:
        super().__init__(serde=serde)
        self.compression = parse_compression(compression)
        self.keep_last = parse_keep_last(keep_last)
        self._durability = parse_durability(
            wait_for_replicas, wait_timeout, wait_for_aof
        )
        self._node_clients: dict[str, Redis] = {}
        parse_cache_size(key_cache_max_size, "key_cache_max_size")
        parse_cache_size(channel_cache_max_size, "channel_cache_max_size")
        for name, flag in (
            ("tracing", tracing),
            ("trace_thread_ids", trace_thread_ids),
        ):
            if not isinstance(flag, bool):
                raise InvalidConfigError(f"{name} must be a bool, got {flag!r}")
        self.keys = Keys(checkpoint_prefix, checkpoint_write_prefix)
        self.ttl = parse_ttl(ttl)
        self._ttl_ms = self.ttl.ms or 0
        self._read_ttl_ms = self._ttl_ms if self.ttl.refresh_on_read else 0
        self._tombstone_ms = layout.tombstone_ttl_ms(self._ttl_ms)
        self._search: bool | None = None
        self._layout_checked = False
        self._delta_reads = DeltaReads()
        self._seeds = SeedCache()
        self._other_settings: dict[str, Any] = {
            "redis_url": redis_url,
            "connection_args": connection_args,
            "ttl": ttl,
            "checkpoint_prefix": checkpoint_prefix,
            "checkpoint_write_prefix": checkpoint_write_prefix,
            "other_api_client": other_api_client,
            "tracing": tracing,
            "trace_thread_ids": trace_thread_ids,
            "tracer_provider": tracer_provider,
            "compression": compression,
            "wait_for_replicas": wait_for_replicas,
            "wait_timeout": wait_timeout,
            "wait_for_aof": wait_for_aof,
            "keep_last": keep_last,
        }
        self._client, self._owns_client = self._connect(
            redis_url, redis_client, connection_args
        )
        self._start_telemetry()

    @staticmethod
    def _connect(
        redis_url: str | None,
        redis_client: Redis | RedisCluster | None,
        connection_args: Mapping[str, Any] | None,
    ) -> tuple[Redis | RedisCluster, bool]:
        """The client the saver uses, and whether the saver made it (and so
        closes it)."""
        if redis_client is not None:
            if redis_url is not None:
                raise InvalidConfigError(
                    "pass either redis_url or redis_client, not both"
                )
            kwargs = redis_client.get_connection_kwargs()
            if kwargs.get("decode_responses"):
                raise InvalidConfigError(
                    "redis_client must be created with decode_responses=False: "
                    "the saver stores binary values"
                )
            return redis_client, False
        if redis_url is None:
            raise InvalidConfigError(
                "pass redis_url (for example 'redis://localhost:6379') or redis_client"
            )
        if not isinstance(redis_url, str):
            raise InvalidConfigError(
                f"redis_url must be a str, got {type(redis_url).__name__}"
            )
        args = dict(connection_args or {})
        if args.get("decode_responses"):
            raise InvalidConfigError(
                "connection_args cannot set decode_responses=True: "
                "the saver stores binary values"
            )
        try:
            return make_client(redis_url, args), True
        except InvalidConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise InvalidConfigError(
                f"cannot use redis_url {redact(redis_url)!r}: {exc} (expected "
                "redis://host:port/db, rediss://..., unix:///path or "
                "redis+sentinel://host:port/service/db)"
            ) from exc

    def _start_telemetry(self) -> None:
        settings = self._other_settings
        client = self._client
        self._telemetry = Telemetry(
            tracing=settings["tracing"],
            trace_thread_ids=settings["trace_thread_ids"],
            tracer_provider=settings["tracer_provider"],
            # a cluster client talks to many hosts: no server.address
            connection_kwargs=(
                {}
                if isinstance(client, RedisCluster)
                else cast(Any, client).get_connection_kwargs()
            ),
            collection=self.keys.checkpoint_prefix,
        )

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        redis_url: str | None = None,
        *,
        redis_client: Redis | RedisCluster | None = None,
        connection_args: Mapping[str, Any] | None = None,
        ttl: Mapping[str, Any] | None = None,
        key_cache_max_size: int | None = None,
        channel_cache_max_size: int | None = None,
        checkpoint_prefix: str = DEFAULT_CHECKPOINT_PREFIX,
        checkpoint_write_prefix: str = DEFAULT_WRITE_PREFIX,
        serde: SerializerProtocol | None = None,
        other_api_client: Any = None,
        tracing: bool = True,
        trace_thread_ids: bool = False,
        tracer_provider: Any = None,
        compression: bool | Compression | None = True,
        wait_for_replicas: int = 0,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        wait_for_aof: bool = False,
        keep_last: int = 1,
    ) -> Iterator[ShallowRedisSaver]:
        """Create a saver for the block, then close the clients it created.

        Takes the constructor's arguments. A ``redis_client`` (or
        ``other_api_client``) you pass is left open.
        """
        saver = cls(
            redis_url,
            redis_client=redis_client,
            connection_args=connection_args,
            ttl=ttl,
            key_cache_max_size=key_cache_max_size,
            channel_cache_max_size=channel_cache_max_size,
            checkpoint_prefix=checkpoint_prefix,
            checkpoint_write_prefix=checkpoint_write_prefix,
            serde=serde,
            other_api_client=other_api_client,
            tracing=tracing,
            trace_thread_ids=trace_thread_ids,
            tracer_provider=tracer_provider,
            compression=compression,
            wait_for_replicas=wait_for_replicas,
            wait_timeout=wait_timeout,
            wait_for_aof=wait_for_aof,
            keep_last=keep_last,
        )
        try:
            yield saver
        finally:
            saver.close()

    def __enter__(self) -> ShallowRedisSaver:
        """``async with saver:`` closes the clients the saver created on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def client(self) -> Redis | RedisCluster:
        """The Redis client the saver uses."""
        return self._client

    def close(self) -> None:
        """Close the clients the saver created (never one passed in).

        That includes the client of the other kind made for the other
        API's calls, if any were made.
        """
        try:
            close_node_clients(self._node_clients)
            if self._owns_client:
                self._client.close()
        finally:
            self._close_other()

    def get_next_version(self, current: Any, channel: None = None) -> Any:
        """The next version of a channel, in the form of ``current``.

        New channels get ``int`` versions (1, 2, ...). A checkpoint stored
        by another saver keeps its own form: ``str`` versions of
        ``InMemorySaver``, the Postgres saver or ``langgraph-checkpoint-redis``
        (``"<counter>.<fraction>"``) go on as strings, strictly increasing.
        With ``keep_last`` above 1 the numbers carry a random fraction
        (``3.5718...``): two forks of one checkpoint then never give a
        channel's values the same version, so the window stores both.
        """
        return layout.next_version(current, forks=self.keep_last > 1)

    # -- setup -------------------------------------------------------------

    def setup(self) -> None:
        """Prepare the server: check (and record, when absent) the storage
        layout version, load the scripts, create the search index.

        Idempotent and safe to run from many processes at once. Detects
        whether the server has the Search module; without it the index is
        skipped and only cross-thread listing and filtering are unavailable.

        Raises:
            LayoutVersionError: the server holds this saver's keys in a
                layout version this package does not know.
        """
        with self._telemetry.span("setup") as span:
            with storage_errors("setup", None):
                # always: the record may have been evicted (allkeys-*
                # policies) since this saver last looked
                self._layout_checked = False
                self._check_layout(span)
                for script in scripts.ALL:
                    span.request(script.source)
                    span.response(self._client.script_load(script.source))
                self._search = self._detect_search(span)
                if self._search:
                    self._create_index(span)

    def _check_layout(self, span: Span) -> None:
        """Record this package's layout version on the server, or refuse if
        the server holds another. Runs once per saver: in ``setup``, or
        before the first write of a saver that never ran it."""
        if self._layout_checked:
            return
        key = self.keys.layout_key()
        span.request(key)
        found = self._client.get(key)
        span.response(found)
        if found is None:
            try:
                span.request(key, layout.LAYOUT_VERSION)
                self._client.set(key, layout.LAYOUT_VERSION, nx=True)
            except ReadOnlyError:
                return  # a replica: reads need no record; writes fail anyway
            span.request(key)
            found = self._client.get(key)
            span.response(found)
        problem = layout.layout_problem(found, key)
        if problem is not None:
            raise LayoutVersionError(problem)
        if layout.upgrades_in_place(found):
            try:
                self._run(
                    scripts.UPGRADE_LAYOUT,
                    (key,),
                    (found, layout.LAYOUT_VERSION),
                    span,
                )
            except ReadOnlyError:
                return
        self._layout_checked = True

    def _before_write(self, operation: str, span: Span) -> None:
        if not self._layout_checked:
            with storage_errors(operation, None):
                self._check_layout(span)

    def _has_search(self, operation: str, thread_id: str | None, span: Span) -> bool:
        """Whether the server has the Search module, asked once per saver
        (``setup`` asks again)."""
        if self._search is None:
            with storage_errors(operation, thread_id):
                self._search = self._detect_search(span)
        return self._search

    def _detect_search(self, span: Span) -> bool:
        found = self._ask_search(span)
        if not found:
            logger.info(
                "the Redis server has no Search module: list(None), filters "
                "across threads and delete_for_runs are unavailable; "
                "per-thread operations work"
            )
        return found

    def _ask_search(self, span: Span) -> bool:
        try:
            span.request("MODULE", "LIST")
            return has_search_module(self._client.module_list())
        except ResponseError:
            # MODULE disabled (managed services): ask FT._LIST instead
            logger.info("MODULE LIST refused; asking FT._LIST for the Search module")
        try:
            span.request("FT._LIST")
            cast(Any, self._client).execute_command("FT._LIST")
        except ResponseError:
            return False
        return True

    def _create_index(self, span: Span) -> None:
        command = create_index_command(self.keys)
        try:
            span.request(*command)
            cast(Any, self._client).execute_command(*command)
        except ResponseError as exc:
            if "already exists" in str(exc).lower():
                return  # created before, or by another process first
            raise

    # -- the core: one round trip each ---------------------------------------

    def _run(
        self,
        script: scripts.Script,
        keys: Sequence[str],
        args: Sequence[Any],
        span: Span,
        *,
        write: bool = True,
    ) -> Any:
        """Run ``script`` once (a write waits for its replicas, when set).

        A write that reached a server that is not the primary any more
        (:func:`.errors.off_the_primary`) on a Sentinel-managed client asks
        the Sentinels; when they name another primary, the write is sent
        once more, there (writes are idempotent; docs/reliability.md,
        "Partitions")."""
        if not write:
            return self._run_once(script, keys, args, span, write=False)
        before = known_primary(self._client)
        try:
            return self._run_once(script, keys, args, span)
        except Exception as exc:
            if not off_the_primary(exc) or not primary_moved(self._client, before):
                raise
            logger.warning(
                "%s went to a server that is no longer the primary (%s); the "
                "Sentinels name another: sending it there",
                script.name,
                type(exc).__name__,
            )
        return self._run_once(script, keys, args, span)

    def _run_once(
        self,
        script: scripts.Script,
        keys: Sequence[str],
        args: Sequence[Any],
        span: Span,
        *,
        write: bool = True,
    ) -> Any:
        if write and self._durability.enabled:
            reply = self._run_durably(script, keys, args, span)
            span.response(reply)
            return reply
        with client_races():
            try:
                span.request(script.sha, keys, args)
                reply = self._client.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:
                logger.info(
                    "script %s is not in the server's script cache (NOSCRIPT: the "
                    "server restarted or ran SCRIPT FLUSH); sending it with EVAL",
                    script.name,
                )
                span.request(script.source, keys, args)
                reply = self._client.eval(script.source, len(keys), *keys, *args)
        span.response(reply)
        return reply

    def _run_durably(
        self,
        script: scripts.Script,
        keys: Sequence[str],
        args: Sequence[Any],
        span: Span,
    ) -> Any:
        """The script, then ``WAIT`` (or ``WAITAOF``), in one pipeline on one
        connection to the server that holds ``keys`` (see ``wait_for_replicas``).

        On a cluster the pipeline goes to the slot's primary itself; when
        that node is gone or no longer holds the slot, the slots are read
        again and the write is sent again (writes are idempotent)."""
        attempts = _CLUSTER_ATTEMPTS if isinstance(self._client, RedisCluster) else 1
        for attempt in range(1, attempts + 1):
            try:
                pipe = write_pipeline(self._client, keys[0], self._node_clients)
                for command, body in (("EVALSHA", script.sha), ("EVAL", script.source)):
                    span.request(body, keys, args)
                    pipe.execute_command(command, body, len(keys), *keys, *args)
                    pipe.execute_command(*self._durability.command)
                    replies = pipe.execute(raise_on_error=False)
                    if not isinstance(replies[0], NoScriptError):
                        break
                    logger.info(
                        "script %s is not in the server's script cache "
                        "(NOSCRIPT); sending it with EVAL",
                        script.name,
                    )
                return self._durability.result(replies)
            except (*_REROUTE, AttributeError, RuntimeError) as exc:
                if isinstance(exc, (AttributeError, RuntimeError)):
                    if not client_race(exc):
                        raise
                    if attempt == attempts:
                        raise lost_connection(exc) from exc
                elif attempt == attempts:
                    raise
                refresh_cluster(self._client)
                sleep(0.1 * 2**attempt)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Return the stored checkpoint of the config's thread and namespace.

        With a ``checkpoint_id`` in the config, return it only if it is the
        stored one; ``None`` for an id never seen; and for an id the stored
        checkpoint superseded (a config taken before the thread moved on)
        raise ``StaleCheckpointError``: LangGraph would otherwise run the
        graph from ``START`` on an empty state. ``parent_config`` is always ``None``: a
        shallow saver keeps no parent. ``pending_writes`` are the writes of
        this checkpoint, in ``(task_path, task_id, idx)`` order.
        """
        thread_id, ns, checkpoint_id = target_of(config, "get_tuple")
        with self._telemetry.span("get_tuple", thread_id, ns) as span:
            if checkpoint_id is not None and self.keep_last > 1:
                fields = self._read_checkpoint(thread_id, ns, checkpoint_id, span)
            else:
                fields = self._read_namespace(thread_id, ns, "get_tuple", span)
            tup = layout.read_tuple(
                self.serde,
                thread_id,
                ns,
                fields,
                checkpoint_id,
                refuse_superseded=True,
            )
            if tup is not None:
                span.set(WRITES, len(tup.pending_writes or ()))
                if layout.has_delta_fields(fields):
                    self._delta_reads.remember(
                        thread_id, ns, tup.checkpoint["id"], fields
                    )
            return tup

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The history of ``DeltaChannel`` s at the stored checkpoint: for
        each channel, the nearest value stored before it (``seed``) and the
        writes since, oldest first, as ``InMemorySaver`` returns them.

        Served from the namespace hash the preceding ``aget_tuple`` of the
        same checkpoint read (no round trip), else one ``HGETALL``. A
        ``checkpoint_id`` that is not the stored one gets empty histories.
        """
        op = "get_delta_channel_history"
        if isinstance(channels, (str, bytes)):
            raise InvalidConfigError(f"{op}: channels must be a list, not a str")
        if not channels:
            return {}
        thread_id, ns, checkpoint_id = target_of(config, op)
        fields = self._delta_reads.take(thread_id, ns, checkpoint_id)
        if fields is None:
            with self._telemetry.span(
                "get_delta_channel_history", thread_id, ns
            ) as span:
                fields = self._read_namespace(thread_id, ns, op, span)
        return layout.read_delta_history(
            self.serde, fields, checkpoint_id, channels, self._seeds, (thread_id, ns)
        )

    def _read_namespace(
        self, thread_id: str, ns: str, operation: str, span: Span
    ) -> dict[bytes, bytes]:
        """The fields of one namespace hash: one ``HGETALL`` (pipelined with
        the ``PEXPIRE``s of ``refresh_on_read``)."""
        hk, ek, rk = self.keys.for_namespace(thread_id, ns)
        with storage_errors(operation, thread_id), client_races():
            if self._read_ttl_ms:
                pipe = self._client.pipeline(transaction=False)
                pipe.hgetall(hk)
                refreshed = (hk, ek, rk, hk + BASE_SUFFIX, hk + HISTORY_SUFFIX)
                for key in refreshed:
                    pipe.pexpire(key, self._read_ttl_ms)
                span.request(*refreshed)
                fields = (pipe.execute())[0]
            else:
                span.request(hk)
                fields = self._client.hgetall(hk)
            span.response(fields)
            return cast(dict[bytes, bytes], fields)

    def _read_checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str, span: Span
    ) -> dict[bytes, bytes]:
        """One checkpoint of the window as its namespace hash would hold it
        (``READ_CHECKPOINT``): from the history hash, else the namespace
        hash itself."""
        hk, ek, rk = self.keys.for_namespace(thread_id, ns)
        with storage_errors("get_tuple", thread_id):
            reply = self._run(
                scripts.READ_CHECKPOINT,
                (hk, hk + HISTORY_SUFFIX, ek, rk, hk + BASE_SUFFIX),
                (checkpoint_id, self._read_ttl_ms),
                span,
                write=False,
            )
        return dict(layout.hash_fields(reply))

    def _read_window(
        self, thread_id: str, ns: str, operation: str, span: Span
    ) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        """A namespace hash and its history hash, at one instant."""
        hk = self.keys.for_namespace(thread_id, ns)[0]
        with storage_errors(operation, thread_id):
            fields, history = self._run(
                scripts.READ_WINDOW,
                (hk, hk + HISTORY_SUFFIX),
                (self._read_ttl_ms,),
                span,
                write=False,
            )
        return dict(layout.hash_fields(fields)), dict(layout.hash_fields(history))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store ``checkpoint`` as the thread's checkpoint, replacing the old one.

        One atomic round trip: the checkpoint's fields are replaced, and the
        writes of every older checkpoint of this thread and namespace but the
        parent are dropped. Only the channels in ``new_versions`` are
        serialized and sent; if a value the checkpoint refers to is not
        stored (another writer replaced it, or it expired), nothing is
        written and the checkpoint is sent again with all its values.

        Returns:
            The config addressing the stored checkpoint.

        With ``keep_last`` above 1 the stored checkpoint moves into the
        history window instead, and a parent anywhere in the window is a
        fork, as in ``InMemorySaver``.

        Raises:
            StaleCheckpointError: the config names a checkpoint (the new
                one's parent) that is no longer the stored one (or, with
                ``keep_last`` above 1, in the window): the caller started
                from an old config. Nothing is written; the stored
                checkpoint is kept.
            UnsupportedChannelError: ``keep_last`` is above 1 and the
                checkpoint has a ``DeltaChannel`` that LangGraph rebuilds
                from its history; nothing is written.
        """
        thread_id, ns, parent_id = target_of(config, "put")
        self._refuse_delta_in_window(checkpoint, metadata)

        def plan_for(versions: ChannelVersions) -> layout.PutPlan:
            return layout.build_put(
                self.serde,
                config,
                checkpoint,
                metadata,
                versions,
                parent_id,
                encode_namespace(ns),
                self._ttl_ms,
                self._search is not False,
                self.compression,
                self.keep_last,
            )

        plan = plan_for(new_versions)
        hk, ek, rk = self.keys.for_namespace(thread_id, ns)
        keys = (
            hk,
            ek,
            rk,
            hk + BASE_SUFFIX,
            self.keys.tombstone(thread_id),
            hk + HISTORY_SUFFIX,
        )
        with self._telemetry.span("put", thread_id, ns) as span:
            self._before_write("put", span)
            with storage_errors("put", thread_id):
                refused = self._run(scripts.PUT, keys, plan.args, span)
                if refused and not isinstance(refused[0], int):
                    logger.info(
                        "put on thread %s, namespace %r: a value the checkpoint "
                        "refers to is not stored (replaced by another writer, or "
                        "expired); sending the checkpoint again with all its values",
                        self._telemetry.who(thread_id),
                        ns,
                    )
                    plan = plan_for(checkpoint["channel_versions"])
                    refused = self._run(scripts.PUT, keys, plan.args, span)
            if refused and refused[0] == scripts.PUT_DELETED:
                raise ThreadDeletedError(thread_id, ns, parent_id, refused[1])
            if refused:
                raise StaleCheckpointError(thread_id, ns, parent_id, refused[1])
            return layout.make_config(thread_id, ns, plan.checkpoint_id)

    def _refuse_delta_in_window(
        self, checkpoint: Checkpoint, metadata: CheckpointMetadata
    ) -> None:
        """Raise ``UnsupportedChannelError`` for a checkpoint whose delta
        channels LangGraph rebuilds from history, on a saver with a window
        (the saver keeps that history for the newest checkpoint only)."""
        if (
            self.keep_last == 1
            or not isinstance(checkpoint, Mapping)
            or not isinstance(metadata, Mapping)
        ):
            return
        channels = layout.delta_channels(checkpoint, metadata)
        if channels:
            raise UnsupportedChannelError(
                f"aput: checkpoint {checkpoint.get('id')!r} has DeltaChannels "
                f"({', '.join(channels)}) that LangGraph rebuilds from their "
                f"history; with keep_last={self.keep_last} the saver cannot "
                "rebuild them for older checkpoints of the window. Use "
                "keep_last=1 for this graph. Nothing was written."
            )

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store the pending writes of a task for the config's checkpoint.

        One round trip whatever the number of writes. Regular writes are
        insert-if-absent per (checkpoint, task, index); writes to LangGraph's
        special channels (errors, interrupts, resumes) overwrite. The writes
        may arrive before the ``put`` of their checkpoint.

        Raises:
            ThreadDeletedError: the thread was deleted and the checkpoint is
                one the deletion removed (a late write); nothing is written.
        """
        thread_id, ns, checkpoint_id = target_of(
            config, "put_writes", need_checkpoint_id=True
        )
        assert checkpoint_id is not None
        if not isinstance(task_id, str) or not isinstance(task_path, str):
            op = "put_writes"
            raise InvalidConfigError(f"{op}: task_id and task_path must be str")
        if not writes:
            return
        args = layout.build_writes(
            self.serde, checkpoint_id, writes, task_id, task_path, self.compression
        )
        hk, ek, rk = self.keys.for_namespace(thread_id, ns)
        with self._telemetry.span("put_writes", thread_id, ns) as span:
            span.set(WRITES, len(writes))
            self._before_write("put_writes", span)
            with storage_errors("put_writes", thread_id):
                refused = self._run(
                    scripts.PUT_WRITES,
                    (hk, rk, ek, self.keys.tombstone(thread_id), hk + HISTORY_SUFFIX),
                    (self._ttl_ms, encode_namespace(ns), checkpoint_id, *args),
                    span,
                )
            if refused:
                raise ThreadDeletedError(thread_id, ns, checkpoint_id, checkpoint_id)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every key of the thread, in every namespace (one round trip).

        A late write of the deleted checkpoints (a run cancelled while it
        wrote) is then refused for a while (:class:`.ThreadDeletedError`);
        a new run on the same thread id works at once.
        """
        tid = parse_thread_id(thread_id, "delete_thread")
        with self._telemetry.span("delete_thread", tid) as span:
            self._before_write("delete_thread", span)
            with storage_errors("delete_thread", tid):
                self._run(
                    scripts.DELETE_THREAD,
                    self.keys.thread_script_keys(tid),
                    self._deletion_args(tid),
                    span,
                )

    def _deletion_args(self, thread_id: str) -> tuple[str, str, str, int, str]:
        """ARGV of ``DELETE_THREAD`` (and ``PRUNE_KEEP_LATEST``) for a thread."""
        return (
            *self.keys.thread_key_prefixes(thread_id),
            BASE_SUFFIX,
            self._tombstone_ms,
            HISTORY_SUFFIX,
        )

    # -- listing -------------------------------------------------------------

    def _read_thread(
        self, thread_id: str, operation: str, span: Span
    ) -> list[tuple[str, Any, Any, Any]]:
        """Every namespace of a thread as ``(ns, hash fields, entry fields,
        history fields)``."""
        with storage_errors(operation, thread_id):
            reply = self._run(
                scripts.READ_THREAD,
                self.keys.thread_script_keys(thread_id),
                (
                    *self.keys.thread_key_prefixes(thread_id),
                    self._read_ttl_ms,
                    BASE_SUFFIX,
                    HISTORY_SUFFIX,
                ),
                span,
                write=False,
            )
        return [
            (decode_namespace(reply[i]), reply[i + 1], reply[i + 2], reply[i + 3])
            for i in range(0, len(reply), 4)
        ]

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """List stored checkpoints, newest first, as ``InMemorySaver`` does.

        ``config`` with a ``thread_id`` lists that thread (all its namespaces,
        or only ``checkpoint_ns`` when given) without the Search module.
        ``config=None`` lists every thread and needs the search index, as
        does nothing else; ``filter`` matches metadata by equality;
        ``before`` keeps checkpoints with a smaller id; ``limit`` caps the
        count.

        Raises:
            SearchUnavailableError: ``config`` is ``None`` and the server
                has no Search module (or ``setup`` was never run).
        """
        op = "list"
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int)
        ):
            raise InvalidConfigError(f"{op}: limit must be an int, got {limit!r}")
        before_id = None
        if before is not None:
            before_id = before_id_of(before, op)
        if filter is not None and not isinstance(filter, Mapping):
            raise InvalidConfigError(
                f"{op}: filter must be a dict, got {type(filter).__name__}"
            )
        wanted = dict(filter or {})
        if limit is not None and limit <= 0:
            return
        if config is None:
            # the span is not made current: a generator runs in its
            # consumer's context, between items too
            with self._telemetry.span("list", current=False) as span:
                for item in self._search_all(wanted, before_id, limit, span):
                    yield item
            return
        thread_id, ns, checkpoint_id = target_of(config, op)
        one_ns = config["configurable"].get("checkpoint_ns") is not None
        with self._telemetry.span(
            "list", thread_id, ns if one_ns else None, current=False
        ) as span:
            namespaces: list[tuple[str, Any, Any]]
            if one_ns and self.keep_last > 1:
                namespaces = [(ns, *self._read_window(thread_id, ns, op, span))]
            elif one_ns:
                # one namespace: read its hash, as get_tuple does
                fields = self._read_namespace(thread_id, ns, op, span)
                namespaces = [(ns, fields, {})]
            else:
                namespaces = [
                    (member_ns, fields, history)
                    for member_ns, fields, _, history in self._read_thread(
                        thread_id, op, span
                    )
                ]
            found = [
                tup
                for member_ns, fields, history in namespaces
                for tup in layout.window_tuples(
                    self.serde,
                    thread_id,
                    member_ns,
                    layout.hash_fields(fields),
                    layout.hash_fields(history) if self.keep_last > 1 else {},
                )
                if checkpoint_id in (None, tup.checkpoint["id"])
                and layout.listed(tup, wanted, before_id)
            ]
            found.sort(key=lambda t: t.checkpoint["id"], reverse=True)
            for tup in found[:limit] if limit is not None else found:
                yield tup

    def _search_all(
        self,
        wanted: dict[str, Any],
        before_id: str | None,
        limit: int | None,
        span: Span,
    ) -> Iterator[CheckpointTuple]:
        count = 0
        query = query_string(filter_tokens(wanted))
        for key in self._search_keys(query, "list", span):
            thread_id, ns = self.keys.split_entry(key)
            fields = self._read_namespace(thread_id, ns, "list", span)
            tup = layout.read_tuple(self.serde, thread_id, ns, fields, None)
            if tup is None or not layout.listed(tup, wanted, before_id):
                continue
            yield tup
            count += 1
            if limit is not None and count >= limit:
                return

    def _search_keys(self, query: str, operation: str, span: Span) -> Iterator[str]:
        """Search entry keys matching an index query, newest checkpoint first."""
        if not self._has_search(operation, None, span):
            hint = (
                " (listing one thread works without it: pass "
                "{'configurable': {'thread_id': ...}})"
                if operation == "list"
                else ""
            )
            raise SearchUnavailableError(
                f"{operation} across threads needs the Redis Search module, "
                f"which this server lacks{hint}"
            )
        offset = 0
        while True:
            q = newest_first(query, offset, _PAGE)
            with storage_errors(operation, None):
                try:
                    span.request(self.keys.index_name, query)
                    result = self._client.ft(self.keys.index_name).search(q)
                except ResponseError as exc:
                    text = str(exc).lower()
                    if "no such index" in text or "unknown index" in text:
                        raise SearchUnavailableError(
                            f"the search index {self.keys.index_name!r} does not "
                            "exist: run setup() once"
                        ) from exc
                    raise
            docs = result.docs
            span.response([doc.id for doc in docs])
            for doc in docs:
                yield doc.id
            if len(docs) < _PAGE:
                return
            offset += len(docs)

    # -- whole threads -------------------------------------------------------

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
    ) -> None:
        """Prune threads: ``"keep_latest"``, or ``"delete"`` / ``"delete_all"``.

        ``"keep_latest"`` keeps each namespace's checkpoint with its pending
        writes and drops anything else the thread holds (the parent's
        writes, writes with no checkpoint). ``"delete"`` removes the threads;
        ``"delete_all"`` is the same (the name the LangGraph server's gRPC
        runtime sends). An empty list does nothing. One round trip per
        thread.
        """
        op = "prune"
        if strategy not in PRUNE_STRATEGIES:
            raise InvalidConfigError(
                f"{op}: strategy must be one of "
                f"{', '.join(map(repr, PRUNE_STRATEGIES))}, got {strategy!r}"
            )
        if isinstance(thread_ids, (str, bytes)):
            raise InvalidConfigError(
                f"{op}: thread_ids must be a list of ids, not a str"
            )
        tids = [parse_thread_id(t, op) for t in thread_ids]
        script = (
            scripts.PRUNE_KEEP_LATEST
            if strategy == "keep_latest"
            else scripts.DELETE_THREAD
        )
        with self._telemetry.span("prune") as span:
            span.set(THREADS, len(tids))
            if tids:
                self._before_write(op, span)
            for tid in tids:
                with storage_errors("prune", tid):
                    self._run(
                        script,
                        self.keys.thread_script_keys(tid),
                        self._deletion_args(tid),
                        span,
                    )

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Make the target thread a copy of the source thread.

        The target gets every namespace's checkpoint and pending writes of
        the source, replacing whatever it held; the source is unchanged.
        Values are copied as stored; the metadata's ``thread_id`` names the
        target, as in the LangGraph server's own copy. Two round trips: one
        read, one atomic write.
        """
        src = parse_thread_id(source_thread_id, "copy_thread")
        dst = parse_thread_id(target_thread_id, "copy_thread")
        if src == dst:
            return
        args: list[Any] = [
            *self.keys.thread_key_prefixes(dst),
            self._ttl_ms,
            BASE_SUFFIX,
            HISTORY_SUFFIX,
        ]
        with self._telemetry.span("copy_thread", src) as span:
            span.thread(TARGET_THREAD_ID, dst)
            threads = self._read_thread(src, "copy_thread", span)
            for ns, fields, entry, history in threads:
                hash_fields, entry = layout.retarget(self.serde, fields, entry, dst)
                history, _ = layout.retarget(self.serde, history, [], dst)
                # no rollback base: the copy starts its own runs
                layout.pack_namespace(args, ns, hash_fields, entry, [], history)
            self._before_write("copy_thread", span)
            with storage_errors("copy_thread", dst):
                self._run(
                    scripts.WRITE_THREAD,
                    self.keys.thread_script_keys(dst),
                    args,
                    span,
                )

    def dump_thread(self, thread_id: str) -> Sequence[layout.StoredNamespace]:
        """Every namespace of the thread exactly as stored, for backups,
        sorted by namespace.

        One round trip, one instant: the namespace hashes (checkpoint and
        pending writes, values as the serde wrote them, so encrypted values
        stay encrypted), their search entries and rollback bases. An empty
        list for a thread that does not exist. Reads refresh no TTL.
        """
        tid = parse_thread_id(thread_id, "dump_thread")
        with self._telemetry.span("dump_thread", tid) as span:
            with storage_errors("dump_thread", tid):
                reply = self._run(
                    scripts.DUMP_THREAD,
                    self.keys.thread_script_keys(tid),
                    (*self.keys.thread_key_prefixes(tid), BASE_SUFFIX, HISTORY_SUFFIX),
                    span,
                    write=False,
                )
        return layout.stored_namespaces(reply)

    def restore_thread(
        self, thread_id: str, namespaces: Sequence[layout.StoredNamespace]
    ) -> None:
        """Make the thread hold exactly ``namespaces`` (from ``adump_thread``).

        Replaces whatever the thread held, in one atomic round trip (plus a
        check of the server's modules on first use); the keys get the saver's
        TTL. Bytes are written as given. On a server with Search, a namespace
        without a search entry (dumped where there was no Search) gets one
        built from its metadata, which the saver's serde must be able to
        read; on a server without Search, entries and rollback bases are
        left out, as the saver never writes them there. An empty list
        deletes the thread.
        """
        op = "restore_thread"
        tid = parse_thread_id(thread_id, op)
        with self._telemetry.span("restore_thread", tid) as span:
            self._has_search(op, tid, span)
            args: list[Any] = [
                *self.keys.thread_key_prefixes(tid),
                self._ttl_ms,
                BASE_SUFFIX,
                HISTORY_SUFFIX,
            ]
            for stored in namespaces:
                entry: list[bytes] = []
                base: list[bytes] = []
                if self._search:
                    entry = layout.hset_args(stored.entry) or layout.entry_fields(
                        self.serde, stored.fields
                    )
                    base = layout.hset_args(stored.base)
                layout.pack_namespace(
                    args,
                    stored.checkpoint_ns,
                    layout.hset_args(stored.fields),
                    entry,
                    base,
                    layout.hset_args(stored.history),
                )
            self._before_write(op, span)
            with storage_errors(op, tid):
                self._run(
                    scripts.WRITE_THREAD,
                    self.keys.thread_script_keys(tid),
                    args,
                    span,
                )

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Undo what these runs wrote (LangGraph server's rollback).

        Finds the namespaces whose checkpoint one of these runs wrote,
        through the search index by their ``run_id`` metadata. A shallow
        saver keeps one checkpoint per namespace, and it also carries every
        earlier turn, so:

        - where the run wrote everything the namespace holds (it created the
          thread), the namespace is deleted;
        - where it wrote over another run's checkpoint, that checkpoint (with
          its pending writes), kept aside when the run started, is restored:
          the thread goes back to where the run found it.

        If any namespace found can be neither (its state before the run is
        not kept: it expired, or was written before this version), nothing
        is changed and ``DeleteRefusedError`` names those threads.

        Raises:
            SearchUnavailableError: the server has no Search module.
            DeleteRefusedError: undoing would lose other runs' state.
        """
        op = "delete_for_runs"
        if isinstance(run_ids, (str, bytes)):
            raise InvalidConfigError(f"{op}: run_ids must be a list, not a str")
        tokens = filter_tokens_any("run_id", [str(r) for r in run_ids])
        if not tokens:
            return
        query = query_string(tokens, any_of=True)
        with self._telemetry.span("delete_for_runs") as span:
            found = [
                self.keys.split_entry(key) for key in self._search_keys(query, op, span)
            ]
            span.set(NAMESPACES, len(found))
            for mode in ("check", "delete"):
                shared: list[tuple[str, str]] = []
                for thread_id, ns in found:
                    with storage_errors(op, thread_id):
                        if mode == "delete":
                            self._before_write(op, span)
                        outcome = self._run(
                            scripts.DELETE_IF_TOKEN,
                            (
                                *self.keys.for_namespace(thread_id, ns),
                                self.keys.rollback_base(thread_id, ns),
                                self.keys.tombstone(thread_id),
                                self.keys.history(thread_id, ns),
                            ),
                            (
                                mode,
                                encode_namespace(ns),
                                self._tombstone_ms,
                                *tokens,
                            ),
                            span,
                            write=mode == "delete",
                        )
                    if outcome == 2:
                        shared.append((thread_id, ns))
                if shared:
                    raise DeleteRefusedError(list(run_ids), shared)

    # -- copying from another saver -----------------------------------------

    def copy_from(
        self,
        source: BaseCheckpointSaver[Any],
        *,
        thread_ids: Sequence[str] | None = None,
    ) -> transfer.CopySummary:
        """Copy the latest checkpoint of each thread and namespace of
        another saver into this one, with that checkpoint's pending writes
        (with ``keep_last`` above 1, the ``keep_last`` latest ones, oldest
        first, each with its parent while the parent is among them).

        ``source`` is any LangGraph saver that can ``alist``
        (``InMemorySaver``, the SQLite, Postgres and MongoDB savers,
        ``langgraph-checkpoint-redis``'s savers, another of these). With
        ``thread_ids`` only those threads are read, else every thread
        ``source.alist(None)`` yields. Values are copied as the source
        returns them, channel versions included (string versions go on as
        strings, see ``get_next_version``).

        The pending writes are those the source lists with the checkpoint.
        ``langgraph-checkpoint-redis``'s shallow savers list stale writes of
        older checkpoints there too; for their data use the ``migrate``
        command (``python -m langgraph.checkpoint.redis_shallow migrate``),
        which reads their keys and drops those.

        Idempotent: a namespace that already holds the source's checkpoint
        is written again to the same state, and one that holds a newer
        checkpoint (the graph went on here) is left alone and counted as
        ``skipped_newer``.

        Returns:
            What was copied: threads, namespaces, writes, skipped namespaces.
        """
        op = "copy_from"
        if not isinstance(source, BaseCheckpointSaver):
            raise InvalidConfigError(
                f"{op}: source must be a LangGraph checkpoint saver, "
                f"got {type(source).__name__}"
            )
        tids = transfer.parse_thread_ids(thread_ids, op)
        with self._telemetry.span("copy_from", internal=True) as span:
            latest = transfer.Latest(self.keep_last)
            if tids is None:
                for tup in source.list(None):
                    latest.add(tup)
            else:
                for tid in tids:
                    config: RunnableConfig = {"configurable": {"thread_id": tid}}
                    for tup in source.list(config):
                        latest.add(tup)
            summary = transfer.CopySummary()
            copied: set[tuple[str, str, str]] = set()
            for tup in latest.tuples():
                self._copy_tuple(source, tup, summary, copied)
            span.set(THREADS, summary.threads)
            span.set(NAMESPACES, summary.namespaces)
            span.set(WRITES, summary.writes)
            return summary

    def _holds(self, thread_id: str, ns: str, checkpoint_id: str) -> bool:
        """Whether the window of (thread, ns) holds ``checkpoint_id``."""
        try:
            config = layout.make_config(thread_id, ns, checkpoint_id)
            return self.get_tuple(config) is not None
        except StaleCheckpointError:
            return False

    def _copy_tuple(
        self,
        source: BaseCheckpointSaver[Any],
        tup: CheckpointTuple,
        summary: transfer.CopySummary,
        copied: set[tuple[str, str, str]],
    ) -> None:
        thread_id, ns, checkpoint_id = transfer.address(tup)
        where: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": ns}
        }
        stored = self.get_tuple(where)
        if stored is not None and stored.checkpoint["id"] > checkpoint_id:
            summary.skipped_newer += 1
            if self.keep_last > 1 and self._holds(thread_id, ns, checkpoint_id):
                copied.add((thread_id, ns, checkpoint_id))  # a parent to name
            return
        parent = transfer.parent_id(tup)
        if parent is not None and (thread_id, ns, parent) in copied:
            where = layout.make_config(thread_id, ns, parent)
        config = self.put(
            where,
            tup.checkpoint,
            tup.metadata,
            tup.checkpoint["channel_versions"],
        )
        for task_id, writes in transfer.writes_by_task(tup.pending_writes or []):
            self.put_writes(config, writes, task_id)
            summary.writes += len(writes)
        channels = layout.delta_channels(tup.checkpoint, tup.metadata)
        if channels:
            history = source.get_delta_channel_history(
                config=tup.config, channels=channels
            )
            args = layout.build_delta_import(self.serde, history, self.compression)
            with self._telemetry.span("put_delta_history", thread_id, ns) as span:
                with storage_errors("copy_from", thread_id):
                    self._run(
                        scripts.PUT_DELTA,
                        (self.keys.for_namespace(thread_id, ns)[0],),
                        (checkpoint_id, *args),
                        span,
                    )
        summary.add_checkpoint(thread_id, ns)
        copied.add((thread_id, ns, checkpoint_id))
