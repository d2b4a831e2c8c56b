"""Exceptions raised by the shallow Redis savers.

Every error the savers raise on purpose derives from :class:`ShallowRedisError`,
so callers can catch them in one place. Errors coming from the Redis client
(connection loss, timeouts, ``OOM`` and ``READONLY`` replies) are wrapped in
:class:`StorageError`, which names the operation and the thread and keeps the
original exception as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "InvalidConfigError",
    "SearchUnavailableError",
    "SerializationError",
    "ShallowRedisError",
    "StorageError",
    "UnsupportedChannelError",
    "WrongApiError",
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
    """A channel needs history that a shallow saver does not keep.

    LangGraph's ``DeltaChannel`` stores only deltas between snapshots and
    rebuilds its value by replaying ancestor checkpoints; a saver that keeps
    one checkpoint cannot. ``put`` raises this, before writing anything,
    when a checkpoint holds such a delta. Use
    ``DeltaChannel(..., snapshot_frequency=1)``, which stores the full value
    whenever it changes and works with this saver.
    """


class WrongApiError(ShallowRedisError, TypeError):
    """A sync method was called on the async saver, or the other way round.

    The message names the class to use instead. The savers never bridge
    between the two APIs.
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
