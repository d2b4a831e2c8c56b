"""The async saver (hand-written; ``_sync`` is generated from this package)."""

from .saver import AsyncShallowRedisSaver

__all__ = ["AsyncShallowRedisSaver"]
