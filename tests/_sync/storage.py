# This file is generated from tests/_async/storage.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Reading what the saver stored, for tests that look at Redis directly."""

from __future__ import annotations

from typing import Any


def is_data_key(key: bytes) -> bool:
    """Whether a key holds a thread's data: not the layout version that
    ``setup`` records under the checkpoint prefix (the only key without
    ``{``, see ``keys``)."""
    return b"{" in key or not key.endswith(b":layout")


def is_write_field(field: bytes) -> bool:
    """Whether a namespace hash field holds a pending write (see ``layout``)."""
    return field[:1].isdigit()


def write_fields(client: Any, key: str) -> list[bytes]:
    """The pending-write fields of a namespace hash."""
    return [f for f in client.hkeys(key) if is_write_field(f)]


def checkpoint_fields(client: Any, key: str) -> list[bytes]:
    """The checkpoint's fields of a namespace hash."""
    return [f for f in client.hkeys(key) if not is_write_field(f)]


def namespace_keys(saver: Any, thread_id: str, ns: str, search: bool) -> list[str]:
    """The keys a ``put`` to (thread, ns) creates: the namespace hash, the
    search entry (only on a server with Search) and the registry."""
    hk, ek, rk = saver.keys.for_namespace(thread_id, ns)
    return [hk, ek, rk] if search else [hk, rk]


def saver_keys(client: Any, saver: Any) -> list[bytes]:
    """Every data key under the saver's two prefixes (its layout record
    left out)."""
    found = []
    for prefix in (saver.keys.checkpoint_prefix, saver.keys.entry_prefix):
        found += [k for k in client.scan_iter(match=prefix + ":*") if is_data_key(k)]
    return found
