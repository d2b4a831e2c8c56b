"""The saver on a Redis that evicts keys (``maxmemory`` and a policy).

Redis evicts whole keys, one at a time, between commands (never inside a
Lua script). A thread of this saver is several keys (``keys.py``): one hash
per namespace holding the checkpoint with its pending writes, the registry
of its namespaces, and on servers with Search a search entry per namespace
(and a rollback base per namespace once a second run writes). A checkpoint
and its writes share one hash, so they are evicted together; any other key
can go without the others.

Two kinds of tests:

- one key removed on purpose, as eviction would remove it (``DEL``), on the
  session's server: every operation treats a registry member, search entry
  or rollback base whose hash is gone as gone, and finds a hash whose
  registry is gone;
- a real LangGraph graph on many threads under memory pressure, on a
  server started here per eviction policy (``allkeys-lru``, ``allkeys-lfu``,
  ``volatile-ttl``, ``volatile-lru``, ``allkeys-random``, ``noeviction``),
  half the threads on a saver with a TTL and half on one without, with and
  without the Search module. Afterwards (eviction stopped) each thread is
  either gone or whole: equal to what ``InMemorySaver`` holds after the same
  turns, checkpoint, metadata and pending writes; ``list``, cross-thread
  ``list``, ``copy_thread``, ``delete_for_runs`` and ``delete_thread`` work on
  what eviction left, and the scripts and the index are still there.

These tests start their own servers: they run in one server-kind session
only (``modules``, the default; or with ``REDIS_URL``), whatever binary the
session was started with.
"""

from __future__ import annotations

import operator
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

import pytest
import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Interrupt

from langgraph.checkpoint.redis_shallow import (
    DeleteRefusedError,
    ShallowRedisSaver,
    StorageError,
    scripts,
)
from langgraph.checkpoint.redis_shallow.keys import BASE_SUFFIX
from langgraph.checkpoint.redis_shallow.layout import LAYOUT_VERSION
from redis_server import RedisServer
from tests._async.graph_support import interrupt_in
from tests.builders import cfg, chain_graph, checkpoint_at, saver_prefixes

POLICIES = [
    "allkeys-lru",
    "allkeys-lfu",
    "volatile-ttl",
    "volatile-lru",
    "allkeys-random",
    "noeviction",
]
EVICTING = {p for p in POLICIES if p != "noeviction"}
THREADS = 80  # per run; half on the saver with a TTL
TURNS = 3  # graph invocations per thread
PAYLOAD = 3_000  # random bytes each turn adds to a thread's state
HEADROOM = {"modules": 1_500_000, "plain": 900_000}
"""maxmemory: used memory after setup plus this many bytes, about half of
what the load stores (a thread is about 22 KB, and with Search its rollback
base about 18 KB more)."""
TTL_MINUTES = 60  # long: nothing expires during a test, keys just have a TTL


# -- the graph -----------------------------------------------------------------


class Notes(TypedDict, total=False):
    """A growing state: a log of what ran and a payload per turn."""

    log: Annotated[list[str], operator.add]
    notes: Annotated[list[bytes], operator.add]
    ask: bool


def notes_graph(checkpointer: Any) -> Any:
    """``work`` (appends the turn's payload), then ``gate`` (interrupts when
    the input set ``ask``)."""

    def work(state: Notes) -> Notes:
        turn = state["log"][-1]
        # random bytes: the saver's compression leaves them as they are, so
        # the load puts as much in Redis as it says
        payload = random.Random(turn).randbytes(PAYLOAD)
        return {"log": [f"work:{turn}"], "notes": [payload]}

    def gate(state: Notes, config: RunnableConfig) -> Notes:
        if state.get("ask"):
            return {"log": [f"gate:{interrupt_in(config, 'go on?')}"]}
        return {"log": ["gate"]}

    return chain_graph(Notes, work, gate).compile(checkpointer=checkpointer)


def turn_input(thread: int, turn: int) -> Notes:
    """The input of one turn; odd threads' last turn ends at the interrupt."""
    return {"log": [f"turn-{turn}"], "ask": turn == TURNS - 1 and thread % 2 == 1}


