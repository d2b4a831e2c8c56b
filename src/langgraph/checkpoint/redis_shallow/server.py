"""A checkpointer for LangGraph's own server (``langgraph dev``, LangSmith
deployments), configured from the environment.

In ``langgraph.json``::

    "checkpointer": {"path": "langgraph.checkpoint.redis_shallow.server_checkpointer"}

The server enters :func:`server_checkpointer` at start-up, uses the
``AsyncShallowRedisSaver`` it yields for every run and thread operation, and
leaves it on shutdown, which closes the saver's clients.

Environment variables (an empty value counts as unset):

- ``REDIS_URL``: the Redis server (default ``redis://localhost:6379``); any
  URL the saver takes (``redis://``, ``rediss://``, ``unix://``,
  ``redis+sentinel://``).
- ``LANGGRAPH_REDIS_TTL_MINUTES``: every key of a thread expires this many
  minutes after its last write (a positive number); unset: keys never expire.
- ``LANGGRAPH_REDIS_TTL_REFRESH_ON_READ``: ``true`` or ``false`` (also
  ``1``/``0``, ``yes``/``no``, ``on``/``off``; default ``false``): reads
  restart the expiry too. Needs ``LANGGRAPH_REDIS_TTL_MINUTES``.
- ``LANGGRAPH_REDIS_CHECKPOINT_PREFIX``: prefix of the checkpoint keys
  (default ``lgshallow:cp``).
- ``LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX``: prefix of the search entries
  (default ``lgshallow:w``).
- ``LANGGRAPH_REDIS_COMPRESSION``: ``true`` or ``false`` (default ``true``):
  whether large values are stored zstd-compressed.
- ``LANGGRAPH_REDIS_COMPRESSION_THRESHOLD``, ``LANGGRAPH_REDIS_COMPRESSION_LEVEL``:
  the smallest serialized value (bytes) that is compressed and the zstd
  level (defaults: those of ``Compression``). Need compression on.
- ``LANGGRAPH_REDIS_WAIT_FOR_REPLICAS``: an integer >= 0 (default 0): every
  write returns only once that many replicas hold it (the saver's
  ``wait_for_replicas``); ``LANGGRAPH_REDIS_WAIT_TIMEOUT``: how long a write
  waits for them, in seconds (default 1); ``LANGGRAPH_REDIS_WAIT_FOR_AOF``:
  ``true`` or ``false`` (default ``false``): wait for the append-only file
  too (Redis 7.2 and later). The two need ``..._WAIT_FOR_REPLICAS`` above 0
  or ``..._WAIT_FOR_AOF`` on.
- ``LANGGRAPH_REDIS_TRACE_THREAD_IDS``: ``true`` or ``false`` (default
  ``false``): put thread ids on the OpenTelemetry spans and in the log
  (they can be personal data).
- ``LANGGRAPH_REDIS_KEEP_LAST``: an integer from 1 to 1000 (default 1): how
  many checkpoints of each thread and namespace to keep (the saver's
  ``keep_last``). Above 1, the server's history endpoint, time travel and
  a chat front end's "edit" and "regenerate" (forks from an earlier
  checkpoint) work within that window.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from ._async.saver import AsyncShallowRedisSaver
from .compression import Compression
from .config import parse_keep_last
from .connection import DEFAULT_REDIS_URL
from .durability import DEFAULT_WAIT_TIMEOUT, parse_durability
from .errors import InvalidConfigError
from .keys import DEFAULT_CHECKPOINT_PREFIX, DEFAULT_WRITE_PREFIX, validate_prefixes

__all__ = [
    "DEFAULT_REDIS_URL",
    "ENV_CHECKPOINT_PREFIX",
    "ENV_CHECKPOINT_WRITE_PREFIX",
    "ENV_COMPRESSION",
    "ENV_COMPRESSION_LEVEL",
    "ENV_COMPRESSION_THRESHOLD",
    "ENV_KEEP_LAST",
    "ENV_REDIS_URL",
    "ENV_TRACE_THREAD_IDS",
    "ENV_TTL_MINUTES",
    "ENV_TTL_REFRESH_ON_READ",
    "ENV_WAIT_FOR_AOF",
    "ENV_WAIT_FOR_REPLICAS",
    "ENV_WAIT_TIMEOUT",
    "ServerSettings",
    "server_checkpointer",
    "settings_from_env",
]

#: The Redis server's URL.
ENV_REDIS_URL = "REDIS_URL"
#: Minutes after a thread's last write at which its keys expire.
ENV_TTL_MINUTES = "LANGGRAPH_REDIS_TTL_MINUTES"
#: Whether reads restart the expiry (``true``/``false``).
ENV_TTL_REFRESH_ON_READ = "LANGGRAPH_REDIS_TTL_REFRESH_ON_READ"
#: Prefix of the checkpoint keys.
ENV_CHECKPOINT_PREFIX = "LANGGRAPH_REDIS_CHECKPOINT_PREFIX"
#: Prefix of the search entries.
ENV_CHECKPOINT_WRITE_PREFIX = "LANGGRAPH_REDIS_CHECKPOINT_WRITE_PREFIX"
#: Whether large values are stored compressed (``true``/``false``).
ENV_COMPRESSION = "LANGGRAPH_REDIS_COMPRESSION"
#: The smallest serialized value, in bytes, that is compressed.
ENV_COMPRESSION_THRESHOLD = "LANGGRAPH_REDIS_COMPRESSION_THRESHOLD"
#: The zstd level.
ENV_COMPRESSION_LEVEL = "LANGGRAPH_REDIS_COMPRESSION_LEVEL"
#: Replicas that must acknowledge each write.
ENV_WAIT_FOR_REPLICAS = "LANGGRAPH_REDIS_WAIT_FOR_REPLICAS"
#: Seconds a write waits for its replicas.
ENV_WAIT_TIMEOUT = "LANGGRAPH_REDIS_WAIT_TIMEOUT"
#: Whether writes also wait for the append-only file (``true``/``false``).
ENV_WAIT_FOR_AOF = "LANGGRAPH_REDIS_WAIT_FOR_AOF"
#: Whether spans and log records carry thread ids (``true``/``false``).
ENV_TRACE_THREAD_IDS = "LANGGRAPH_REDIS_TRACE_THREAD_IDS"
#: How many checkpoints of each thread and namespace to keep.
ENV_KEEP_LAST = "LANGGRAPH_REDIS_KEEP_LAST"
#: ``REDIS_URL`` when it is unset.

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class ServerSettings:
    """The saver's options, as read from the environment.

    Attributes:
        redis_url: URL of the Redis server.
        ttl: the saver's ``ttl`` argument, or ``None`` for keys that never
            expire.
        checkpoint_prefix: prefix of the checkpoint keys.
        checkpoint_write_prefix: prefix of the search entries.
        compression: the saver's ``compression`` argument (``None``: off).
        wait_for_replicas: the saver's ``wait_for_replicas``.
        wait_timeout: the saver's ``wait_timeout`` (seconds).
        wait_for_aof: the saver's ``wait_for_aof``.
        trace_thread_ids: the saver's ``trace_thread_ids``.
        keep_last: the saver's ``keep_last``.
    """

    redis_url: str = DEFAULT_REDIS_URL
    ttl: dict[str, Any] | None = None
    checkpoint_prefix: str = DEFAULT_CHECKPOINT_PREFIX
    checkpoint_write_prefix: str = DEFAULT_WRITE_PREFIX
    compression: Compression | None = field(default_factory=Compression)
    wait_for_replicas: int = 0
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    wait_for_aof: bool = False
    trace_thread_ids: bool = False
    keep_last: int = 1

    def saver_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``AsyncShallowRedisSaver``."""
        return {
            "redis_url": self.redis_url,
            "ttl": self.ttl,
            "checkpoint_prefix": self.checkpoint_prefix,
            "checkpoint_write_prefix": self.checkpoint_write_prefix,
            "compression": self.compression,
            "wait_for_replicas": self.wait_for_replicas,
            "wait_timeout": self.wait_timeout,
            "wait_for_aof": self.wait_for_aof,
            "trace_thread_ids": self.trace_thread_ids,
            "keep_last": self.keep_last,
        }


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _parse_minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        raise InvalidConfigError(
            f"{ENV_TTL_MINUTES} must be a number of minutes, got {text!r}"
        ) from None
    if not math.isfinite(minutes) or minutes <= 0:
        raise InvalidConfigError(
            f"{ENV_TTL_MINUTES} must be a positive, finite number of minutes, "
            f"got {text!r}"
        )
    if round(minutes * 60_000) < 1:
        raise InvalidConfigError(f"{ENV_TTL_MINUTES}={text!r} is under one millisecond")
    return int(minutes) if minutes.is_integer() else minutes


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidConfigError(
        f"{name} must be true or false (1/0, yes/no, on/off), got {text!r}"
    )


