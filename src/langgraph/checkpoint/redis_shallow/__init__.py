"""Shallow LangGraph checkpoint savers for Redis.

``AsyncShallowRedisSaver`` serves async graphs, ``ShallowRedisSaver`` sync
graphs. Both keep only the latest checkpoint of each thread and namespace,
with its pending writes. The sync saver is generated from the async one.
"""

from ._async.saver import AsyncShallowRedisSaver
from ._sync.saver import ShallowRedisSaver
from .config import TTLSettings
from .errors import (
    InvalidConfigError,
    SearchUnavailableError,
    SerializationError,
    ShallowRedisError,
    StorageError,
    UnsupportedChannelError,
    WrongApiError,
)

__all__ = [
    "AsyncShallowRedisSaver",
    "InvalidConfigError",
    "SearchUnavailableError",
    "SerializationError",
    "ShallowRedisError",
    "ShallowRedisSaver",
    "StorageError",
    "TTLSettings",
    "UnsupportedChannelError",
    "WrongApiError",
]
