# This file is generated from tests/_async/test_cluster.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
"""The saver on a real Redis Cluster: three primaries, no modules.

A cluster of three ``redis-server`` processes (``--cluster-enabled yes``) is
started for this module: the slots are split in three ranges, the nodes meet,
and the tests wait until every node reports ``cluster_state:ok``. The saver
gets a ``RedisCluster`` client through ``redis_client=``. Every key of a
thread shares the thread's hash tag, so each operation runs on one node; the
thread ids below spread over every node. The cluster has no Search module
(RediSearch needs its coordinator on OSS cluster): cross-thread listing says
so, everything else works.
"""

from __future__ import annotations

import gc
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
from langgraph.checkpoint.base import Checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from redis.crc import key_slot

from langgraph.checkpoint.redis_shallow import (
    ReplicationError,
    SearchUnavailableError,
    ShallowRedisSaver,
)
from redis_server import RedisServer
from tests._io_sync import Redis, RedisCluster, RoundTrips, cluster_client
from tests._sync.graph_support import approval_scenario, check_approval, run_both
from tests._sync.storage import is_data_key, write_fields
from tests.builders import cfg, checkpoint, saver_prefixes
from tests.window_reference import WindowReference

SLOT_RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]
READY_TIMEOUT = 15.0  # seconds until every node says cluster_state:ok

# "" and ids with ":", "{", "}", spaces and non-ASCII text among plain ones;
# their hash tags land on all three nodes (asserted below)
THREAD_IDS = [
    "",
    "a",
    "b",
    "c",
    "a:b",
    "{}",
    "{x}",
    "x}{y",
    "{",
    "}",
    "ü",
    "日本語",
    "emoji-🎉",
    "with space",
    "UPPER",
    "upper",
    *(f"thread-{i}" for i in range(14)),
]
NAMESPACES = ["", "sub:graph|1"]


@pytest.fixture(scope="module")
def cluster_ports(plain_kind: str) -> Iterator[list[int]]:
    """Ports of a fresh 3-primary cluster of the session's binary, stopped
    after the module."""
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                RedisServer(
                    kind=plain_kind,
                    extra_args=[
                        "--cluster-enabled",
                        "yes",
                        # relative to the server's own --dir: one file per node
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )
            )
            for _ in SLOT_RANGES
        ]
        ports = [s.port for s in servers]
        assert all(p is not None for p in ports)
        nodes = [redis.Redis(host="127.0.0.1", port=p) for p in ports]
        try:
            for node, (first, last) in zip(nodes, SLOT_RANGES, strict=True):
                # ADDSLOTS, not ADDSLOTSRANGE: Redis 6.2 lacks the latter
                node.execute_command("CLUSTER ADDSLOTS", *range(first, last + 1))
            for node in nodes[1:]:
                node.execute_command("CLUSTER MEET", "127.0.0.1", ports[0])
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                states = [n.execute_command("CLUSTER INFO") for n in nodes]
                if all(s["cluster_state"] == "ok" for s in states):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"cluster not ready within {READY_TIMEOUT:.0f} s: "
                        f"CLUSTER INFO of the nodes: {states}"
                    )
                time.sleep(0.05)
        finally:
            for node in nodes:
                node.close()
        yield [int(p) for p in ports if p is not None]


def node_of(key: str, ports: list[int]) -> int:
    """Port of the node serving ``key``'s slot."""
    slot = key_slot(key.encode())
    for port, (first, last) in zip(ports, SLOT_RANGES, strict=True):
        if first <= slot <= last:
            return port
    raise AssertionError(slot)


@pytest.fixture
def nodes(cluster_ports: list[int]) -> Iterator[dict[int, Redis]]:
    """A plain client per node, by port."""
    clients = {p: Redis(host="127.0.0.1", port=p) for p in cluster_ports}
    yield clients
    for client in clients.values():
        client.close()


def keys_on(node: Redis, pattern: str) -> list[bytes]:
    """Every key of one node matching ``pattern`` (SCAN)."""
    return sorted(
        [k for k in node.scan_iter(match=pattern, count=1000) if is_data_key(k)]
    )


@pytest.fixture
def cluster(cluster_ports: list[int]) -> Iterator[RedisCluster]:
    client = cluster_client("127.0.0.1", cluster_ports[0])
    yield client
    client.close()


def drop_all(nodes: dict[int, Redis], prefix: str) -> None:
    """Delete the prefix's keys on every node, one by one (a node refuses a
    command on keys of different slots)."""
    for node in nodes.values():
        pipe = node.pipeline(transaction=False)
        for key in keys_on(node, f"{prefix}:*"):
            pipe.delete(key)
        pipe.execute()


