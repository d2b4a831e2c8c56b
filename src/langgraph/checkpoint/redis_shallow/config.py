"""Parsing and validation of saver arguments and LangGraph configs.

Everything here runs before any Redis command, so bad input is refused with
an :class:`~.errors.InvalidConfigError` naming what is wrong and nothing is
written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from uuid import UUID

from .errors import InvalidConfigError

__all__ = [
    "DEFAULT_REDIS_URL",
    "PRUNE_STRATEGIES",
    "SentinelURL",
    "TTLSettings",
    "before_id_of",
    "is_sentinel_url",
    "other_saver_settings",
    "parse_cache_size",
    "parse_sentinel_url",
    "parse_thread_id",
    "parse_ttl",
    "portable_connection_args",
    "redact",
    "sentinel_client_args",
    "target_of",
]


DEFAULT_REDIS_URL = "redis://localhost:6379"
"""The Redis the command line and the LangGraph server factory use when
neither ``--url`` nor ``REDIS_URL`` names one."""

PRUNE_STRATEGIES = ("keep_latest", "delete", "delete_all")
"""The ``strategy`` values ``prune`` accepts: ``"delete_all"`` is the name the
LangGraph server's gRPC runtime sends for ``"delete"``."""


@dataclass(frozen=True)
class TTLSettings:
    """Parsed ``ttl`` argument.

    Attributes:
        ms: time to live of every key of a thread, in milliseconds, or
            ``None`` for no expiry.
        refresh_on_read: whether reads (``get_tuple``, ``list``) push the
            expiry of what they read back to ``ms`` from now.
    """

    ms: int | None = None
    refresh_on_read: bool = False


def parse_ttl(ttl: Mapping[str, Any] | None) -> TTLSettings:
    """Parse ``{"default_ttl": minutes, "refresh_on_read": bool}``."""
    if ttl is None:
        return TTLSettings()
    if not isinstance(ttl, Mapping):
        raise InvalidConfigError(
            f"ttl must be a dict like {{'default_ttl': 60, 'refresh_on_read': True}}, "
            f"got {type(ttl).__name__}"
        )
    unknown = set(ttl) - {"default_ttl", "refresh_on_read"}
    if unknown:
        raise InvalidConfigError(
            f"ttl has unknown keys {sorted(map(str, unknown))}; "
            "allowed: 'default_ttl' (minutes), 'refresh_on_read' (bool)"
        )
    minutes = ttl.get("default_ttl")
    refresh = ttl.get("refresh_on_read", False)
    if not isinstance(refresh, bool):
        raise InvalidConfigError(
            f"ttl['refresh_on_read'] must be a bool, got {refresh!r}"
        )
    if minutes is None:
        return TTLSettings(None, refresh)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        raise InvalidConfigError(
            f"ttl['default_ttl'] must be a number of minutes, got {minutes!r}"
        )
    if not math.isfinite(minutes) or minutes <= 0:
        raise InvalidConfigError(
            f"ttl['default_ttl'] must be a positive, finite number of minutes, "
            f"got {minutes!r}"
        )
    ms = round(minutes * 60_000)
    if ms < 1:
        raise InvalidConfigError(
            f"ttl['default_ttl'] of {minutes!r} minutes is under one millisecond"
        )
    return TTLSettings(ms, refresh)


def parse_cache_size(value: object, name: str) -> None:
    """Check an upstream cache-size argument (accepted and ignored)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidConfigError(
            f"{name} must be None or a positive int, got {value!r} "
            "(it is accepted for drop-in use and otherwise ignored)"
        )


# Connection settings that mean the same to redis-py's sync and async
# connection classes; any others (retry objects, event handlers, internal
# registries) belong to one kind and are left to the new client's defaults.
_PORTABLE = frozenset(
    {
        "host", "port", "db", "path", "username", "password",
        "credential_provider", "socket_timeout", "socket_connect_timeout",
        "socket_keepalive", "socket_keepalive_options", "health_check_interval",
        "client_name", "protocol", "encoding", "encoding_errors",
        "decode_responses", "lib_name", "lib_version",
    }
)  # fmt: skip
PORTABLE_CONNECTIONS = ("Connection", "SSLConnection", "UnixDomainSocketConnection")
"""Connection classes whose settings can be copied to the other kind."""


def portable_connection_args(
    connection_class: type, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The settings of a client's connections that a client of the other
    kind (sync or async) can be made with.

    Raises:
        InvalidConfigError: the connections are of a class whose settings
            cannot be carried over (a Sentinel-managed or custom class).
    """
    name = connection_class.__name__
    if name not in PORTABLE_CONNECTIONS:
        raise InvalidConfigError(
            f"the redis_client's connections are {name}, whose settings "
            "cannot be copied to a client of the other kind (sync/async); "
            "pass other_api_client= a client of the other kind for the same "
            "server"
        )
    return {
        k: v
        for k, v in kwargs.items()
        if k in _PORTABLE or (k.startswith("ssl_") and name == "SSLConnection")
    }