def _parse_int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidConfigError(f"{name} must be an integer, got {text!r}") from None


def _compression_from_env(environ: Mapping[str, str]) -> Compression | None:
    on_text = _get(environ, ENV_COMPRESSION)
    on = _parse_bool(ENV_COMPRESSION, on_text) if on_text is not None else True
    given = {
        field: _parse_int(name, text)
        for field, name in (
            ("threshold", ENV_COMPRESSION_THRESHOLD),
            ("level", ENV_COMPRESSION_LEVEL),
        )
        if (text := _get(environ, name)) is not None
    }
    if not on:
        if given:
            raise InvalidConfigError(
                f"{ENV_COMPRESSION} is false but {ENV_COMPRESSION_THRESHOLD} or "
                f"{ENV_COMPRESSION_LEVEL} is set: unset them or turn compression on"
            )
        return None
    try:
        return Compression(**given)
    except InvalidConfigError as exc:
        raise InvalidConfigError(
            f"{ENV_COMPRESSION_THRESHOLD} / {ENV_COMPRESSION_LEVEL}: {exc}"
        ) from None


def _durability_from_env(environ: Mapping[str, str]) -> tuple[int, float, bool]:
    replicas_text = _get(environ, ENV_WAIT_FOR_REPLICAS)
    timeout_text = _get(environ, ENV_WAIT_TIMEOUT)
    aof_text = _get(environ, ENV_WAIT_FOR_AOF)
    replicas = _parse_int(ENV_WAIT_FOR_REPLICAS, replicas_text) if replicas_text else 0
    aof = _parse_bool(ENV_WAIT_FOR_AOF, aof_text) if aof_text else False
    timeout: float = DEFAULT_WAIT_TIMEOUT
    if timeout_text is not None:
        if not replicas and not aof:
            raise InvalidConfigError(
                f"{ENV_WAIT_TIMEOUT} is set but writes wait for nothing: set "
                f"{ENV_WAIT_FOR_REPLICAS} above 0 or {ENV_WAIT_FOR_AOF}=true"
            )
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise InvalidConfigError(
                f"{ENV_WAIT_TIMEOUT} must be a number of seconds, got {timeout_text!r}"
            ) from None
    try:
        parse_durability(replicas, timeout, aof)
    except InvalidConfigError as exc:
        names = f"{ENV_WAIT_FOR_REPLICAS} / {ENV_WAIT_TIMEOUT} / {ENV_WAIT_FOR_AOF}"
        raise InvalidConfigError(f"{names}: {exc}") from None
    return replicas, timeout, aof


