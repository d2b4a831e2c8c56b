"""The saver package of one variant; ``_async`` is the source of ``_sync``."""

from .saver import AsyncShallowRedisSaver

__all__ = ["AsyncShallowRedisSaver"]
