"""Exceptions raised by the shallow Redis savers.

Every error the savers raise on purpose derives from :class:`ShallowRedisError`,
so callers can catch them in one place. Errors coming from the Redis client
(connection loss, timeouts, ``OOM`` and ``READONLY`` replies) are wrapped in
:class:`StorageError`, which names the operation and the thread and keeps the
original exception as ``__cause__``: :func:`storage_errors` is the one place
that does it (as httpcore's ``map_exceptions``), :func:`client_races` the one
that turns redis-py's own reconnection races into a lost connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError, ResponseError

__all__ = [
    "BackupFormatError",
    "DeleteRefusedError",
    "InvalidConfigError",
    "LayoutVersionError",
    "ReplicationError",
    "SearchUnavailableError",
    "SerializationError",
    "ShallowRedisError",
    "StaleCheckpointError",
    "StorageError",
    "ThreadDeletedError",
    "UnsupportedChannelError",
    "UpstreamMissingError",
    "UpstreamSourceError",
    "client_race",
    "client_races",
    "lost_connection",
    "storage_errors",
]


class ShallowRedisError(Exception):
    """Base class of every error raised on purpose by this package."""


class InvalidConfigError(ShallowRedisError, ValueError):
    """A config, a saver argument or an id is unusable.

    Raised before anything is sent to Redis, so nothing is written.
    """


class SerializationError(ShallowRedisError, ValueError):
    """The serde could not serialize a value; the message names the channel.

    Raised before anything is sent to Redis, so nothing is written.
    """


class UnsupportedChannelError(ShallowRedisError, ValueError):
    """A ``put`` of a checkpoint with a ``DeltaChannel`` that LangGraph
    rebuilds from its history, on a saver with ``keep_last`` above 1.

    The saver keeps a delta channel's history for the newest checkpoint
    only, so replaying or forking from an older checkpoint of the window
    would rebuild the channel wrong; the ``put`` is refused, before anything
    is written. Use ``keep_last=1`` for graphs with delta channels, or a
    ``snapshot_frequency`` of 1. (In 0.1.0 every saver raised it for such a
    checkpoint; ``keep_last=1`` has kept delta history since.)
    """


class StaleCheckpointError(ShallowRedisError, ValueError):
    """A ``put`` started from a checkpoint that is no longer the stored one.

    The config named checkpoint ``config_checkpoint_id`` (typically a config
    taken from ``graph.get_state`` before the thread moved on); a shallow
    saver keeps only ``stored_checkpoint_id``, so LangGraph found nothing to
    resume from and would have started over, overwriting the thread. Nothing
    was written. Drop ``checkpoint_id`` from the config to continue from the
    stored checkpoint.
    """

    def __init__(
        self,
        thread_id: str,
        checkpoint_ns: str,
        config_checkpoint_id: str | None,
        stored_checkpoint_id: bytes | str,
    ) -> None:
        if isinstance(stored_checkpoint_id, bytes):
            stored_checkpoint_id = stored_checkpoint_id.decode("utf-8", "replace")
        self.thread_id = thread_id
        self.checkpoint_ns = checkpoint_ns
        self.config_checkpoint_id = config_checkpoint_id
        self.stored_checkpoint_id = stored_checkpoint_id
        if config_checkpoint_id is None:  # a late first checkpoint of a run
            super().__init__(
                f"thread {thread_id!r} namespace {checkpoint_ns!r} holds "
                f"checkpoint {stored_checkpoint_id!r}, newer than this put's "
                "checkpoint, which has no parent: the first checkpoint of a run "
                "that started on an empty thread, arriving after another run "
                "wrote; nothing was written."
            )
            return
        super().__init__(
            f"thread {thread_id!r} namespace {checkpoint_ns!r} holds checkpoint "
            f"{stored_checkpoint_id!r}, but the config names checkpoint "
            f"{config_checkpoint_id!r}, which a shallow saver no longer keeps; "
            "nothing was written. To continue from the stored checkpoint, drop "
            "'checkpoint_id' from the config (for example "
            f"{{'configurable': {{'thread_id': {thread_id!r}}}}})."
        )


class ThreadDeletedError(StaleCheckpointError):
    """A late write for a checkpoint that a deletion removed.

    The thread (or, after a rollback, the namespace) was deleted, and this
    ``put`` descends from a checkpoint the deletion removed, or this
    ``put_writes`` is for one: a run that was cancelled or deleted while it
    wrote is finishing. Nothing was written, so the thread stays deleted.
    A new run on the same thread id (a config without ``checkpoint_id``)
    starts it afresh at once. The saver remembers a deletion for
    :data:`.layout.TOMBSTONE_TTL_MS` (see :meth:`.keys.Keys.tombstone`).
    ``stored_checkpoint_id`` is the newest checkpoint id the deletion removed.
    """

    def __init__(
        self,
        thread_id: str,
        checkpoint_ns: str,
        config_checkpoint_id: str | None,
        deleted_checkpoint_id: bytes | str,
    ) -> None:
        super().__init__(
            thread_id, checkpoint_ns, config_checkpoint_id, deleted_checkpoint_id
        )
        self.args = (
            f"thread {thread_id!r} namespace {checkpoint_ns!r} was deleted, and "
            f"this write is for checkpoint {config_checkpoint_id!r}, which descends "
            "from what the deletion removed (a late write of a cancelled or "
            "deleted run); nothing was written. A new run (a config without "
            "'checkpoint_id') starts the thread afresh.",
        )


class BackupFormatError(ShallowRedisError, ValueError):
    """A file is not a backup this version can read (see :mod:`.backup`):
    not an export at all, an unknown format version or storage layout, or
    a damaged or truncated record. The message names the file and line."""


class DeleteRefusedError(ShallowRedisError, RuntimeError):
    """``delete_for_runs`` would delete state that other runs produced.

    A shallow saver keeps one checkpoint per namespace: the checkpoint a run
    wrote also carries every earlier turn of its thread. It keeps the
    checkpoint each run started from, to restore it; where that is gone
    (expired, or written before this version) deleting would lose the other
    runs' work, so nothing is changed. ``namespaces`` lists the
    ``(thread_id, checkpoint_ns)`` pairs concerned.
    """

    def __init__(self, run_ids: list[str], namespaces: list[tuple[str, str]]):
        self.run_ids = run_ids
        self.namespaces = namespaces
        shown = ", ".join(f"{t!r} ns {n!r}" for t, n in namespaces[:5])
        more = f" and {len(namespaces) - 5} more" if len(namespaces) > 5 else ""
        super().__init__(
            f"delete_for_runs({run_ids!r}) refused: the checkpoint of thread "
            f"{shown}{more} also holds what earlier runs wrote, and the state "
            "before the run is no longer kept (expired, or stored before it "
            "was kept), so deleting it would lose their state. Nothing was "
            "deleted. Use delete_thread to remove a whole thread."
        )


class LayoutVersionError(ShallowRedisError, RuntimeError):
    """The server holds this saver's keys in a storage layout it cannot use.

    Raised by ``setup`` (or the first write of a saver that never ran it)
    before anything is written. The message names both layout versions and
    what to do.
    """


class SearchUnavailableError(ShallowRedisError, RuntimeError):
    """The operation needs the Redis Search module, which the server lacks.

    Listing across threads and metadata filters use a RediSearch index.
    Everything else works on a plain Redis.
    """


class StorageError(ShallowRedisError, RuntimeError):
    """A Redis command failed; the message names the operation and thread.

    The original redis-py exception is kept as ``__cause__``. The stored
    state is never half-written: every write is one atomic Redis step, so
    after this error the thread holds either its previous checkpoint with
    its own writes, or the new one with its own.
    """

    def __init__(self, operation: str, thread_id: str | None, cause: BaseException):
        self.operation = operation
        self.thread_id = thread_id
        where = f" on thread {thread_id!r}" if thread_id is not None else ""
        super().__init__(f"{operation}{where} failed: {type(cause).__name__}: {cause}")


class ReplicationError(ShallowRedisError, RuntimeError):
    """A write is on the primary but not yet on enough replicas.

    Raised by a saver made with ``wait_for_replicas`` (or ``wait_for_aof``)
    when, within ``wait_timeout``, fewer replicas acknowledged the write than
    required (or the append-only file was not synced). The write itself
    succeeded and is not undone: the primary holds it and readers see it,
    but if the primary fails before a replica has it, a failover can lose
    it. Every write of the saver is idempotent, so the caller may retry the
    operation (it is then written and waited for again), carry on and
    accept the risk, or stop.

    Attributes:
        acknowledged: replicas that acknowledged the write in time.
        required: replicas the saver was told to wait for.
        aof_synced: ``None`` without ``wait_for_aof``; else whether the
            primary's append-only file had the write on disk in time.
        timeout: the ``wait_timeout`` in seconds.
    """

    def __init__(
        self,
        acknowledged: int,
        required: int,
        timeout: float,
        aof_synced: bool | None = None,
    ) -> None:
        self.acknowledged = acknowledged
        self.required = required
        self.timeout = timeout
        self.aof_synced = aof_synced
        problems = []
        if acknowledged < required:
            problems.append(
                f"only {acknowledged} of the {required} replicas required "
                "(wait_for_replicas) acknowledged it"
            )
        if aof_synced is False:
            problems.append("the primary's append-only file did not sync it")
        super().__init__(
            "the write is on the primary but not yet durable: "
            + " and ".join(problems)
            + f" within {timeout:g} s (wait_timeout). It was not undone; a "
            "failover before the replicas catch up can lose it. Retrying the "
            "operation is safe (writes are idempotent)."
        )


class UpstreamSourceError(ShallowRedisError, RuntimeError):
    """The migration source cannot be read as ``langgraph-checkpoint-redis``
    data (no RedisJSON module), or a thread changed while it was read."""


class UpstreamMissingError(ShallowRedisError, ImportError):
    """``langgraph-checkpoint-redis`` (needed to decode its data while
    migrating) is not installed; the message says how to install it."""


@contextmanager
def storage_errors(operation: str, thread_id: str | None) -> Iterator[None]:
    """Raise what redis-py raises in the block as :class:`StorageError`
    naming ``operation`` and ``thread_id`` (the redis-py error as its
    ``__cause__``). A plain ``with``, so the generated sync code uses it
    as it is; keep the block to the Redis I/O."""
    try:
        yield
    except RedisError as exc:
        raise StorageError(operation, thread_id, exc) from exc


def client_race(exc: Exception) -> bool:
    """Whether ``exc`` is one of redis-py's own errors when a node dies
    while it reconnects or re-reads a cluster's nodes, rather than a bug of
    ours: an ``AttributeError`` (its stream writer already ``None``, seen in
    cluster failovers) or, in redis-py 6.0's sync cluster client shared by
    threads, ``RuntimeError: dictionary changed size during iteration``
    (``NodesManager.initialize``; later redis-py versions lock it)."""
    if isinstance(exc, AttributeError):
        return True
    return isinstance(exc, RuntimeError) and "changed size during iteration" in str(exc)


def lost_connection(exc: Exception) -> RedisConnectionError:
    """The error for :func:`client_race`'s errors, so that callers get
    ``StorageError`` like any lost connection (the write may or may not
    have happened; every write is idempotent)."""
    return RedisConnectionError(
        "the connection was lost while redis-py reconnected "
        f"({type(exc).__name__}: {exc})"
    )


DEMOTED_PRIMARY = "The previous master is now a slave"
"""redis-py's ``ConnectionError`` message when a Sentinel-managed connection
gets ``READONLY``: the server it was connected to is a replica now."""


def off_the_primary(exc: Exception) -> bool:
    """Whether a write's ``exc`` says it may have reached a server that is
    not (or soon not) the primary: too few replicas acknowledged it
    (:class:`ReplicationError`, as on a primary cut off from its replicas),
    the server refused it for want of replicas (``NOREPLICAS``, its
    ``min-replicas-to-write``), or it is read-only (a demoted primary). The
    saver then asks the Sentinels whether the primary moved (see
    ``docs/reliability.md``, "Partitions")."""
    if isinstance(exc, (ReplicationError, ReadOnlyError)):
        return True
    if isinstance(exc, ResponseError):  # before Redis 7, inside a script's error
        return "NOREPLICAS" in str(exc)
    return isinstance(exc, RedisConnectionError) and str(exc) == DEMOTED_PRIMARY


@contextmanager
def client_races() -> Iterator[None]:
    """Raise :func:`client_race`'s errors in the block as a lost connection
    (:func:`lost_connection`); keep the block to one redis-py call."""
    try:
        yield
    except (AttributeError, RuntimeError) as exc:
        if not client_race(exc):
            raise
        raise lost_connection(exc) from exc
