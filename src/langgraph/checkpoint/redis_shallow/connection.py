"""Connections: the Redis URL, Sentinel URLs, the settings a client of the
other kind (sync/async) can be made with, and a URL fit to show.

Everything here runs before any Redis command, so a bad URL is refused with
an :class:`~.errors.InvalidConfigError` naming what is wrong (and never its
password: :func:`redact`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import InvalidConfigError

__all__ = [
    "DEFAULT_REDIS_URL",
    "SentinelURL",
    "is_sentinel_url",
    "known_primary",
    "parse_sentinel_url",
    "portable_connection_args",
    "redact",
    "sentinel_client_args",
]

DEFAULT_REDIS_URL = "redis://localhost:6379"
"""The Redis the command line and the LangGraph server factory use when
neither ``--url`` nor ``REDIS_URL`` names one."""


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


def known_primary(client: Any) -> Any:
    """The address a Sentinel-managed client's pool last had for its
    primary (``None`` for any other client): read before a write, for
    the twins' ``primary_moved``."""
    return getattr(getattr(client, "connection_pool", None), "master_address", None)
