"""The search index: its schema, its queries, and reading keys it returns.

Only listing across threads and metadata filters over many threads need it;
everything else works on a Redis without the Search module. The index covers
the saver's search entries (``WP:{*``, see :mod:`.keys`) and their two fields:

- ``id`` (TAG, sortable): the checkpoint id, to list newest first;
- ``mt`` (TAG, separator ``" "``): equality tokens of the scalar metadata
  values (:func:`.layout.metadata_tokens`), hex digests, so no query syntax
  can be injected through metadata values.

No I/O here; the savers run the queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .keys import Keys

__all__ = [
    "create_index_command",
    "has_search_module",
    "newest_first",
    "query_string",
]


def create_index_command(keys: Keys) -> list[str]:
    """The ``FT.CREATE`` command of the saver's index, as arguments."""
    return [
        "FT.CREATE", keys.index_name,
        "ON", "HASH",
        "PREFIX", "1", keys.index_prefix(),
        "SCHEMA",
        "id", "TAG", "SEPARATOR", ",", "CASESENSITIVE", "SORTABLE",
        "mt", "TAG", "SEPARATOR", " ",
    ]  # fmt: skip


def query_string(tokens: Sequence[str], *, any_of: bool = False) -> str:
    """FT.SEARCH query matching every token, or any with ``any_of``.

    Tokens are hex digests, so there is nothing to escape.
    """
    if not tokens:
        return "*"
    if any_of:
        return "@mt:{" + " | ".join(tokens) + "}"
    return " ".join(f"@mt:{{{t}}}" for t in tokens)


def has_search_module(module_list: Iterable[Any]) -> bool:
    """Whether a ``MODULE LIST`` reply includes RediSearch (or Valkey's)."""
    for entry in module_list:
        if isinstance(entry, dict):
            name = entry.get(b"name", entry.get("name", b""))
        else:  # RESP2 flat list: [b"name", b"search", b"ver", ...]
            items = list(entry)
            name = items[items.index(b"name") + 1] if b"name" in items else b""
        if isinstance(name, bytes):
            name = name.decode()
        if str(name).lower() in {"search", "ft", "searchlight"}:
            return True
    return False


def newest_first(query: str, offset: int, count: int) -> Any:
    """The index query ``query`` as redis-py's ``Query``: keys only, newest
    checkpoint id first, ``count`` entries from ``offset`` (one page)."""
    from redis.commands.search.query import Query

    return Query(query).no_content().sort_by("id", asc=False).paging(offset, count)
