"""The search index: its schema, its queries, and reading keys it returns.

Only listing across threads and metadata filters over many threads need it;
everything else works on a Redis without the Search module. The index covers
the saver's search entries (``WP:{*``, see :mod:`.keys`) and their two fields:

- ``id`` (TAG, sortable): the checkpoint id, to list newest first;
- ``mt`` (TAG, separator ``" "``): equality tokens of the scalar metadata
  values (:func:`metadata_tokens`), hex digests, so no query syntax
  can be injected through metadata values.

No I/O here; the savers run the queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .keys import Keys

__all__ = [
    "create_index_command",
    "filter_tokens",
    "filter_tokens_any",
    "has_search_module",
    "metadata_tokens",
    "newest_first",
    "query_string",
    "run_token",
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


def _token(key: str, value: object) -> str | None:
    """Equality token of one metadata item, or ``None`` if not indexable.

    Numbers are normalised so that tokens agree wherever Python's ``==``
    does (``1 == 1.0 == True``).
    """
    if value is None:
        canon = "z"
    elif isinstance(value, str):
        canon = "s" + value
    elif isinstance(value, (bool, int)):
        canon = f"n{int(value)}"
    elif isinstance(value, float):
        canon = f"n{int(value)}" if value.is_integer() else f"n{value!r}"
    else:
        return None
    raw = f"{len(key)}:{key}:{canon}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def metadata_tokens(metadata: Mapping[str, Any]) -> str:
    """Space-separated equality tokens of the top-level scalar metadata."""
    return " ".join(t for k, v in metadata.items() if (t := _token(k, v)) is not None)


def filter_tokens(filter: Mapping[str, Any]) -> list[str]:
    """Tokens an index query must match for ``filter``; values that are not
    scalars have no token and are checked on the client only."""
    return [t for k, v in filter.items() if (t := _token(k, v)) is not None]


def run_token(metadata: Mapping[str, Any]) -> str:
    """The equality token of the metadata's ``run_id`` (``None`` when absent)."""
    return _token("run_id", metadata.get("run_id")) or ""


def filter_tokens_any(key: str, values: Sequence[object]) -> list[str]:
    """Tokens of ``key == v`` for each ``v`` (for an any-of query)."""
    return [t for v in values if (t := _token(key, v)) is not None]
