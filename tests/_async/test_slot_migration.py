"""A thread's cluster slot migrated to another node while it is written.

The cluster is the one of ``test_cluster.py`` (three primaries, started for
this module). A slot moves as ``redis-cli --cluster reshard`` moves it:
``CLUSTER SETSLOT <slot> IMPORTING`` on the target, ``MIGRATING`` on the
source, ``MIGRATE ... KEYS`` key by key (here one key per call, with a pause,
so that a thread's keys are split between the nodes for a while), then
``CLUSTER SETSLOT <slot> NODE`` on every node.

What happens to the saver's calls meanwhile (redis-py's cluster client
follows ``MOVED`` and ``ASK`` and retries ``TRYAGAIN`` by itself):

- ``get_tuple`` (one ``HGETALL``) is answered by the node that has the hash,
  after an ``ASK`` redirection when it has moved already;
- a script that declares several keys runs only on a node that holds them
  all; otherwise Redis answers ``TRYAGAIN`` and redis-py retries (16 tries,
  the last 8 after 50 ms each, about 0.4 s). The scripts that build a
  thread's namespace keys at run time also declare the thread's guard key,
  which never exists, so they wait for the migration to end instead of
  running on half the thread. A call still refused when redis-py gives up
  raises ``StorageError`` whose cause is redis-py's
  ``ClusterError("TTL exhausted.")``, and has changed nothing.

These tests start their own servers: they run in one server-kind session
only (``modules``, the default; or with ``REDIS_URL``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from redis.crc import key_slot
from redis.exceptions import AskError, ClusterError, TryAgainError

from langgraph.checkpoint.redis_shallow import (
    AsyncShallowRedisSaver,
    ReplicationError,
    StorageError,
)
from langgraph.checkpoint.redis_shallow.keys import BASE_SUFFIX
from tests._async.graph_support import approval_graph, config_of, normalize
from tests._async.test_cluster import (
    NAMESPACES,
    cluster,  # noqa: F401 (fixture)
    cluster_ports,  # noqa: F401 (fixture)
    fill,
    keys_on,
    make_cp,
    node_of,
    nodes,  # noqa: F401 (fixture)
)
from tests._io_async import AsyncRedis, RedisCluster, gather, sleep
from tests.builders import cfg, saver_prefixes

TURNS = 6  # turns of the graph while its slot moves
MIGRATED: set[int] = set()  # slots this module moved (their owner changed)
SUMMARY: dict[str, str] = {}


pytestmark = pytest.mark.topology


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    """Print what the writers saw."""
    yield
    for name, line in SUMMARY.items():
        print(f"\n[slot migration] {name}: {line}")


@pytest.fixture
async def msaver(
    cluster: RedisCluster,  # noqa: F811
    nodes: dict[int, AsyncRedis],  # noqa: F811
    prefix: str,
) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up saver on the cluster; its keys are removed after."""
    saver = AsyncShallowRedisSaver(redis_client=cluster, **saver_prefixes(prefix))
    await saver.asetup()
    yield saver
    for node in nodes.values():
        for key in await keys_on(node, f"{prefix}:*"):
            await node.delete(key)


def fresh_thread(saver: AsyncShallowRedisSaver, name: str) -> str:
    """A new thread id whose slot no test of this module moved yet."""
    while True:
        tid = f"{name}-{uuid.uuid4().hex[:8]}"
        slot = key_slot(saver.keys.registry(tid).encode())
        if slot not in MIGRATED:
            MIGRATED.add(slot)
            return tid


async def node_ids(by_port: dict[int, AsyncRedis]) -> dict[int, str]:
    """Each node's cluster id, by port."""
    out = {}
    for port, node in by_port.items():
        raw = await node.execute_command("CLUSTER MYID")
        out[port] = raw.decode() if isinstance(raw, bytes) else str(raw)
    return out


async def start_migration(
    by_port: dict[int, AsyncRedis], slot: int, src: int, dst: int
) -> None:
    """Mark ``slot`` as moving from node ``src`` to node ``dst``."""
    ids = await node_ids(by_port)
    await by_port[dst].execute_command("CLUSTER SETSLOT", slot, "IMPORTING", ids[src])
    await by_port[src].execute_command("CLUSTER SETSLOT", slot, "MIGRATING", ids[dst])


