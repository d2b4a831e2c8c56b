"""Shallow LangGraph checkpoint savers for Redis.

``AsyncShallowRedisSaver`` serves async graphs, ``ShallowRedisSaver`` sync
graphs; each also serves the other API natively. Both keep only the latest
checkpoint of each thread and namespace, with its pending writes. The sync
saver is generated from the async one. ``server_checkpointer`` is a
checkpointer for the LangGraph server (``langgraph.json``).
"""

from ._async.saver import AsyncShallowRedisSaver
from ._sync.saver import ShallowRedisSaver
from .compression import Compression
from .config import TTLSettings
from .errors import (
    DeleteRefusedError,
    InvalidConfigError,
    LayoutVersionError,
    ReplicationError,
    SearchUnavailableError,
    SerializationError,
    ShallowRedisError,
    StaleCheckpointError,
    StorageError,
    ThreadDeletedError,
    UnsupportedChannelError,
)
from .server import server_checkpointer
from .transfer import CopySummary

__all__ = [
    "AsyncShallowRedisSaver",
    "Compression",
    "CopySummary",
    "DeleteRefusedError",
    "InvalidConfigError",
    "LayoutVersionError",
    "ReplicationError",
    "SearchUnavailableError",
    "SerializationError",
    "ShallowRedisError",
    "ShallowRedisSaver",
    "StaleCheckpointError",
    "StorageError",
    "TTLSettings",
    "ThreadDeletedError",
    "UnsupportedChannelError",
    "server_checkpointer",
]