def other_saver_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Constructor arguments of the saver of the other kind that serves a
    saver's other API, from the arguments the saver was made with.

    Returns the arguments (without ``serde`` and the client) and whether a
    client of the other kind must be derived from the saver's own
    ``redis_client`` (neither a URL nor an ``other_api_client`` was given).
    A ``retry`` object in ``connection_args`` belongs to one kind and is
    left out: the other client gets the default retry.
    """
    out = dict(settings)
    given = out.pop("other_api_client", None)
    if out.get("redis_url") is None:
        out["redis_client"] = given
        return out, given is None
    if out.get("connection_args"):
        out["connection_args"] = {
            k: v for k, v in out["connection_args"].items() if k != "retry"
        }
    return out, False


def parse_thread_id(thread_id: object, operation: str) -> str:
    """The thread id as stored: a ``str`` as is, ``int`` or ``UUID`` as ``str()``."""
    if isinstance(thread_id, str):
        return thread_id
    if isinstance(thread_id, UUID) or (
        isinstance(thread_id, int) and not isinstance(thread_id, bool)
    ):
        return str(thread_id)
    raise InvalidConfigError(
        f"{operation}: thread_id must be a str, int or UUID, "
        f"got {type(thread_id).__name__} {thread_id!r}"
    )


def before_id_of(before: object, operation: str) -> str | None:
    """The checkpoint id of a ``list(before=...)`` config.

    Only ``checkpoint_id`` matters there, so a config without a thread id
    (as LangGraph's replay passes) is fine.
    """
    if not isinstance(before, Mapping) or not isinstance(
        before.get("configurable"), Mapping
    ):
        raise InvalidConfigError(
            f"{operation}: before must be a config like "
            "{'configurable': {'checkpoint_id': ...}}"
        )
    checkpoint_id = before["configurable"].get("checkpoint_id")
    if checkpoint_id is not None and not isinstance(checkpoint_id, str):
        raise InvalidConfigError(
            f"{operation}: before's checkpoint_id must be a str, "
            f"got {type(checkpoint_id).__name__} {checkpoint_id!r}"
        )
    return checkpoint_id or None


def target_of(
    config: object, operation: str, *, need_checkpoint_id: bool = False
) -> tuple[str, str, str | None]:
    """Read ``(thread_id, checkpoint_ns, checkpoint_id)`` from a config.

    Raises:
        InvalidConfigError: the config has no ``configurable`` dict, no
            ``thread_id``, or a namespace or checkpoint id that is not a
            string (or no checkpoint id where ``need_checkpoint_id``).
    """
    if not isinstance(config, Mapping):
        raise InvalidConfigError(
            f"{operation}: config must be a dict, got {type(config).__name__}"
        )
    conf = config.get("configurable")
    if not isinstance(conf, Mapping):
        raise InvalidConfigError(
            f"{operation}: config has no 'configurable' dict "
            "(expected {'configurable': {'thread_id': ...}})"
        )
    if "thread_id" not in conf or conf["thread_id"] is None:
        raise InvalidConfigError(
            f"{operation}: config['configurable'] has no 'thread_id'"
        )
    thread_id = parse_thread_id(conf["thread_id"], operation)
    ns = conf.get("checkpoint_ns")
    if ns is None:
        ns = ""
    elif not isinstance(ns, str):
        raise InvalidConfigError(
            f"{operation}: checkpoint_ns must be a str, got {type(ns).__name__} {ns!r}"
        )
    checkpoint_id = conf.get("checkpoint_id")
    if checkpoint_id is not None and not isinstance(checkpoint_id, str):
        raise InvalidConfigError(
            f"{operation}: checkpoint_id must be a str, "
            f"got {type(checkpoint_id).__name__} {checkpoint_id!r}"
        )
    if need_checkpoint_id and not checkpoint_id:
        raise InvalidConfigError(
            f"{operation}: config['configurable'] has no 'checkpoint_id'"
        )
    return thread_id, ns, checkpoint_id or None


SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelURL:
    """Parsed ``redis+sentinel://`` URL (see :func:`parse_sentinel_url`)."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None
    ssl: bool


def is_sentinel_url(url: str) -> bool:
    """Whether ``url`` has a ``redis+sentinel`` or ``rediss+sentinel`` scheme."""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() in SENTINEL_SCHEMES


def _sentinel_address(item: str, url: str) -> tuple[str, int]:
    if item.startswith("["):  # [ipv6]:port
        host, close, rest = item[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            raise InvalidConfigError(
                f"bad sentinel address {item!r} in {redact(url)!r}"
            )
        has_port, port_text = bool(rest), rest[1:]
    else:
        host, colon, port_text = item.partition(":")
        has_port = bool(colon)
    if not host:
        raise InvalidConfigError(
            f"sentinel address {item!r} has no host in {redact(url)!r}"
        )
    if not has_port:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isascii() or not port_text.isdigit():
        raise InvalidConfigError(
            f"sentinel address {item!r} has a bad port {port_text!r} in {redact(url)!r}"
        )
    port = int(port_text)
    if not 0 < port < 65536:
        raise InvalidConfigError(
            f"sentinel address {item!r} has port {port} out of range in {redact(url)!r}"
        )
    return host, port


def parse_sentinel_url(url: str) -> SentinelURL:
    """Parse ``redis+sentinel://[user:pass@]host:port[,host:port...]/service[/db]``.

    ``rediss+sentinel://`` is the same with TLS. A port left out is 26379,
    the Sentinel default; ``db`` defaults to 0. User name and password
    (percent-decoded) are used for the sentinels and the primary alike.

    Raises:
        InvalidConfigError: another scheme, no sentinel address, a bad port,
            no service name, a db that is not a non-negative integer, extra
            path parts, or a query string or fragment.
    """
    expected = (
        "expected redis+sentinel://[user:pass@]host:port[,host:port...]/service[/db]"
    )
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SENTINEL_SCHEMES:
        raise InvalidConfigError(f"not a sentinel URL: {redact(url)!r} ({expected})")
    if "?" in rest or "#" in rest:
        raise InvalidConfigError(
            f"sentinel URL {redact(url)!r} has a query string or fragment; "
            f"pass options in connection_args ({expected})"
        )
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username: str | None = None
    password: str | None = None
    if at:
        user_text, colon, pass_text = userinfo.partition(":")
        username = unquote(user_text) or None
        password = unquote(pass_text) if colon else None
    if not hosts:
        raise InvalidConfigError(
            f"sentinel URL {redact(url)!r} has no host ({expected})"
        )
    sentinels = [_sentinel_address(item, url) for item in hosts.split(",")]
    parts = path.split("/") if path else []
    if not parts or not parts[0]:
        raise InvalidConfigError(
            f"sentinel URL {redact(url)!r} has no service name ({expected})"
        )
    if len(parts) > 2:
        raise InvalidConfigError(
            f"sentinel URL {redact(url)!r} has extra path parts ({expected})"
        )
    service = unquote(parts[0])
    db = 0
    if len(parts) == 2:
        db_text = parts[1]
        if not db_text.isascii() or not db_text.isdigit():
            raise InvalidConfigError(
                f"sentinel URL {redact(url)!r} has a bad db {db_text!r}: "
                f"not a non-negative integer ({expected})"
            )
        db = int(db_text)
    return SentinelURL(
        sentinels=sentinels,
        service=service,
        db=db,
        username=username,
        password=password,
        ssl=scheme.lower() == "rediss+sentinel",
    )


def sentinel_client_args(
    parsed: SentinelURL, connection_args: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(sentinel_kwargs, primary_kwargs)`` for redis-py's ``Sentinel``.

    The sentinels get the socket and TLS options of ``connection_args`` and
    the URL's credentials; the primary gets all of ``connection_args``, with
    the URL's credentials, db and TLS flag winning, as in ``from_url``. The
    caller adds the sentinels' ``retry`` (its class differs by variant).
    """
    auth = {
        key: value
        for key, value in (("username", parsed.username), ("password", parsed.password))
        if value is not None
    }
    sentinel_args: dict[str, Any] = {
        key: value
        for key, value in connection_args.items()
        if key.startswith(("socket_", "ssl_"))
    }
    sentinel_args.update(auth)
    primary_args = {**connection_args, **auth, "db": parsed.db}
    if parsed.ssl:
        sentinel_args["ssl"] = True
        primary_args["ssl"] = True
    return sentinel_args, primary_args


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: the one helper every
    message, log line and output that names a URL goes through."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