def turn_config(thread_id: str, turn: int) -> RunnableConfig:
    """The config of one turn, with a run id of its own (as the LangGraph
    server sets it), so that rollback bases exist."""
    return {
        "configurable": {"thread_id": thread_id},
        "metadata": {"run_id": f"run-{turn}-{thread_id}"},
    }


def _norm(value: Any) -> Any:
    if isinstance(value, Interrupt):
        return ("interrupt", value.value)  # its id differs between savers
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def writes_of(tup: CheckpointTuple) -> list[Any]:
    """The pending writes as comparable (channel, value) items."""
    return sorted(repr((ch, _norm(v))) for _, ch, v in tup.pending_writes or [])


def first_turn(tup: CheckpointTuple) -> int:
    """The turn the stored state started from (a thread evicted before a
    turn starts over at that turn, with an empty state)."""
    log = tup.checkpoint["channel_values"].get("log") or []
    turns = [int(x[len("turn-") :]) for x in log if x.startswith("turn-")]
    return turns[0] if turns else 0


def replay(thread_id: str, index: int, first: int, last: int) -> dict[int, Any]:
    """``InMemorySaver``'s checkpoints (by step) after turns ``first`` to
    ``last`` of a thread started empty at ``first``."""
    memory = InMemorySaver()
    graph = notes_graph(memory)
    for turn in range(first, last + 1):
        graph.invoke(turn_input(index, turn), turn_config(thread_id, turn))
    return {
        t.metadata["step"]: t
        for t in memory.list({"configurable": {"thread_id": thread_id}})
    }


def assert_whole(tup: CheckpointTuple, thread_id: str, index: int, last: int) -> None:
    """``tup`` is one checkpoint ``InMemorySaver`` holds after the same turns
    (from the turn the stored state started at), with that checkpoint's
    values and metadata, and only its pending writes."""
    refs = replay(thread_id, index, first_turn(tup), last)
    ref = refs.get(tup.metadata["step"])
    assert ref is not None, (thread_id, tup.metadata, sorted(refs))
    assert tup.checkpoint["channel_values"] == ref.checkpoint["channel_values"]
    assert tup.checkpoint["channel_versions"].keys() == (
        ref.checkpoint["channel_versions"].keys()
    )
    assert tup.metadata == ref.metadata
    ours, theirs = writes_of(tup), writes_of(ref)
    # a put_writes refused under OOM leaves its writes out, never others'
    assert not [w for w in ours if w not in theirs], (ours, theirs)


# -- one key gone, as eviction leaves it (the session's server) ----------------