def settings_from_env(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """Read and validate the saver's options from environment variables.

    Args:
        environ: the variables (``os.environ`` by default).

    Raises:
        InvalidConfigError: a variable's value is unusable; the message
            names the variable.
    """
    if environ is None:
        environ = os.environ
    url = _get(environ, ENV_REDIS_URL) or DEFAULT_REDIS_URL
    minutes_text = _get(environ, ENV_TTL_MINUTES)
    refresh_text = _get(environ, ENV_TTL_REFRESH_ON_READ)
    refresh = (
        _parse_bool(ENV_TTL_REFRESH_ON_READ, refresh_text)
        if refresh_text is not None
        else False
    )
    ttl: dict[str, Any] | None = None
    if minutes_text is not None:
        ttl = {"default_ttl": _parse_minutes(minutes_text), "refresh_on_read": refresh}
    elif refresh:
        raise InvalidConfigError(
            f"{ENV_TTL_REFRESH_ON_READ} is set but {ENV_TTL_MINUTES} is not: "
            "there is no expiry to refresh"
        )
    prefix = _get(environ, ENV_CHECKPOINT_PREFIX) or DEFAULT_CHECKPOINT_PREFIX
    write_prefix = _get(environ, ENV_CHECKPOINT_WRITE_PREFIX) or DEFAULT_WRITE_PREFIX
    try:
        validate_prefixes(prefix, write_prefix)
    except InvalidConfigError as exc:
        raise InvalidConfigError(
            f"{ENV_CHECKPOINT_PREFIX}={prefix!r}, "
            f"{ENV_CHECKPOINT_WRITE_PREFIX}={write_prefix!r}: {exc}"
        ) from None
    compression = _compression_from_env(environ)
    replicas, timeout, aof = _durability_from_env(environ)
    trace_text = _get(environ, ENV_TRACE_THREAD_IDS)
    trace = _parse_bool(ENV_TRACE_THREAD_IDS, trace_text) if trace_text else False
    keep_text = _get(environ, ENV_KEEP_LAST)
    keep_last = 1
    if keep_text is not None:
        try:
            keep_last = parse_keep_last(_parse_int(ENV_KEEP_LAST, keep_text))
        except InvalidConfigError as exc:
            raise InvalidConfigError(f"{ENV_KEEP_LAST}: {exc}") from None
    return ServerSettings(
        url,
        ttl,
        prefix,
        write_prefix,
        compression,
        replicas,
        timeout,
        aof,
        trace,
        keep_last,
    )


@asynccontextmanager
async def server_checkpointer() -> AsyncIterator[AsyncShallowRedisSaver]:
    """Yield an ``AsyncShallowRedisSaver`` configured from the environment.

    For ``langgraph.json``'s ``"checkpointer": {"path": ...}``. Reads the
    variables described in this module (see :func:`settings_from_env`),
    runs ``asetup()`` (layout check, scripts, search index), yields the
    saver and closes its clients on exit.

    Raises:
        InvalidConfigError: an environment variable is unusable.
        StorageError: Redis cannot be reached during setup.
        LayoutVersionError: the server holds another layout version.
    """
    settings = settings_from_env()
    async with AsyncShallowRedisSaver.from_conn_string(
        **settings.saver_kwargs()
    ) as saver:
        await saver.asetup()
        yield saver
