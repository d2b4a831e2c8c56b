# This file is generated from src/langgraph/checkpoint/redis_shallow/_async/__init__.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The saver package of one variant; ``_async`` is the source of ``_sync``."""

from .saver import ShallowRedisSaver

__all__ = ["ShallowRedisSaver"]