async def move_keys(
    by_port: dict[int, AsyncRedis],
    slot: int,
    src: int,
    dst: int,
    pause: float,
    only: list[str] | None = None,
) -> int:
    """``MIGRATE`` the slot's keys (or ``only`` these) one by one; how many."""
    moved = 0
    while True:
        if only is not None:
            keys: list[Any] = [k for k in only if await by_port[src].exists(k)]
        else:
            keys = await by_port[src].execute_command("CLUSTER GETKEYSINSLOT", slot, 10)
        if not keys:
            return moved
        key = keys[0]
        await by_port[src].execute_command(
            "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", key
        )
        moved += 1
        if only is not None:
            only = [k for k in only if k != key]
        await sleep(pause)


async def finish_migration(by_port: dict[int, AsyncRedis], slot: int, dst: int) -> None:
    """Give ``slot`` to node ``dst`` on every node."""
    ids = await node_ids(by_port)
    for port in (dst, *[p for p in by_port if p != dst]):
        await by_port[port].execute_command("CLUSTER SETSLOT", slot, "NODE", ids[dst])


async def migrate(
    by_port: dict[int, AsyncRedis], slot: int, src: int, dst: int, pause: float
) -> int:
    """Move ``slot`` from ``src`` to ``dst``, key by key; how many keys."""
    await start_migration(by_port, slot, src, dst)
    moved = await move_keys(by_port, slot, src, dst, pause)
    await finish_migration(by_port, slot, dst)
    return moved


async def thread_keys(
    by_port: dict[int, AsyncRedis], saver: AsyncShallowRedisSaver, thread_id: str
) -> dict[int, list[Any]]:
    """The thread's keys on each node, by port."""
    tag = saver.keys.thread_tag(thread_id)
    return {p: await keys_on(n, f"*{tag}*") for p, n in by_port.items()}


async def redirections(by_port: dict[int, AsyncRedis]) -> dict[str, int]:
    """``MOVED``, ``ASK`` and ``TRYAGAIN`` replies the nodes sent so far
    (``INFO errorstats``)."""
    total = {"MOVED": 0, "ASK": 0, "TRYAGAIN": 0}
    for node in by_port.values():
        stats = await node.info("errorstats")
        for name in total:
            total[name] += int(stats.get(f"errorstat_{name}", {}).get("count", 0))
    return total


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after}


def other(ports: list[int], port: int) -> int:
    return next(p for p in ports if p != port)


async def turns_scenario(cp: Any, config: Any) -> Any:
    """``TURNS`` turns of the approval graph: each runs to its interrupt and
    is resumed; what each call returned and the state after each turn."""
    graph = approval_graph(cp)
    out = []
    for turn in range(TURNS):
        out.append(await graph.ainvoke({"log": [f"turn-{turn}"]}, config))
        out.append(await graph.ainvoke(Command(resume=f"yes-{turn}"), config))
        out.append(await graph.aget_state(config))
    return out


async def first_listed(saver: AsyncShallowRedisSaver, thread_id: str) -> Any:
    """``list`` of one thread, as a list."""
    return [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]


async def test_every_key_of_a_thread_has_the_thread_hash_tag(
    msaver: AsyncShallowRedisSaver,
) -> None:
    for tid in ("t", "", "a:b", "{x}", "日本語"):
        keys = [msaver.keys.registry(tid), msaver.keys.guard(tid)]
        for ns in NAMESPACES:
            keys += msaver.keys.for_namespace(tid, ns)
            keys.append(msaver.keys.rollback_base(tid, ns))
        assert all(msaver.keys.thread_tag(tid) in k for k in keys)
        assert len({key_slot(k.encode()) for k in keys}) == 1, (tid, keys)
        assert msaver.keys.rollback_base(tid, "").endswith(BASE_SUFFIX)


