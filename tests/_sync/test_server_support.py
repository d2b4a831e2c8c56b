# This file is generated from tests/_async/test_server_support.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""Every public operation on the session's server: it works, or it raises the
documented error.

On a server with the Search module every operation works. On one without it
(``--redis-kind`` plain, redis7, redis6, valkey) exactly the operations that
need the search index (listing across threads, with or without a metadata
filter, and ``delete_for_runs``) raise ``SearchUnavailableError``, and every
other operation works. Each outcome is recorded in ``tests.support_record``
for the matrix report (``tools/matrix_report.py``): the README's server
table says what works on each server because this test found it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from langgraph.checkpoint.redis_shallow import (
    SearchUnavailableError,
    ShallowRedisSaver,
)
from tests._io_sync import Redis
from tests._sync.conftest import drop
from tests._sync.storage import is_data_key
from tests.builders import cfg, checkpoint_at, saver_prefixes
from tests.support_record import record

NEEDS_SEARCH = {
    "list(None)",
    "list(None, filter=...)",
    "delete_for_runs",
}
"""The operations documented to raise ``SearchUnavailableError`` without the
Search module (docs/semantics.md)."""


@pytest.fixture
def ttl_saver(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    """A set-up saver with a TTL (refreshed on read) and prefixes of its own."""
    with ShallowRedisSaver.from_conn_string(
        redis_url,
        ttl={"default_ttl": 5, "refresh_on_read": True},
        **saver_prefixes(prefix),
    ) as saver:
        yield saver
        drop(saver, prefix)


def test_every_public_operation(
    ttl_saver: ShallowRedisSaver,
    client: Redis,
    prefix: str,
    thread_id: str,
    has_search: bool,
) -> None:
    saver = ttl_saver
    outcome: dict[str, str] = {}

    def attempt(name: str, action: Any) -> None:
        try:
            action()
        except SearchUnavailableError as exc:
            assert "Search module" in str(exc), exc
            outcome[name] = "SearchUnavailableError"
        else:
            outcome[name] = "works"

    other = thread_id + "-other"
    copy = thread_id + "-copy"
    run_id = "run-" + thread_id

    def setup() -> None:
        saver.setup()
        saver.setup()  # idempotent

    def put() -> None:
        saver.put(
            cfg(thread_id), checkpoint_at(1), {"step": 1, "run_id": run_id}, {"a": 1}
        )
        saver.put(cfg(thread_id, "sub"), checkpoint_at(7), {"step": 7}, {"a": 7})
        saver.put(cfg(other), checkpoint_at(2), {"step": 2}, {"a": 2})

    def put_writes() -> None:
        stored = saver.get_tuple(cfg(thread_id))
        assert stored is not None
        saver.put_writes(stored.config, [("a", 2), ("b", 3)], "task")

    def get_tuple() -> None:
        tup = saver.get_tuple(cfg(thread_id))
        assert tup is not None
        assert tup.checkpoint["channel_values"] == {"a": 1}
        assert tup.metadata["step"] == 1
        assert tup.pending_writes == [("task", "a", 2), ("task", "b", 3)]
        assert saver.get_tuple(tup.config) is not None

    def ttl() -> None:
        keys = [k for k in client.scan_iter(match=prefix + ":*") if is_data_key(k)]
        assert keys
        pttls = [client.pttl(k) for k in keys]
        assert all(0 < p <= 5 * 60_000 for p in pttls), pttls

    def list_thread() -> None:
        listed = [t for t in saver.list({"configurable": {"thread_id": thread_id}})]
        assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == [
            "",
            "sub",
        ]

    def list_thread_filter() -> None:
        listed = [
            t
            for t in saver.list(
                {"configurable": {"thread_id": thread_id}}, filter={"step": 7}
            )
        ]
        assert [t.metadata["step"] for t in listed] == [7]

    def list_all() -> None:
        listed = [t for t in saver.list(None)]
        assert {t.config["configurable"]["thread_id"] for t in listed} == {
            thread_id,
            other,
        }

    def list_all_filter() -> None:
        listed = [t for t in saver.list(None, filter={"step": 2})]
        assert [t.config["configurable"]["thread_id"] for t in listed] == [other]

    def copy_thread() -> None:
        saver.copy_thread(thread_id, copy)
        tup = saver.get_tuple(cfg(copy, "sub"))
        assert tup is not None and tup.metadata["step"] == 7

    def prune_keep_latest() -> None:
        saver.prune([thread_id], strategy="keep_latest")
        assert saver.get_tuple(cfg(thread_id)) is not None

    def delete_for_runs() -> None:
        saver.delete_for_runs([run_id])
        assert saver.get_tuple(cfg(thread_id)) is None
        assert saver.get_tuple(cfg(thread_id, "sub")) is not None

    def prune_delete() -> None:
        saver.prune([copy], strategy="delete")
        assert saver.get_tuple(cfg(copy, "sub")) is None

    def delete_thread() -> None:
        saver.delete_thread(other)
        saver.delete_thread(thread_id)
        assert saver.get_tuple(cfg(other)) is None
        assert saver.get_tuple(cfg(thread_id, "sub")) is None

    attempt("setup", setup)
    attempt("put", put)
    attempt("put_writes", put_writes)
    attempt("get_tuple", get_tuple)
    attempt("TTL on every key", ttl)
    attempt("list(thread)", list_thread)
    attempt("list(thread, filter=...)", list_thread_filter)
    attempt("list(None)", list_all)
    attempt("list(None, filter=...)", list_all_filter)
    attempt("copy_thread", copy_thread)
    attempt("prune(keep_latest)", prune_keep_latest)
    attempt("delete_for_runs", delete_for_runs)
    attempt("prune(delete)", prune_delete)
    attempt("delete_thread", delete_thread)

    for name, found in outcome.items():
        record(name, found)
    unavailable = {name for name, found in outcome.items() if found != "works"}
    assert unavailable == (set() if has_search else NEEDS_SEARCH)
    # nothing but the tombstones of the threads deleted
    assert sorted(
        [k for k in client.scan_iter(match=prefix + ":cp*") if is_data_key(k)]
    ) == sorted(saver.keys.tombstone(t).encode() for t in (copy, other, thread_id))
