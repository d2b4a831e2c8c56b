"""Parsing and validation of saver arguments and LangGraph configs.

Everything here runs before any Redis command, so bad input is refused with
an :class:`~.errors.InvalidConfigError` naming what is wrong and nothing is
written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from .errors import InvalidConfigError

__all__ = [
    "MAX_KEEP_LAST",
    "PRUNE_STRATEGIES",
    "TTLSettings",
    "before_id_of",
    "other_saver_settings",
    "parse_cache_size",
    "parse_keep_last",
    "parse_thread_id",
    "parse_ttl",
    "target_of",
]


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


MAX_KEEP_LAST = 1000
"""The largest history window a saver keeps (``keep_last``): every ``put``
goes through the window's checkpoints once, inside its script."""


def parse_keep_last(value: object) -> int:
    """``keep_last``: how many checkpoints per thread and namespace a saver
    keeps, 1 to :data:`MAX_KEEP_LAST`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_KEEP_LAST
    ):
        raise InvalidConfigError(
            f"keep_last must be an int from 1 to {MAX_KEEP_LAST} (how many "
            f"checkpoints per thread and namespace to keep), got {value!r}"
        )
    return value


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