async def test_a_thread_split_between_nodes_is_never_half_written(
    msaver: AsyncShallowRedisSaver,
    nodes: dict[int, AsyncRedis],  # noqa: F811
    cluster_ports: list[int],  # noqa: F811
) -> None:
    tid = fresh_thread(msaver, "split")
    for ns in NAMESPACES:
        await fill(msaver, tid, ns, ns or "root")
    before = {ns: await msaver.aget_tuple(cfg(tid, ns)) for ns in NAMESPACES}
    registry = msaver.keys.registry(tid)
    slot = key_slot(registry.encode())
    src = node_of(registry, cluster_ports)
    dst = other(cluster_ports, src)
    root = msaver.keys.for_namespace(tid, "")[0]
    await start_migration(nodes, slot, src, dst)
    # the root namespace's hash on the target; registry and "sub" on the source
    assert await move_keys(nodes, slot, src, dst, 0, only=[root]) == 1
    layout = await thread_keys(nodes, msaver, tid)

    # single-key reads: answered where the key is (ASK followed by redis-py),
    # also with refresh_on_read (a pipeline of HGETALL and PEXPIREs)
    refreshing = AsyncShallowRedisSaver(
        redis_client=msaver.client,
        ttl={"default_ttl": 10, "refresh_on_read": True},
        checkpoint_prefix=msaver.keys.checkpoint_prefix,
        checkpoint_write_prefix=msaver.keys.entry_prefix,
    )
    for ns in NAMESPACES:
        assert await msaver.aget_tuple(cfg(tid, ns)) == before[ns]
        assert await refreshing.aget_tuple(cfg(tid, ns)) == before[ns]
    # scripts: refused (TRYAGAIN) until redis-py gives up; nothing changed
    cp = make_cp("during", 2)
    calls = {
        "list": lambda: first_listed(msaver, tid),
        "delete_thread": lambda: msaver.adelete_thread(tid),
        "copy_thread": lambda: msaver.acopy_thread(tid, tid + "-copy"),
        "prune": lambda: msaver.aprune([tid]),
        "put": lambda: msaver.aput(
            before[""].config, cp, {"step": 2}, cp["channel_versions"]
        ),
        "put_writes": lambda: msaver.aput_writes(
            before[""].config, [("a", "late")], "task-9"
        ),
    }
    for name, call in calls.items():
        with pytest.raises(StorageError) as info:
            await call()
        assert isinstance(info.value.__cause__, (ClusterError, TryAgainError)), name
        assert "TTL exhausted" in str(info.value.__cause__) or isinstance(
            info.value.__cause__, TryAgainError
        ), (name, info.value)
        after = await thread_keys(nodes, msaver, tid)
        assert after == layout, name
    SUMMARY["split thread"] = (
        f"{', '.join(calls)} refused with StorageError "
        f"({type(info.value.__cause__).__name__}: {info.value.__cause__})"
    )
    # durable writes go to the slot's primary on a connection of their own,
    # which follows no ASK: refused too (after the saver's own resends);
    # copy_thread is refused already in its read (redis-py's routing)
    durable = AsyncShallowRedisSaver(
        redis_client=msaver.client,
        wait_for_replicas=1,
        wait_timeout=0.05,
        checkpoint_prefix=msaver.keys.checkpoint_prefix,
        checkpoint_write_prefix=msaver.keys.entry_prefix,
    )
    durable_calls = {
        "put": lambda: durable.aput(
            before[""].config, cp, {"step": 2}, cp["channel_versions"]
        ),
        "put_writes": lambda: durable.aput_writes(
            before[""].config, [("a", "late")], "task-9"
        ),
        "delete_thread": lambda: durable.adelete_thread(tid),
        "copy_thread": lambda: durable.acopy_thread(tid, tid + "-copy"),
        "prune": lambda: durable.aprune([tid]),
    }
    durable_causes = set()
    for name, call in durable_calls.items():
        with pytest.raises(StorageError) as info:
            await call()
        assert isinstance(
            info.value.__cause__, (AskError, TryAgainError, ClusterError)
        ), (
            name,
            repr(info.value.__cause__),
        )
        durable_causes.add(type(info.value.__cause__).__name__)
        after = await thread_keys(nodes, msaver, tid)
        assert after == layout, name
    SUMMARY["split thread, wait_for_replicas=1"] = (
        f"{', '.join(durable_calls)} refused with StorageError "
        f"({', '.join(sorted(durable_causes))})"
    )

    # a call waiting on TRYAGAIN completes once the slot has moved
    async def finish() -> None:
        await sleep(0.05)
        await move_keys(nodes, slot, src, dst, 0)
        await finish_migration(nodes, slot, dst)

    await gather(lambda: msaver.adelete_thread(tid), finish)
    # nothing but the thread's tombstone, on the slot's new node
    tombstone = msaver.keys.tombstone(tid).encode()
    for port, node in nodes.items():
        left = await keys_on(node, f"*{msaver.keys.thread_tag(tid)}*")
        assert left == ([tombstone] if port == dst else []), port
    # once the slot has moved, a durable write goes to its new node (which
    # has no replica here: written there, then ReplicationError)
    with pytest.raises(ReplicationError) as waited:
        await durable.aput(cfg(tid), cp, {"step": 2}, cp["channel_versions"])
    assert (waited.value.acknowledged, waited.value.required) == (0, 1)
    assert [
        await keys_on(nodes[p], f"*{msaver.keys.thread_tag(tid)}*") != []
        for p in (src, dst)
    ] == [False, True]
    written = await msaver.aget_tuple(cfg(tid))
    assert written is not None and written.checkpoint["id"] == cp["id"]