@pytest.fixture
def csaver(
    cluster: RedisCluster, nodes: dict[int, Redis], prefix: str
) -> Iterator[ShallowRedisSaver]:
    """A set-up saver on the cluster client; its keys are removed after."""
    saver = ShallowRedisSaver(redis_client=cluster, **saver_prefixes(prefix))
    saver.setup()
    yield saver
    drop_all(nodes, prefix)


def make_cp(value: Any, version: int = 1) -> Checkpoint:
    """A checkpoint of ``a`` (``value``) and ``b`` (``[value, str(value)]``)."""
    return checkpoint({"a": value, "b": [value, str(value)]}, version)


def same(ours: Any, reference: Any) -> None:
    """A tuple of the saver equals the reference one (no parent kept)."""
    assert ours is not None and reference is not None
    assert ours.config == reference.config
    assert ours.checkpoint == reference.checkpoint
    assert ours.metadata == reference.metadata
    assert ours.pending_writes == reference.pending_writes


def fill(
    saver: Any, thread_id: str, ns: str, value: Any, cp: dict | None = None
) -> dict:
    """One checkpoint (``cp`` or a new one) with two tasks' writes on
    (thread, ns); its config."""
    cp = cp if cp is not None else make_cp(value)
    stored = saver.put(
        cfg(thread_id, ns), cp, {"step": 1, "v": str(value)}, cp["channel_versions"]
    )
    saver.put_writes(stored, [("a", value), ("b", [1, 2])], "task-1", "p1")
    saver.put_writes(stored, [("c", {"k": value})], "task-2", "p2")
    return stored


def test_cluster_has_three_primaries(nodes: dict[int, Redis]) -> None:
    for node in nodes.values():
        info = node.execute_command("CLUSTER INFO")
        assert info["cluster_state"] == "ok"
        assert info["cluster_size"] == "3" and info["cluster_known_nodes"] == "3"


def test_thread_keys_spread_over_every_node(
    csaver: ShallowRedisSaver, cluster_ports: list[int]
) -> None:
    by_node: dict[int, list[str]] = {}
    for tid in THREAD_IDS:
        keys = [k for ns in NAMESPACES for k in csaver.keys.for_namespace(tid, ns)]
        slots = {key_slot(k.encode()) for k in keys}
        assert len(slots) == 1, (tid, keys)  # one hash tag: one slot
        by_node.setdefault(node_of(keys[0], cluster_ports), []).append(tid)
    assert len(by_node) >= 2, by_node
    assert sorted(by_node) == sorted(cluster_ports), by_node


def test_setup_works_and_cross_thread_search_is_unavailable(
    csaver: ShallowRedisSaver,
) -> None:
    csaver.setup()  # idempotent
    with pytest.raises(SearchUnavailableError):
        [t for t in csaver.list(None)]
    with pytest.raises(SearchUnavailableError):
        csaver.delete_for_runs(["run-1"])


def test_put_writes_get_list_many_threads_as_in_memory(
    csaver: ShallowRedisSaver,
) -> None:
    memory = InMemorySaver()
    for i, tid in enumerate(THREAD_IDS):
        for ns in NAMESPACES:
            cp = make_cp(f"{i}-{ns}")
            for saver in (csaver, memory):
                fill(saver, tid, ns, f"{i}-{ns}", cp)
    for tid in THREAD_IDS:
        for ns in NAMESPACES:
            same(
                csaver.get_tuple(cfg(tid, ns)),
                memory.get_tuple(cfg(tid, ns)),
            )
        listed = [t for t in csaver.list({"configurable": {"thread_id": tid}})]
        reference = [t for t in memory.list({"configurable": {"thread_id": tid}})]
        assert len(listed) == len(NAMESPACES)
        assert sorted(t.config["configurable"]["checkpoint_ns"] for t in listed) == (
            sorted(NAMESPACES)
        )
        by_ns = {t.config["configurable"]["checkpoint_ns"]: t for t in reference}
        for tup in listed:
            same(tup, by_ns[tup.config["configurable"]["checkpoint_ns"]])