@pytest.fixture
def saver(redis_url: str, prefix: str) -> Iterator[ShallowRedisSaver]:
    """A set-up saver on the session's server; its keys and index dropped after."""
    with ShallowRedisSaver.from_conn_string(redis_url, **saver_prefixes(prefix)) as s:
        s.setup()
        yield s
        keys = list(s.client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            s.client.delete(*keys)
        try:
            s.client.execute_command("FT.DROPINDEX", s.keys.index_name)
        except redis.ResponseError:
            pass


def put_with_writes(
    saver: ShallowRedisSaver, thread_id: str, ns: str, value: int, run: str = "r1"
) -> RunnableConfig:
    """A checkpoint holding ``value`` on (thread, ns) with one pending write."""
    cp = checkpoint_at(value)
    stored = saver.put(
        cfg(thread_id, ns), cp, {"run_id": run, "v": value}, {"a": value}
    )
    saver.put_writes(stored, [("a", value + 100)], "task")
    return stored


def thread_keys(saver: ShallowRedisSaver, thread_id: str) -> list[bytes]:
    """Every key of the thread (any prefix of the saver)."""
    tag = saver.keys.thread_tag(thread_id).replace("{", "\\{").replace("}", "\\}")
    return sorted(saver.client.scan_iter(match=f"*{tag}*", count=1000))


def test_a_hash_whose_registry_was_evicted_is_still_found(
    saver: ShallowRedisSaver, thread_id: str
) -> None:
    put_with_writes(saver, thread_id, "", 1)
    put_with_writes(saver, thread_id, "sub", 2)
    saver.client.delete(saver.keys.registry(thread_id))
    root = saver.get_tuple(cfg(thread_id))
    assert root is not None and root.pending_writes == [("task", "a", 101)]
    # the root namespace is found without the registry; a subgraph's is not
    listed = list(saver.list({"configurable": {"thread_id": thread_id}}))
    assert [t.checkpoint for t in listed] == [root.checkpoint]
    saver.copy_thread(thread_id, thread_id + "-copy")
    copied = saver.get_tuple(cfg(thread_id + "-copy"))
    assert copied is not None and copied.checkpoint == root.checkpoint
    assert copied.pending_writes == root.pending_writes
    saver.prune([thread_id], strategy="keep_latest")
    assert saver.get_tuple(cfg(thread_id)) == root
    saver.delete_thread(thread_id)
    assert saver.get_tuple(cfg(thread_id)) is None
    # what is left: the subgraph's hash (and entry), which nothing names
    # any more (it goes when it expires or is evicted itself), and the
    # thread's tombstone
    sub_keys = saver.keys.for_namespace(thread_id, "sub")[:2]
    tombstone = saver.keys.tombstone(thread_id).encode()
    left = set(thread_keys(saver, thread_id))
    assert tombstone in left
    assert left - {tombstone} <= {k.encode() for k in sub_keys}
    # a put makes the thread whole again, registry included
    put_with_writes(saver, thread_id, "", 3)
    assert saver.client.sismember(saver.keys.registry(thread_id), "")


def test_a_registry_and_entry_whose_hash_was_evicted_count_as_gone(
    saver: ShallowRedisSaver, thread_id: str, has_search: bool
) -> None:
    put_with_writes(saver, thread_id, "", 1, run="gone-run")
    put_with_writes(saver, thread_id, "sub", 2, run="gone-run")
    hk = saver.keys.for_namespace(thread_id, "")[0]
    saver.client.delete(hk)
    assert saver.get_tuple(cfg(thread_id)) is None
    listed = list(saver.list({"configurable": {"thread_id": thread_id}}))
    assert [t.config["configurable"]["checkpoint_ns"] for t in listed] == ["sub"]
    saver.copy_thread(thread_id, thread_id + "-copy")
    assert [k for k in thread_keys(saver, thread_id + "-copy") if b":sub" not in k] == [
        saver.keys.registry(thread_id + "-copy").encode()
    ]  # the registry, naming the copied "sub" only
    if has_search:
        listed_all = list(saver.list(None, filter={"run_id": "gone-run"}))
        assert sorted(
            (
                t.config["configurable"]["thread_id"],
                t.config["configurable"]["checkpoint_ns"],
            )
            for t in listed_all
        ) == [(thread_id, "sub"), (thread_id + "-copy", "sub")]
        saver.delete_for_runs(["gone-run"])  # solo run: both namespaces go
        for tid in (thread_id, thread_id + "-copy"):  # but their tombstones
            assert thread_keys(saver, tid) == [saver.keys.tombstone(tid).encode()]
    saver.delete_thread(thread_id)  # registry, the sub namespace, the entry
    assert thread_keys(saver, thread_id) == [saver.keys.tombstone(thread_id).encode()]
    # (the tombstone of that deletion stays until it expires)
    tombstone = [saver.keys.tombstone(thread_id).encode()]
    put_with_writes(saver, thread_id, "", 1)
    saver.client.delete(hk)
    saver.prune([thread_id], strategy="keep_latest")
    assert thread_keys(saver, thread_id) == tombstone
    put_with_writes(saver, thread_id, "", 1)
    saver.client.delete(hk)
    saver.delete_thread(thread_id)
    assert thread_keys(saver, thread_id) == tombstone


def test_an_evicted_entry_does_not_spoil_the_rollback(
    saver: ShallowRedisSaver, thread_id: str, has_search: bool
) -> None:
    if not has_search:
        pytest.skip("rollback bases and delete_for_runs need Search")
    first = put_with_writes(saver, thread_id, "", 1, run="run-1")
    kept = saver.get_tuple(cfg(thread_id))
    # run-2 starts: its first put keeps run-1's checkpoint as the base
    cp = checkpoint_at(2)
    second = saver.put(first, cp, {"run_id": "run-2"}, {"a": 2})
    ek = saver.keys.for_namespace(thread_id, "")[1]
    saver.client.delete(ek)  # evicted between two puts of run-2
    cp = checkpoint_at(3)
    saver.put(second, cp, {"run_id": "run-2"}, {"a": 3})
    saver.delete_for_runs(["run-2"])
    assert saver.get_tuple(cfg(thread_id)) == kept  # run-1's, with its writes


def test_an_evicted_hash_does_not_block_delete_for_runs(
    saver: ShallowRedisSaver, thread_id: str, has_search: bool
) -> None:
    if not has_search:
        pytest.skip("delete_for_runs needs Search")
    first = put_with_writes(saver, thread_id, "", 1, run="run-1")
    cp = checkpoint_at(2)
    saver.put(first, cp, {"run_id": "run-2"}, {"a": 2})
    hk = saver.keys.for_namespace(thread_id, "")[0]
    saver.client.delete(hk, hk + BASE_SUFFIX)  # hash and base evicted
    saver.delete_for_runs(["run-2"])  # nothing left to lose: the entry goes
    assert thread_keys(saver, thread_id) == []
    # with the hash there and its base gone, the refusal stands
    first = put_with_writes(saver, thread_id, "", 1, run="run-1")
    saver.put(first, cp, {"run_id": "run-2"}, {"a": 2})
    saver.client.delete(hk + BASE_SUFFIX)
    with pytest.raises(DeleteRefusedError):
        saver.delete_for_runs(["run-2"])
    assert saver.get_tuple(cfg(thread_id)) is not None


def test_an_evicted_layout_record_is_written_again_by_setup(
    saver: ShallowRedisSaver,
) -> None:
    saver.client.delete(saver.keys.layout_key())
    saver.setup()
    assert saver.client.get(saver.keys.layout_key()) == str(LAYOUT_VERSION).encode()


def test_migration_from_a_source_that_lost_keys(
    saver: ShallowRedisSaver, redis_url: str, prefix: str, has_search: bool
) -> None:
    """``migrate`` from ``langgraph-checkpoint-redis`` data that eviction
    thinned out: a thread whose checkpoint document is gone is not found, one
    whose writes or write registries are gone comes across without them."""
    if not has_search:
        pytest.skip("the upstream data needs RedisJSON and Search")
    from tests.upstream_data import (
        KINDS,
        drop_upstream,
        migrate_cli,
        upstream_prefixes,
        upstream_tuple,
        write_bulk,
    )

    ids = {
        kind: [f"{kind}-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)] for kind in KINDS
    }
    every = [t for kind in KINDS for t in ids[kind]]
    cp_prefix, w_prefix = upstream_prefixes(prefix)
    client = saver.client
    try:
        write_bulk(redis_url, prefix, ids)
        for kind in KINDS:
            lost_writes, lost_registry, lost_doc = ids[kind][1:]
            for key in client.scan_iter(match=f"{w_prefix}:{lost_writes}:*task-new*"):
                client.delete(key)
            for key in client.scan_iter(match=f"write_*:{lost_registry}:*"):
                client.delete(key)
            docs = sorted(client.scan_iter(match=f"{cp_prefix}:{lost_doc}:*"))
            client.delete(docs[-1])  # the latest checkpoint's document
        expected = {
            t: upstream_tuple(k, redis_url, prefix, t) for k in KINDS for t in ids[k]
        }
        assert migrate_cli(redis_url, prefix) == 0
        for tid, theirs in expected.items():
            ours = saver.get_tuple(cfg(tid))
            if theirs is None:
                assert ours is None, tid
                continue
            assert ours is not None, tid
            assert (
                ours.checkpoint["channel_values"] == theirs.checkpoint["channel_values"]
            )
            # the stored checkpoint's own writes ("task-new"), when they
            # survived; never the older checkpoint's ("task-old")
            assert len(ours.pending_writes) in (0, 2), (tid, ours.pending_writes)
            assert {t for t, _, _ in ours.pending_writes} <= {"task-new"}
        assert sum(t is None for t in expected.values()) == len(KINDS)
    finally:
        drop_upstream(redis_url, prefix, every)


# -- servers -------------------------------------------------------------------


@pytest.fixture(scope="module", params=["modules", "plain"])
def evict_server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A server of its own per kind (with and without Search), reused by
    every policy (each run flushes it and sets its policy and limit)."""
    with RedisServer(kind=request.param) as srv:
        yield srv


@dataclass
class Tally:
    """What one run saw."""

    ok: int = 0
    failed: int = 0
    causes: set[str] = field(default_factory=set)
    gone: int = 0
    whole: int = 0
    interrupted: int = 0
    registry_only: int = 0
    hash_only: int = 0
    entry_only: int = 0
    evicted: int = 0
    rolled_back: int = 0
    refused: int = 0
    unfound: int = 0
    example: str = ""

    def __str__(self) -> str:
        return (
            f"invokes ok {self.ok}, failed {self.failed} {sorted(self.causes)}; "
            f"threads whole {self.whole} (interrupted {self.interrupted}), "
            f"gone {self.gone}; dangling registries {self.registry_only}, "
            f"entries {self.entry_only}; hashes without registry "
            f"{self.hash_only}; evicted_keys {self.evicted}; delete_for_runs: "
            f"rolled back {self.rolled_back}, refused {self.refused}, not found "
            f"{self.unfound}" + (f"; e.g. {self.example}" if self.example else "")
        )


SUMMARY: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_summary() -> Iterator[None]:
    yield
    for name, line in SUMMARY.items():
        print(f"\n[eviction] {name}: {line}")


def saver_on(url: str, prefix: str, ttl: bool) -> ShallowRedisSaver:
    saver = ShallowRedisSaver(
        url,
        **saver_prefixes(prefix),
        ttl={"default_ttl": TTL_MINUTES} if ttl else None,
    )
    saver.setup()
    return saver


@pytest.mark.topology
@pytest.mark.parametrize("policy", POLICIES)
def test_graph_load_under_memory_pressure(
    evict_server: RedisServer, policy: str
) -> None:
    admin = redis.Redis.from_url(evict_server.url)
    admin.config_set("maxmemory", 0)
    admin.flushall()
    search = evict_server.kind == "modules"
    savers = [
        saver_on(evict_server.url, "ttl", True),
        saver_on(evict_server.url, "keep", False),
    ]
    tally = Tally()
    try:
        admin.config_set("maxmemory-policy", policy)
        used = int(admin.info("memory")["used_memory"])
        admin.config_set("maxmemory", used + HEADROOM[evict_server.kind])
        evicted_before = int(admin.info("stats")["evicted_keys"])
        threads = [f"{policy}-{i}-{uuid.uuid4().hex[:6]}" for i in range(THREADS)]
        graphs = [notes_graph(s) for s in savers]
        acked: set[int] = set()  # threads with at least one turn completed
        for turn in range(TURNS):
            for i, tid in enumerate(threads):
                try:
                    graphs[i % 2].invoke(turn_input(i, turn), turn_config(tid, turn))
                    tally.ok += 1
                    acked.add(i)
                except StorageError as exc:
                    # the only error: the server refused a write (OOM)
                    tally.failed += 1
                    cause = exc.__cause__
                    if not isinstance(cause, redis.OutOfMemoryError):
                        # Redis < 7: a refusal inside a script is a plain
                        # ResponseError naming it
                        assert "OOM" in str(cause), exc
                        cause = redis.OutOfMemoryError(str(cause))
                    tally.causes.add(type(cause).__name__)
                    tally.example = tally.example or str(exc)
        tally.evicted = int(admin.info("stats")["evicted_keys"]) - evicted_before
        # from here on nothing is evicted: the checks see what eviction left
        admin.config_set("maxmemory", 0)

        # scripts, index and layout survive (or come back by themselves)
        assert all(admin.script_exists(*[s.sha for s in scripts.ALL]))
        if search:
            indexes = {i.decode() for i in admin.execute_command("FT._LIST")}
            assert {s.keys.index_name for s in savers} <= indexes
        for s in savers:
            s.setup()  # idempotent; writes the layout key again if evicted
            assert admin.get(s.keys.layout_key()) == str(LAYOUT_VERSION).encode()

        assert tally.causes <= {"OutOfMemoryError"}, tally
        if policy in EVICTING:
            assert tally.evicted > 0, tally  # the load did put memory under pressure
        else:
            assert tally.evicted == 0
            assert tally.failed > 0, tally

        for i, tid in enumerate(threads):
            saver = savers[i % 2]
            hk, ek, rk = saver.keys.for_namespace(tid, "")
            has_hash, has_entry, has_registry = (admin.exists(k) for k in (hk, ek, rk))
            tally.registry_only += bool(has_registry and not has_hash)
            tally.hash_only += bool(has_hash and not has_registry)
            tally.entry_only += bool(has_entry and not has_hash)
            tup = saver.get_tuple(cfg(tid))
            listed = list(saver.list({"configurable": {"thread_id": tid}}))
            if tup is None:
                tally.gone += 1
                assert listed == []
                # only eviction removes a thread that had a turn: never one
                # without a TTL under volatile-*, never any under noeviction
                assert (
                    i not in acked
                    or policy.startswith("allkeys")
                    or (policy.startswith("volatile") and i % 2 == 0)
                ), (policy, tid)
                continue
            tally.whole += 1
            tally.interrupted += bool(tup.pending_writes)
            assert [t.checkpoint for t in listed] == [tup.checkpoint]
            assert_whole(tup, tid, i, TURNS - 1)

        if search:
            for saver in savers:
                for tup in saver.list(None):
                    tid = tup.config["configurable"]["thread_id"]
                    assert tup.checkpoint == saver.get_tuple(cfg(tid)).checkpoint

        # copy, rollback and delete on what eviction left
        for i, tid in enumerate(threads[:20]):
            saver = savers[i % 2]
            source = saver.get_tuple(cfg(tid))
            saver.copy_thread(tid, tid + "-copy")
            copied = saver.get_tuple(cfg(tid + "-copy"))
            if source is None:
                assert copied is None
                assert not admin.keys(f"*{{{tid}-copy}}*")
            else:
                assert copied is not None
                assert copied.checkpoint == source.checkpoint
                assert writes_of(copied) == writes_of(source)
        if search:
            for i, tid in enumerate(threads[20:40], start=20):
                saver = savers[i % 2]
                before = saver.get_tuple(cfg(tid))
                hk, ek, _ = saver.keys.for_namespace(tid, "")
                base_kept = bool(admin.exists(hk + BASE_SUFFIX))
                entry_kept = bool(admin.exists(ek))
                try:
                    saver.delete_for_runs([f"run-{TURNS - 1}-{tid}"])
                except DeleteRefusedError as exc:
                    # only where the state before the run was evicted
                    assert exc.namespaces == [(tid, "")] and not base_kept
                    assert saver.get_tuple(cfg(tid)) == before
                    tally.refused += 1
                    continue
                after = saver.get_tuple(cfg(tid))
                if before is not None and not entry_kept:
                    # the index no longer finds it: the run is not undone
                    assert after == before
                    tally.unfound += 1
                elif after is not None:
                    assert_whole(after, tid, i, TURNS - 2)
                    tally.rolled_back += 1
        for i, tid in enumerate(threads[::3]):
            saver = savers[(3 * i) % 2]
            saver.delete_thread(tid)
            assert saver.get_tuple(cfg(tid)) is None
            # nothing but its tombstone (unless the deletion found no
            # checkpoint left: every namespace hash evicted)
            left = admin.keys(f"*{{{tid}}}*")
            assert set(left) <= {saver.keys.tombstone(tid).encode()}, left
        SUMMARY[f"{evict_server.kind} {policy}"] = str(tally)
    finally:
        admin.config_set("maxmemory", 0)
        for s in savers:
            s.close()
        admin.close()