async def test_a_graph_written_while_its_slot_moves_reads_back_as_in_memory(
    msaver: AsyncShallowRedisSaver,
    nodes: dict[int, AsyncRedis],  # noqa: F811
    cluster_ports: list[int],  # noqa: F811
) -> None:
    tid = fresh_thread(msaver, "graph")
    registry = msaver.keys.registry(tid)
    slot = key_slot(registry.encode())
    src = node_of(registry, cluster_ports)
    dst = other(cluster_ports, src)
    moved: list[int] = []
    observed: list[Any] = []

    async def graph_on_ours() -> None:
        observed.append(normalize(await turns_scenario(msaver, config_of(tid))))

    async def mover() -> None:
        while not await nodes[src].exists(registry):  # the graph has begun
            await sleep(0.005)
        moved.append(await migrate(nodes, slot, src, dst, 0.01))

    before = await redirections(nodes)
    await gather(graph_on_ours, mover)
    seen = delta(await redirections(nodes), before)
    reference = normalize(await turns_scenario(InMemorySaver(), config_of(tid)))
    assert observed == [reference]
    assert moved and moved[0] > 0
    assert await keys_on(nodes[src], f"*{msaver.keys.thread_tag(tid)}*") == []
    assert await keys_on(nodes[dst], f"*{msaver.keys.thread_tag(tid)}*")
    assert seen["MOVED"] + seen["ASK"] + seen["TRYAGAIN"] > 0, seen
    SUMMARY["graph"] = (
        f"{moved[0]} keys moved during {TURNS} interrupted turns; replies {seen}"
    )


async def test_a_writer_keeps_writing_while_its_slot_moves(
    msaver: AsyncShallowRedisSaver,
    nodes: dict[int, AsyncRedis],  # noqa: F811
    cluster_ports: list[int],  # noqa: F811
) -> None:
    tid = fresh_thread(msaver, "writer")
    registry = msaver.keys.registry(tid)
    slot = key_slot(registry.encode())
    src = node_of(registry, cluster_ports)
    dst = other(cluster_ports, src)
    memory = InMemorySaver()
    done: list[bool] = []
    seen = {"steps": 0, "refused": 0, "reads": 0}
    causes: set[str] = set()

    async def writer() -> None:
        config = await fill(msaver, tid, "", 0)
        ref = await fill(memory, tid, "", 0)
        step = 0
        after = 0
        while after < 3 or step < 5:  # and 3 steps after the move
            after += bool(done)
            step += 1
            cp = make_cp(step, step + 1)
            try:
                stored = await msaver.aput(
                    config, cp, {"step": step}, cp["channel_versions"]
                )
                await msaver.aput_writes(stored, [("a", step), ("b", -step)], "t")
            except StorageError as exc:
                # refused while the slot moved: the state stays whole
                seen["refused"] += 1
                causes.add(f"{type(exc.__cause__).__name__}: {exc.__cause__}")
                tup = await msaver.aget_tuple(cfg(tid))
                assert tup is not None and tup.checkpoint["id"] in (
                    config["configurable"]["checkpoint_id"],
                    cp["id"],
                )
                if tup.checkpoint["id"] == cp["id"]:
                    config = tup.config  # the put went through, its writes not
                    ref = await memory.aput(
                        ref, cp, {"step": step}, cp["channel_versions"]
                    )
                continue
            ref = await memory.aput(ref, cp, {"step": step}, cp["channel_versions"])
            await memory.aput_writes(ref, [("a", step), ("b", -step)], "t")
            config = stored
            ours = await msaver.aget_tuple(cfg(tid))
            theirs = await memory.aget_tuple(cfg(tid))
            assert ours is not None and theirs is not None
            assert ours.checkpoint == theirs.checkpoint
            assert ours.metadata == theirs.metadata
            assert ours.pending_writes == theirs.pending_writes
            seen["steps"] += 1
            seen["reads"] += 1

    async def mover() -> None:
        await sleep(0.02)
        await migrate(nodes, slot, src, dst, 0.01)
        done.append(True)

    before = await redirections(nodes)
    await gather(writer, mover)
    replies = delta(await redirections(nodes), before)
    assert replies["MOVED"] > 0, replies  # the writer went on after the move
    final = await msaver.aget_tuple(cfg(tid))
    assert (
        final is not None
        and final.checkpoint["id"]
        == ((await memory.aget_tuple(cfg(tid))).checkpoint["id"])
    )
    assert await keys_on(nodes[src], f"*{msaver.keys.thread_tag(tid)}*") == []
    SUMMARY["writer"] = f"{seen}; causes {sorted(causes)}; replies {replies}"
