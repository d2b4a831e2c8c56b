"""The savers' two small in-process caches, both bounded (oldest dropped
first) and safe to share between threads (a lost update only costs a read).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from .serialization import load_typed

__all__ = ["DeltaReads", "SeedCache"]


def _bound(items: dict[Any, Any], size: int) -> None:
    """Drop the oldest entries of ``items`` until it holds ``size``."""
    while len(items) > size:
        try:
            del items[next(iter(items))]
        except (KeyError, RuntimeError, StopIteration):
            break  # another thread changed it: it is bounded again soon


class DeltaReads:
    """The namespace hashes ``get_tuple`` read that hold delta history,
    kept for the ``get_delta_channel_history`` call LangGraph makes right
    after it, so that loading a checkpoint and its history is one round
    trip. Bounded (oldest dropped first); each entry is used once."""

    __slots__ = ("_items", "_size")

    def __init__(self, size: int = 64) -> None:
        self._items: dict[tuple[str, str, str], Mapping[bytes, bytes]] = {}
        self._size = size

    def remember(
        self, thread_id: str, ns: str, checkpoint_id: str, fields: Mapping[bytes, bytes]
    ) -> None:
        """Keep the hash read for (thread, ns, checkpoint id)."""
        self._items[(thread_id, ns, checkpoint_id)] = fields
        _bound(self._items, self._size)

    def take(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> Mapping[bytes, bytes] | None:
        """The hash kept for (thread, ns, checkpoint id), once; else ``None``."""
        if checkpoint_id is None:
            return None
        return self._items.pop((thread_id, ns, checkpoint_id), None)


class SeedCache:
    """The seeds of delta channels last decoded, by thread, namespace and
    channel, so that a long conversation does not decode its whole message
    list again on every step.

    A seed is the channel's full value at its last snapshot; between
    snapshots it does not change, and decoding it is most of what
    ``get_delta_channel_history`` costs (6 ms for 600 chat messages, against
    microseconds to compare its bytes). An entry is used only when the
    stored bytes are byte-for-byte the ones it was decoded from, so what is
    returned is always what is stored. Each read gets its own copy of the
    value's container (list, dict, set; inside a ``_DeltaSnapshot`` too), so
    a reducer that updates its state in place cannot change the cached
    seed; the elements (messages) are shared, as the channel shares them
    with the nodes. Bounded by entries (oldest dropped first).
    """

    __slots__ = ("_items", "_size")

    def __init__(self, size: int = 32) -> None:
        self._items: dict[tuple[str, str, str], tuple[bytes, Any]] = {}
        self._size = size

    def load(
        self, serde: SerializerProtocol, key: tuple[str, str, str], blob: bytes
    ) -> Any:
        """The seed decoded from ``blob`` (decoded again only when the bytes
        differ from the last ones seen for ``key``)."""
        hit = self._items.pop(key, None)
        if hit is not None and hit[0] == blob:
            value = hit[1]
        else:
            value = load_typed(serde, blob)
        self._items[key] = (blob, value)
        _bound(self._items, self._size)
        return _fresh_container(value)


def _fresh_container(value: Any) -> Any:
    """``value`` with its outer container copied (a ``_DeltaSnapshot`` is
    a named tuple holding the value)."""
    if isinstance(value, tuple) and hasattr(value, "_replace"):
        inner = getattr(value, "value", None)
        if isinstance(inner, (list, dict, set)):
            return value._replace(value=copy.copy(inner))
        return value
    if isinstance(value, (list, dict, set)):
        return copy.copy(value)
    return value