def test_a_window_on_the_cluster_as_the_reference(
    cluster: RedisCluster, nodes: dict[int, Redis], prefix: str
) -> None:
    """``keep_last=3`` on the cluster: every thread's window (its namespace
    hashes and history hashes, in its slot) reads back as the reference has
    it, by id and as a list, forks included, after more steps than the
    window holds."""
    saver = ShallowRedisSaver(
        redis_client=cluster, keep_last=3, **saver_prefixes(prefix)
    )
    saver.setup()
    reference = WindowReference(3)
    for i, tid in enumerate(THREAD_IDS):
        for ns in NAMESPACES:
            parents: list[Any] = [cfg(tid, ns)]
            for step in range(5):
                cp = make_cp(f"{i}-{ns}-{step}", step + 1)
                parent = parents[-2] if step == 4 else parents[-1]  # a fork
                meta = {"step": step}
                for target in (saver, reference):
                    stored = target.put(parent, cp, meta, cp["channel_versions"])
                    target.put_writes(stored, [("a", step)], "task-1", "p1")
                parents.append(stored)
    for tid in THREAD_IDS:
        everything = {"configurable": {"thread_id": tid}}
        ours = [t for t in saver.list(everything)]
        assert ours == reference.list(everything)
        for tup in ours:
            assert saver.get_tuple(tup.config) == tup
    drop_all(nodes, prefix)


def test_copy_thread_between_nodes(
    csaver: ShallowRedisSaver, cluster_ports: list[int]
) -> None:
    def port(tid: str) -> int:
        return node_of(csaver.keys.registry(tid), cluster_ports)

    source = "copy-source"
    target = next(
        t for t in (f"copy-target-{i}" for i in range(100)) if port(t) != port(source)
    )
    for ns in NAMESPACES:
        fill(csaver, source, ns, ns or "root")
    fill(csaver, target, "old-ns", "replaced")
    csaver.copy_thread(source, target)
    for ns in NAMESPACES:
        src = csaver.get_tuple(cfg(source, ns))
        dst = csaver.get_tuple(cfg(target, ns))
        assert src is not None and dst is not None
        assert dst.config["configurable"]["thread_id"] == target
        assert dst.checkpoint == src.checkpoint
        assert dst.metadata == src.metadata
        assert dst.pending_writes == src.pending_writes
    assert csaver.get_tuple(cfg(target, "old-ns")) is None
    listed = [t for t in csaver.list({"configurable": {"thread_id": target}})]
    assert len(listed) == len(NAMESPACES)


def test_prune_keep_latest_and_delete(
    csaver: ShallowRedisSaver, cluster: RedisCluster
) -> None:
    tids = THREAD_IDS[:6]
    for tid in tids:
        first = fill(csaver, tid, "", "first")
        cp = make_cp("second", 2)
        second = csaver.put(first, cp, {"step": 2}, cp["channel_versions"])
        csaver.put_writes(second, [("a", "new")], "task-3", "p3")
    hk = csaver.keys.for_namespace(tids[0], "")[0]
    assert len(write_fields(cluster, hk)) == 4  # the parent's 3 are kept

    csaver.prune(tids, strategy="keep_latest")
    for tid in tids:
        tup = csaver.get_tuple(cfg(tid))
        assert tup is not None and tup.checkpoint["channel_values"]["a"] == "second"
        assert tup.pending_writes == [("task-3", "a", "new")]
    assert len(write_fields(cluster, hk)) == 1

    csaver.prune(tids[:3], strategy="delete")
    for tid in tids[:3]:
        assert csaver.get_tuple(cfg(tid)) is None
        assert not cluster.exists(*csaver.keys.for_namespace(tid, ""))
    for tid in tids[3:]:
        assert csaver.get_tuple(cfg(tid)) is not None


def test_delete_thread_leaves_no_key_on_any_node(
    csaver: ShallowRedisSaver, nodes: dict[int, Redis], prefix: str
) -> None:
    for tid in THREAD_IDS:
        for ns in NAMESPACES:
            fill(csaver, tid, ns, tid)
    per_node = [len(keys_on(n, f"{prefix}:*")) for n in nodes.values()]
    # no Search on a cluster: a hash per namespace and a registry, no entries
    assert sum(per_node) == len(THREAD_IDS) * (len(NAMESPACES) + 1)
    assert all(per_node), per_node  # every node holds some threads

    deleted, kept = THREAD_IDS[::2], THREAD_IDS[1::2]
    for tid in deleted:
        csaver.delete_thread(tid)
    left = [k for n in nodes.values() for k in keys_on(n, f"{prefix}:*")]
    for tid in deleted:
        tag = csaver.keys.thread_tag(tid).encode()
        # only its tombstone, on the node of the thread's slot
        assert [k for k in left if tag in k] == [csaver.keys.tombstone(tid).encode()]
        for ns in NAMESPACES:
            assert csaver.get_tuple(cfg(tid, ns)) is None
    assert len(left) == len(kept) * (len(NAMESPACES) + 1) + len(deleted)
    for tid in kept:
        assert csaver.get_tuple(cfg(tid)) is not None


def test_ttl_refreshed_on_read(
    cluster: RedisCluster, nodes: dict[int, Redis], prefix: str
) -> None:
    saver = ShallowRedisSaver(
        redis_client=cluster,
        ttl={"default_ttl": 10, "refresh_on_read": True},
        **saver_prefixes(prefix),
    )
    saver.setup()
    try:
        tids = THREAD_IDS[:8]
        for tid in tids:
            fill(saver, tid, "", tid)
        keys = []
        for tid in tids:
            hk, ek, rk = saver.keys.for_namespace(tid, "")
            assert not cluster.exists(ek)  # no Search: no entry
            keys += [hk, rk]
        for key in keys:
            assert 0 < cluster.pttl(key) <= 600_000, key
            cluster.pexpire(key, 5_000)  # as if time had passed
        for tid in tids[:4]:
            assert saver.get_tuple(cfg(tid)) is not None
        for tid in tids[4:]:  # list of one thread refreshes too
            assert [t for t in saver.list(cfg(tid))]
        for key in keys:
            assert 5_000 < cluster.pttl(key) <= 600_000, key
    finally:
        drop_all(nodes, prefix)


def test_round_trips_on_cluster(cluster_ports: list[int], prefix: str) -> None:
    trips = RoundTrips()
    client = cluster_client("127.0.0.1", cluster_ports[0], trips)
    saver = ShallowRedisSaver(redis_client=client, **saver_prefixes(prefix))
    refreshing = ShallowRedisSaver(
        redis_client=client,
        ttl={"default_ttl": 10, "refresh_on_read": True},
        **saver_prefixes(prefix),
    )
    try:
        saver.setup()
        # two threads served by each node: every node's connections count
        tids = [
            [
                t
                for t in THREAD_IDS
                if node_of(saver.keys.registry(t), cluster_ports) == p
            ][:2]
            for p in cluster_ports
        ]
        assert all(len(t) == 2 for t in tids)
        for tid in [t for pair in tids for t in pair]:
            trips.reset()
            cp = make_cp(1)
            stored = saver.put(cfg(tid), cp, {"step": 1}, cp["channel_versions"])
            assert trips.count == 1, ("put", tid)
            trips.reset()
            saver.put_writes(stored, [("a", 1), ("b", 2)], "task", "p")
            assert trips.count == 1, ("put_writes", tid)
            trips.reset()
            tup = saver.get_tuple(cfg(tid))
            assert trips.count == 1, ("get_tuple", tid)
            assert tup is not None and len(tup.pending_writes) == 2
            trips.reset()
            assert refreshing.get_tuple(cfg(tid)) is not None
            assert trips.count == 1, ("aget_tuple refresh_on_read", tid)
            # a large value: still one round trip
            big = make_cp("x" * 100_000, 2)
            trips.reset()
            saver.put(stored, big, {"step": 2}, big["channel_versions"])
            assert trips.count == 1, ("aput large", tid)
            tup = saver.get_tuple(cfg(tid))
            assert tup is not None
            assert tup.checkpoint["channel_values"] == big["channel_values"]
            assert tup.pending_writes == []
            saver.delete_thread(tid)
    finally:
        client.close()


def test_closing_a_durable_saver_closes_its_node_connections(
    cluster: RedisCluster,
    cluster_ports: list[int],
    nodes: dict[int, Redis],
    prefix: str,
) -> None:
    """A durable write goes through one connection to its slot's node (so
    that ``WAIT`` runs where the write ran); closing the saver closes the
    connections it made for that. (The async saver's node clients used to
    leave theirs to the garbage collector: ``ResourceWarning: unclosed
    Connection``.)"""
    saver = ShallowRedisSaver(
        redis_client=cluster,
        wait_for_replicas=1,
        wait_timeout=0.01,
        **saver_prefixes(prefix),
    )
    saver.setup()
    for tid in THREAD_IDS[:6]:  # on every node; this cluster has no replicas
        cp = make_cp(1)
        with pytest.raises(ReplicationError):
            saver.put(cfg(tid), cp, {}, cp["channel_versions"])
    gc.collect()  # other tests' garbage: not this test's to judge
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        saver.close()
        gc.collect()
    unclosed = [
        w
        for w in seen
        if issubclass(w.category, ResourceWarning)
        and any(f"port={port}" in str(w.message) for port in cluster_ports)
    ]
    assert unclosed == [], [str(w.message) for w in unclosed]
    drop_all(nodes, prefix)


def test_graph_interrupt_and_resume_as_in_memory(
    csaver: ShallowRedisSaver,
) -> None:
    for tid in ("graph-" + uuid.uuid4().hex, "{graph}:ü"):
        check_approval(run_both(csaver, tid, approval_scenario))
